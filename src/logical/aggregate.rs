//! Aggregate functions known to the planner: their names, and the result and state types
//! they have for given argument types (DuckDB's typing rules).

use arrow::datatypes::{DataType, Field, DECIMAL128_MAX_PRECISION};

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
    /// `decimal_average(x)`: the average of a DECIMAL, as that DECIMAL type.
    DecimalAverage,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `stddev_samp(x)` / `stddev(x)`.
    StddevSamp,
    /// `stddev_pop(x)`.
    StddevPop,
    /// `var_samp(x)` / `variance(x)`.
    VarSamp,
    /// `var_pop(x)`.
    VarPop,
    /// `corr(y, x)`.
    Corr,
    /// `covar_samp(y, x)`.
    CovarSamp,
    /// `covar_pop(y, x)`.
    CovarPop,
    /// `regr_slope(y, x)`.
    RegrSlope,
    /// `regr_intercept(y, x)`.
    RegrIntercept,
    /// `regr_r2(y, x)`.
    RegrR2,
    /// `regr_count(y, x)`.
    RegrCount,
    /// `regr_avgx(y, x)`.
    RegrAvgx,
    /// `regr_avgy(y, x)`.
    RegrAvgy,
    /// `regr_sxx(y, x)`.
    RegrSxx,
    /// `regr_syy(y, x)`.
    RegrSyy,
    /// `regr_sxy(y, x)`.
    RegrSxy,
    /// `bool_and(b)`.
    BoolAnd,
    /// `bool_or(b)`.
    BoolOr,
    /// `count_if(b)`.
    CountIf,
    /// `product(x)`.
    Product,
    /// `string_agg(x [, sep])`.
    StringAgg,
    /// `list(x)` / `array_agg(x)`.
    List,
    /// `any_value(x)`: the first non-NULL value.
    AnyValue,
    /// `first(x)` / `arbitrary(x)`: the first value, NULL included.
    First,
    /// `last(x)`: the last value, NULL included.
    Last,
    /// The value of a scalar subquery: its one row's value (NULL with no row); more than one
    /// row is DuckDB's "More than one row returned by a subquery" error. Not callable by name.
    SingleValue,
    /// `arg_min(arg, val)` / `argmin` / `min_by`.
    ArgMin,
    /// `arg_max(arg, val)` / `argmax` / `max_by`.
    ArgMax,
    /// `median(x)`.
    Median,
    /// `quantile_cont(x, q)` (and `percentile_cont(q) WITHIN GROUP (ORDER BY x)`).
    QuantileCont,
    /// `quantile_disc(x, q)` / `quantile(x, q)` (and `percentile_disc`).
    QuantileDisc,
    /// `mode(x)`.
    Mode,
    /// `arg_min_null(arg, val)`: like `arg_min`, but a NULL `arg` can be the result.
    ArgMinNull,
    /// `arg_max_null(arg, val)`.
    ArgMaxNull,
    /// `weighted_avg(x, w)` / `wavg`.
    WeightedAvg,
    /// `grouping(k, ...)` / `grouping_id`: which keys a grouping set leaves out (a bit per
    /// key, the first key the highest). Bound like an aggregate, planned as a constant per
    /// grouping set, never run by an accumulator.
    Grouping,
}

impl AggFunc {
    /// Looks up an aggregate by its SQL name (lower case), `None` when it is not one.
    pub fn from_name(name: &str) -> Option<Self> {
        use AggFunc::*;
        Some(match name {
            "count" => Count,
            "sum" => Sum,
            "avg" | "mean" => Avg,
            "decimal_average" => DecimalAverage,
            "min" => Min,
            "max" => Max,
            "stddev_samp" | "stddev" => StddevSamp,
            "stddev_pop" => StddevPop,
            "var_samp" | "variance" => VarSamp,
            "var_pop" => VarPop,
            "corr" => Corr,
            "covar_samp" => CovarSamp,
            "covar_pop" => CovarPop,
            "regr_slope" => RegrSlope,
            "regr_intercept" => RegrIntercept,
            "regr_r2" => RegrR2,
            "regr_count" => RegrCount,
            "regr_avgx" => RegrAvgx,
            "regr_avgy" => RegrAvgy,
            "regr_sxx" => RegrSxx,
            "regr_syy" => RegrSyy,
            "regr_sxy" => RegrSxy,
            "bool_and" => BoolAnd,
            "bool_or" => BoolOr,
            "count_if" | "countif" => CountIf,
            "product" => Product,
            "string_agg" | "group_concat" | "listagg" => StringAgg,
            "list" | "array_agg" => List,
            "any_value" => AnyValue,
            "first" | "arbitrary" => First,
            "last" => Last,
            "arg_min" | "argmin" | "min_by" => ArgMin,
            "arg_max" | "argmax" | "max_by" => ArgMax,
            "median" => Median,
            "quantile_cont" => QuantileCont,
            "quantile_disc" | "quantile" => QuantileDisc,
            "mode" => Mode,
            "arg_min_null" => ArgMinNull,
            "arg_max_null" => ArgMaxNull,
            "weighted_avg" | "wavg" => WeightedAvg,
            "grouping" | "grouping_id" => Grouping,
            _ => return None,
        })
    }

