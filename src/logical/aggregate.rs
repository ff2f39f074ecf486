//! Aggregate functions known to the planner: their names, and the result and state types
//! they have for given argument types (DuckDB's typing rules).

use arrow::datatypes::{DataType, DECIMAL128_MAX_PRECISION};

use crate::error::{Error, Result};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AggFunc {
    /// `count(x)` (non-null values) and `count(*)` (rows: no arguments).
    Count,
    /// `sum(x)`.
    Sum,
    /// `avg(x)` / `mean(x)`.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
}

impl AggFunc {
    /// Looks up an aggregate by its SQL name (lower case), `None` when it is not one.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" | "mean" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            _ => return None,
        })
    }

    /// The SQL name.
    pub fn name(&self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
        }
    }

    /// The result type for arguments of `args` types, following DuckDB: count is BIGINT,
    /// sum of integers BIGINT (HUGEINT in DuckDB; rask errors on overflow), sum of DECIMAL(p,s)
    /// is DECIMAL(38,s), avg is DOUBLE, min/max keep the input type.
    pub fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let arg = |name: &str| {
            args.first()
                .cloned()
                .ok_or_else(|| Error::plan(format!("{name}() takes one argument")))
        };
        Ok(match self {
            AggFunc::Count => DataType::Int64,
            AggFunc::Sum => match arg("sum")? {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DataType::Int64,
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => DataType::Int64,
                DataType::Float16 | DataType::Float32 | DataType::Float64 => DataType::Float64,
                DataType::Decimal128(_, s) => DataType::Decimal128(DECIMAL128_MAX_PRECISION, s),
                DataType::Null => DataType::Int64,
                other => {
                    return Err(Error::plan(format!(
                        "No function matches sum({other}): sum takes a numeric argument"
                    )))
                }
            },
            AggFunc::Avg => match arg("avg")? {
                t if t.is_numeric() || t == DataType::Null => DataType::Float64,
                other => {
                    return Err(Error::plan(format!(
                        "No function matches avg({other}): avg takes a numeric argument"
                    )))
                }
            },
            AggFunc::Min | AggFunc::Max => arg(self.name())?,
        })
    }
}
