//! Scalar functions known to the planner: names (with DuckDB's aliases) and result types.
//! Their evaluation on batches lives in `physical::functions`.

use arrow::datatypes::DataType;

use crate::error::{Error, Result};
use crate::logical::types::{comparison_type, is_string, sql_type_name};

/// A scalar (row-wise) function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarFunc {
    /// `abs(x)`
    Abs,
    /// `coalesce(a, b, ...)`: the first non-NULL argument.
    Coalesce,
    /// `nullif(a, b)`: NULL when a = b, else a.
    NullIf,
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `length(s)` in characters.
    Length,
    /// `substring(s, start [, length])` (1-based).
    Substring,
    /// `trim(s)`
    Trim,
    /// `round(x [, digits])`
    Round,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`
    Ceil,
    /// `concat(a, b, ...)`: NULLs are skipped.
    Concat,
    /// `date_part('field', d)` / `extract(field FROM d)`; the field is the first argument.
    DatePart,
}

impl ScalarFunc {
    /// Looks a function up by its (lower-case) SQL name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "abs" => ScalarFunc::Abs,
            "coalesce" | "ifnull" => ScalarFunc::Coalesce,
            "nullif" => ScalarFunc::NullIf,
            "lower" | "lcase" => ScalarFunc::Lower,
            "upper" | "ucase" => ScalarFunc::Upper,
            "length" | "len" | "char_length" | "character_length" => ScalarFunc::Length,
            "substring" | "substr" => ScalarFunc::Substring,
            "trim" => ScalarFunc::Trim,
            "round" => ScalarFunc::Round,
            "floor" => ScalarFunc::Floor,
            "ceil" | "ceiling" => ScalarFunc::Ceil,
            "concat" => ScalarFunc::Concat,
            "date_part" | "datepart" | "extract" => ScalarFunc::DatePart,
            _ => return None,
        })
    }

    /// Every function name, for suggestions and completion.
    pub fn all_names() -> &'static [&'static str] {
        &[
            "abs",
            "coalesce",
            "ifnull",
            "nullif",
            "lower",
            "upper",
            "length",
            "substring",
            "substr",
            "trim",
            "round",
            "floor",
            "ceil",
            "concat",
            "date_part",
            "extract",
        ]
    }

    /// The canonical SQL name.
    pub fn name(&self) -> &'static str {
        match self {
            ScalarFunc::Abs => "abs",
            ScalarFunc::Coalesce => "coalesce",
            ScalarFunc::NullIf => "nullif",
            ScalarFunc::Lower => "lower",
            ScalarFunc::Upper => "upper",
            ScalarFunc::Length => "length",
            ScalarFunc::Substring => "substring",
            ScalarFunc::Trim => "trim",
            ScalarFunc::Round => "round",
            ScalarFunc::Floor => "floor",
            ScalarFunc::Ceil => "ceil",
            ScalarFunc::Concat => "concat",
            ScalarFunc::DatePart => "date_part",
        }
    }

    /// The types the arguments must be cast to, and the result type, for arguments of
    /// `args` types. Errors say which signature was expected.
    pub fn signature(&self, args: &[DataType]) -> Result<(Vec<DataType>, DataType)> {
        let wrong = |expected: &str| {
            let got: Vec<String> = args.iter().map(sql_type_name).collect();
            Error::plan(format!(
                "No function matches the given name and argument types '{}({})'. Expected: {}({expected})",
                self.name(),
                got.join(", "),
                self.name()
            ))
        };
        let count = |range: std::ops::RangeInclusive<usize>, expected: &str| {
            if range.contains(&args.len()) {
                Ok(())
            } else {
                Err(wrong(expected))
            }
        };
        let numeric = |t: &DataType| t.is_numeric() || *t == DataType::Null;
        Ok(match self {
            ScalarFunc::Abs | ScalarFunc::Floor | ScalarFunc::Ceil => {
                count(1..=1, "NUMERIC")?;
                if !numeric(&args[0]) {
                    return Err(wrong("NUMERIC"));
                }
                let t = if args[0] == DataType::Null {
                    DataType::Int32
                } else {
                    args[0].clone()
                };
                (vec![t.clone()], t)
            }
            ScalarFunc::Round => {
                count(1..=2, "NUMERIC [, INTEGER]")?;
                if !numeric(&args[0]) {
                    return Err(wrong("NUMERIC [, INTEGER]"));
                }
                let t = match &args[0] {
                    DataType::Null => DataType::Float64,
                    t => t.clone(),
                };
                let mut types = vec![t.clone()];
                if args.len() == 2 {
                    types.push(DataType::Int64);
                }
                (types, t)
            }
            ScalarFunc::Coalesce => {
                if args.is_empty() {
                    return Err(wrong("ANY, ..."));
                }
                let mut common = DataType::Null;
                for t in args {
                    common = comparison_type(&common, t).ok_or_else(|| wrong("arguments of one type"))?;
                }
                (vec![common.clone(); args.len()], common)
            }
            ScalarFunc::NullIf => {
                count(2..=2, "ANY, ANY")?;
                let common = comparison_type(&args[0], &args[1]).ok_or_else(|| wrong("ANY, ANY of one type"))?;
                (vec![common.clone(), common.clone()], common)
            }
            ScalarFunc::Lower | ScalarFunc::Upper | ScalarFunc::Trim => {
                count(1..=1, "VARCHAR")?;
                (vec![DataType::Utf8], DataType::Utf8)
            }
            ScalarFunc::Length => {
                count(1..=1, "VARCHAR")?;
                (vec![DataType::Utf8], DataType::Int64)
            }
            ScalarFunc::Substring => {
                count(2..=3, "VARCHAR, BIGINT [, BIGINT]")?;
                let mut types = vec![DataType::Utf8, DataType::Int64];
                if args.len() == 3 {
                    types.push(DataType::Int64);
                }
                (types, DataType::Utf8)
            }
            ScalarFunc::Concat => (vec![DataType::Utf8; args.len()], DataType::Utf8),
            ScalarFunc::DatePart => {
                count(2..=2, "VARCHAR, DATE")?;
                if !is_string(&args[0]) && args[0] != DataType::Null {
                    return Err(wrong("VARCHAR, DATE"));
                }
                let t = match &args[1] {
                    DataType::Date32 | DataType::Timestamp(_, _) => args[1].clone(),
                    t if is_string(t) => DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                    _ => return Err(wrong("VARCHAR, DATE")),
                };
                (vec![DataType::Utf8, t], DataType::Int64)
            }
        })
    }
}
