//! Join types shared by the logical and physical plans.

use std::fmt;

/// How a join combines its two inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinType {
    /// Matching pairs only.
    Inner,
    /// Matching pairs plus unmatched left rows (right side NULL).
    Left,
    /// Matching pairs plus unmatched right rows (left side NULL).
    Right,
    /// Matching pairs plus unmatched rows of both sides.
    Full,
    /// Left rows that have a match (left columns only).
    LeftSemi,
    /// Left rows that have no match (left columns only).
    LeftAnti,
    /// Right rows that have a match (right columns only).
    RightSemi,
    /// Right rows that have no match (right columns only).
    RightAnti,
}

impl JoinType {
    /// The same join with its inputs exchanged: `a LEFT JOIN b` is `b RIGHT JOIN a`.
    pub fn swapped(self) -> JoinType {
        match self {
            JoinType::Inner => JoinType::Inner,
            JoinType::Left => JoinType::Right,
            JoinType::Right => JoinType::Left,
            JoinType::Full => JoinType::Full,
            JoinType::LeftSemi => JoinType::RightSemi,
            JoinType::LeftAnti => JoinType::RightAnti,
            JoinType::RightSemi => JoinType::LeftSemi,
            JoinType::RightAnti => JoinType::LeftAnti,
        }
    }

    /// Whether the output has only one side's columns (semi and anti joins).
    pub fn is_one_sided(self) -> bool {
        matches!(
            self,
            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::RightSemi | JoinType::RightAnti
        )
    }
}

impl fmt::Display for JoinType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            JoinType::Inner => "Inner",
            JoinType::Left => "Left",
            JoinType::Right => "Right",
            JoinType::Full => "Full",
            JoinType::LeftSemi => "LeftSemi",
            JoinType::LeftAnti => "LeftAnti",
            JoinType::RightSemi => "RightSemi",
            JoinType::RightAnti => "RightAnti",
        };
        f.write_str(s)
    }
}
