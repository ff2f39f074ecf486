//! Window functions (`f(…) OVER (PARTITION BY … ORDER BY … frame)`): the functions, their
//! frames and result types. A window call is an [`Expr::Window`]; the binder moves every call
//! into a `Window` plan node (one per distinct PARTITION BY / ORDER BY spec).

use std::fmt;

use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;

use crate::error::{Error, Result};
use crate::logical::aggregate::AggFunc;
use crate::logical::expr::{format_literal, Expr};
use crate::logical::plan::SortExpr;

/// A function computed over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowFunc {
    /// An aggregate over the frame.
    Aggregate(AggFunc),
    /// `row_number()`.
    RowNumber,
    /// `rank()`.
    Rank,
    /// `dense_rank()`.
    DenseRank,
    /// `percent_rank()`.
    PercentRank,
    /// `cume_dist()`.
    CumeDist,
    /// `ntile(n)`.
    Ntile,
    /// `lag(x [, offset [, default]])`.
    Lag,
    /// `lead(x [, offset [, default]])`.
    Lead,
    /// `first_value(x)`.
    FirstValue,
    /// `last_value(x)`.
    LastValue,
    /// `nth_value(x, n)`.
    NthValue,
}

impl WindowFunc {
    /// Looks up a window-only function by name (aggregates are found through [`AggFunc`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "row_number" => WindowFunc::RowNumber,
            "rank" => WindowFunc::Rank,
            "dense_rank" => WindowFunc::DenseRank,
            "percent_rank" => WindowFunc::PercentRank,
            "cume_dist" => WindowFunc::CumeDist,
            "ntile" => WindowFunc::Ntile,
            "lag" => WindowFunc::Lag,
            "lead" => WindowFunc::Lead,
            "first_value" | "first" => WindowFunc::FirstValue,
            "last_value" | "last" => WindowFunc::LastValue,
            "nth_value" => WindowFunc::NthValue,
            _ => return None,
        })
    }

    /// Every window-only function name (for completion; aggregates are in [`AggFunc`]).
    pub fn all_names() -> &'static [&'static str] {
        &[
            "row_number",
            "rank",
            "dense_rank",
            "percent_rank",
            "cume_dist",
            "ntile",
            "lag",
            "lead",
            "first_value",
            "last_value",
            "nth_value",
        ]
    }

    /// The SQL name.
    pub fn name(&self) -> &'static str {
        match self {
            WindowFunc::Aggregate(a) => a.name(),
            WindowFunc::RowNumber => "row_number",
            WindowFunc::Rank => "rank",
            WindowFunc::DenseRank => "dense_rank",
            WindowFunc::PercentRank => "percent_rank",
            WindowFunc::CumeDist => "cume_dist",
            WindowFunc::Ntile => "ntile",
            WindowFunc::Lag => "lag",
            WindowFunc::Lead => "lead",
            WindowFunc::FirstValue => "first_value",
            WindowFunc::LastValue => "last_value",
            WindowFunc::NthValue => "nth_value",
        }
    }

    /// Checks the argument count and gives the result type for arguments of `args` types.
    pub fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let arity = |lo: usize, hi: usize| {
            if args.len() < lo || args.len() > hi {
                Err(Error::plan(format!(
                    "{}() takes {} argument(s), got {}",
                    self.name(),
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo} to {hi}")
                    },
                    args.len()
                )))
            } else {
                Ok(())
            }
        };
        Ok(match self {
            WindowFunc::Aggregate(a) => a.return_type(args)?,
            WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank => {
                arity(0, 0)?;
                DataType::Int64
            }
            WindowFunc::PercentRank | WindowFunc::CumeDist => {
                arity(0, 0)?;
                DataType::Float64
            }
            WindowFunc::Ntile => {
                arity(1, 1)?;
                DataType::Int64
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                arity(1, 3)?;
                args[0].clone()
            }
            WindowFunc::FirstValue | WindowFunc::LastValue => {
                arity(1, 1)?;
                args[0].clone()
            }
            WindowFunc::NthValue => {
                arity(2, 2)?;
                args[0].clone()
            }
        })
    }

    /// True for functions that ignore the frame (ranking and offset functions).
    pub fn ignores_frame(&self) -> bool {
        !matches!(
            self,
            WindowFunc::Aggregate(_) | WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue
        )
    }
}

/// ROWS or RANGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameUnits {
    /// Physical rows.
    Rows,
    /// Rows whose ORDER BY value lies within an offset (peers for CURRENT ROW).
    Range,
    /// Peer groups: offsets count groups of rows equal on the ORDER BY keys.
    Groups,
}