    /// The SQL name.
    pub fn name(&self) -> &'static str {
        use AggFunc::*;
        match self {
            Count => "count",
            Sum => "sum",
            Avg => "avg",
            DecimalAverage => "decimal_average",
            Min => "min",
            Max => "max",
            StddevSamp => "stddev_samp",
            StddevPop => "stddev_pop",
            VarSamp => "var_samp",
            VarPop => "var_pop",
            Corr => "corr",
            CovarSamp => "covar_samp",
            CovarPop => "covar_pop",
            RegrSlope => "regr_slope",
            RegrIntercept => "regr_intercept",
            RegrR2 => "regr_r2",
            RegrCount => "regr_count",
            RegrAvgx => "regr_avgx",
            RegrAvgy => "regr_avgy",
            RegrSxx => "regr_sxx",
            RegrSyy => "regr_syy",
            RegrSxy => "regr_sxy",
            BoolAnd => "bool_and",
            BoolOr => "bool_or",
            CountIf => "count_if",
            Product => "product",
            StringAgg => "string_agg",
            List => "list",
            AnyValue => "any_value",
            First => "first",
            Last => "last",
            SingleValue => "single_value",
            ArgMin => "arg_min",
            ArgMax => "arg_max",
            Median => "median",
            QuantileCont => "quantile_cont",
            QuantileDisc => "quantile_disc",
            Mode => "mode",
            ArgMinNull => "arg_min_null",
            ArgMaxNull => "arg_max_null",
            WeightedAvg => "weighted_avg",
            Grouping => "grouping",
        }
    }

    /// Every aggregate name (for "did you mean" hints).
    pub fn all_names() -> &'static [&'static str] {
        &[
            "count",
            "sum",
            "avg",
            "decimal_average",
            "min",
            "max",
            "stddev_samp",
            "stddev_pop",
            "stddev",
            "var_samp",
            "var_pop",
            "variance",
            "corr",
            "covar_samp",
            "covar_pop",
            "regr_slope",
            "regr_intercept",
            "regr_r2",
            "regr_count",
            "regr_avgx",
            "regr_avgy",
            "regr_sxx",
            "regr_syy",
            "regr_sxy",
            "bool_and",
            "bool_or",
            "count_if",
            "product",
            "string_agg",
            "list",
            "array_agg",
            "any_value",
            "first",
            "last",
            "arg_min",
            "arg_max",
            "median",
            "quantile_cont",
            "quantile_disc",
            "mode",
            "arg_min_null",
            "arg_max_null",
            "weighted_avg",
            "grouping",
        ]
    }

    /// Whether the aggregate keeps every value of a group (no mergeable partial state): it
    /// runs in single mode after a shuffle by the group keys, like `DISTINCT` aggregates.
    pub fn is_holistic(&self) -> bool {
        use AggFunc::*;
        matches!(
            self,
            StringAgg
                | List
                | AnyValue
                | First
                | Last
                | SingleValue
                | ArgMin
                | ArgMax
                | ArgMinNull
                | ArgMaxNull
                | Median
                | QuantileCont
                | QuantileDisc
                | Mode
        )
    }

    /// Whether the order of the input rows changes the result (ORDER BY inside the call is
    /// kept for these and dropped for the others).
    pub fn is_order_sensitive(&self) -> bool {
        use AggFunc::*;
        matches!(
            self,
            StringAgg | List | First | Last | AnyValue | ArgMin | ArgMax | ArgMinNull | ArgMaxNull
        )
    }

    /// The number of value arguments (before any trailing ORDER BY keys): `(min, max)`.
    pub fn arity(&self) -> (usize, usize) {
        use AggFunc::*;
        match self {
            Count => (0, 1),
            Corr | CovarSamp | CovarPop | RegrSlope | RegrIntercept | RegrR2 | RegrCount | RegrAvgx | RegrAvgy
            | RegrSxx | RegrSyy | RegrSxy | ArgMin | ArgMax | ArgMinNull | ArgMaxNull | QuantileCont | QuantileDisc
            | WeightedAvg => (2, 2),
            StringAgg => (1, 2),
            Grouping => (0, usize::MAX),
            _ => (1, 1),
        }
    }

    /// The result type for arguments of `args` types, following DuckDB: count is BIGINT,
    /// sum of integers BIGINT (HUGEINT in DuckDB; rask errors on overflow), sum of DECIMAL(p,s)
    /// is DECIMAL(38,s), avg and the statistics are DOUBLE, min/max keep the input type.
    pub fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        use AggFunc::*;
        let (lo, hi) = self.arity();
        if args.len() < lo || args.len() > hi {
            return Err(Error::plan(format!(
                "No function matches {}() with {} arguments",
                self.name(),
                args.len()
            )));
        }
        let arg = |name: &str| {
            args.first()
                .cloned()
                .ok_or_else(|| Error::plan(format!("{name}() takes one argument")))
        };
        let numeric = |name: &str, t: &DataType| {
            if t.is_numeric() || *t == DataType::Null {
                Ok(())
            } else {
                Err(Error::plan(format!(
                    "No function matches {name}({t}): {name} takes a numeric argument"
                )))
            }
        };
        Ok(match self {
            Count => DataType::Int64,
            Sum => match arg("sum")? {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DataType::Int64,
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => DataType::Int64,
                DataType::Float16 | DataType::Float32 | DataType::Float64 => DataType::Float64,
                DataType::Decimal128(_, s) => DataType::Decimal128(DECIMAL128_MAX_PRECISION, s),
                DataType::Null | DataType::Boolean => DataType::Int64,
                other => {
                    return Err(Error::plan(format!(
                        "No function matches sum({other}): sum takes a numeric argument"
                    )))
                }
            },
            Avg => {
                numeric("avg", &arg("avg")?)?;
                DataType::Float64
            }
            DecimalAverage => match arg("decimal_average")? {
                t @ DataType::Decimal128(_, _) => t,
                other => {
                    return Err(Error::plan(format!(
                        "No function matches decimal_average({}): decimal_average takes a DECIMAL argument",
                        crate::logical::types::sql_type_name(&other)
                    )))
                }
            },
            WeightedAvg => {
                for t in args {
                    numeric(self.name(), t)?;
                }
                DataType::Float64
            }
            StddevSamp | StddevPop | VarSamp | VarPop | Product => {
                numeric(self.name(), &arg(self.name())?)?;
                DataType::Float64
            }
            Corr | CovarSamp | CovarPop | RegrSlope | RegrIntercept | RegrR2 | RegrAvgx | RegrAvgy | RegrSxx
            | RegrSyy | RegrSxy => {
                for t in args {
                    numeric(self.name(), t)?;
                }
                DataType::Float64
            }
            RegrCount => DataType::UInt32,
            BoolAnd | BoolOr => DataType::Boolean,
            CountIf | Grouping => DataType::Int64,
            StringAgg => DataType::Utf8,
            List => {
                let t = arg("list")?;
                DataType::List(std::sync::Arc::new(Field::new("item", t, true)))
            }
            Min | Max | AnyValue | First | Last | SingleValue | Mode | QuantileDisc | ArgMin | ArgMax | ArgMinNull
            | ArgMaxNull => arg(self.name())?,
            Median | QuantileCont => match arg(self.name())? {
                t @ (DataType::Decimal128(_, _) | DataType::Decimal64(_, _) | DataType::Decimal32(_, _)) => t,
                t => {
                    numeric(self.name(), &t)?;
                    DataType::Float64
                }
            },
        })
    }
}

/// One `ORDER BY` key inside an aggregate call; the key expressions themselves are the
/// call's trailing arguments (so every rewrite and pushdown sees them as arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AggOrder {
    /// Ascending.
    pub asc: bool,
    /// NULLs before other values.
    pub nulls_first: bool,
}

/// The argument types of a call without its trailing `ORDER BY` keys.
pub fn value_arg_types<'a>(types: &'a [DataType], order: &[AggOrder]) -> &'a [DataType] {
    &types[..types.len().saturating_sub(order.len())]
}