/// One end of a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`.
    UnboundedPreceding,
    /// `n PRECEDING` (a non-negative constant).
    Preceding(ScalarValue),
    /// `CURRENT ROW`.
    CurrentRow,
    /// `n FOLLOWING`.
    Following(ScalarValue),
    /// `UNBOUNDED FOLLOWING`.
    UnboundedFollowing,
}

impl fmt::Display for FrameBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameBound::UnboundedPreceding => f.write_str("UNBOUNDED PRECEDING"),
            FrameBound::Preceding(v) => {
                format_literal(v, f)?;
                f.write_str(" PRECEDING")
            }
            FrameBound::CurrentRow => f.write_str("CURRENT ROW"),
            FrameBound::Following(v) => {
                format_literal(v, f)?;
                f.write_str(" FOLLOWING")
            }
            FrameBound::UnboundedFollowing => f.write_str("UNBOUNDED FOLLOWING"),
        }
    }
}

/// Rows left out of a frame (`EXCLUDE …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameExclusion {
    /// Nothing (the default).
    NoOthers,
    /// The current row.
    CurrentRow,
    /// The current row and its peers.
    Group,
    /// The current row's peers, but not the row itself.
    Ties,
}

impl FrameExclusion {
    /// The SQL spelling after `EXCLUDE`.
    pub fn name(&self) -> &'static str {
        match self {
            FrameExclusion::NoOthers => "NO OTHERS",
            FrameExclusion::CurrentRow => "CURRENT ROW",
            FrameExclusion::Group => "GROUP",
            FrameExclusion::Ties => "TIES",
        }
    }
}

/// A window frame.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFrame {
    /// ROWS or RANGE.
    pub units: FrameUnits,
    /// Where the frame starts.
    pub start: FrameBound,
    /// Where it ends.
    pub end: FrameBound,
    /// Rows left out.
    pub exclusion: FrameExclusion,
}

impl WindowFrame {
    /// DuckDB's default: `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW` with an ORDER BY,
    /// the whole partition without one.
    pub fn default_for(has_order: bool) -> Self {
        WindowFrame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: if has_order {
                FrameBound::CurrentRow
            } else {
                FrameBound::UnboundedFollowing
            },
            exclusion: FrameExclusion::NoOthers,
        }
    }
}

/// A window function call.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowExpr {
    /// The function.
    pub func: WindowFunc,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// PARTITION BY keys.
    pub partition_by: Vec<Expr>,
    /// ORDER BY keys.
    pub order_by: Vec<SortExpr>,
    /// The frame (the default one when none was written).
    pub frame: WindowFrame,
    /// `IGNORE NULLS` (offset and value functions).
    pub ignore_nulls: bool,
    /// `DISTINCT` inside an aggregate call.
    pub distinct: bool,
}

impl WindowExpr {
    /// True when `other` is computed over the same partitioning and ordering.
    pub fn same_spec(&self, other: &WindowExpr) -> bool {
        self.partition_by == other.partition_by && self.order_by == other.order_by
    }
}

impl fmt::Display for WindowExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self.args.iter().map(|e| e.to_string()).collect();
        if self.func == WindowFunc::Aggregate(AggFunc::Count) && self.args.is_empty() {
            f.write_str("count_star()")?;
        } else {
            let distinct = if self.distinct { "DISTINCT " } else { "" };
            write!(f, "{}({distinct}{})", self.func.name(), args.join(", "))?;
        }
        if self.ignore_nulls {
            f.write_str(" IGNORE NULLS")?;
        }
        f.write_str(" OVER (")?;
        let mut parts = Vec::new();
        if !self.partition_by.is_empty() {
            let keys: Vec<String> = self.partition_by.iter().map(|e| e.to_string()).collect();
            parts.push(format!("PARTITION BY {}", keys.join(", ")));
        }
        if !self.order_by.is_empty() {
            let keys: Vec<String> = self
                .order_by
                .iter()
                .map(|s| {
                    format!(
                        "{} {}{}",
                        s.expr,
                        if s.asc { "ASC" } else { "DESC" },
                        if s.nulls_first { " NULLS FIRST" } else { "" }
                    )
                })
                .collect();
            parts.push(format!("ORDER BY {}", keys.join(", ")));
        }
        if !self.func.ignores_frame() && self.frame != WindowFrame::default_for(!self.order_by.is_empty()) {
            let exclude = match self.frame.exclusion {
                FrameExclusion::NoOthers => String::new(),
                x => format!(" EXCLUDE {}", x.name()),
            };
            parts.push(format!(
                "{} BETWEEN {} AND {}{exclude}",
                match self.frame.units {
                    FrameUnits::Rows => "ROWS",
                    FrameUnits::Range => "RANGE",
                    FrameUnits::Groups => "GROUPS",
                },
                self.frame.start,
                self.frame.end
            ));
        }
        write!(f, "{})", parts.join(" "))
    }
}
