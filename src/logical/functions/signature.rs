//! Argument and result types of the scalar functions (DuckDB's result types): the types the
//! arguments are cast to, and the type the function produces.

use arrow::datatypes::{DataType, TimeUnit};

use super::ScalarFunc as F;
use crate::error::{Error, Result};
use crate::logical::types::{comparison_type, is_string, sql_type_name, supertype};

const TS: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);
const S: DataType = DataType::Utf8;
const I: DataType = DataType::Int64;
const D: DataType = DataType::Float64;

impl F {
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
        // Fixed parameters, the last `params.len() - required` optional.
        let fixed = |params: &[DataType], required: usize, ret: DataType| -> Result<(Vec<DataType>, DataType)> {
            if args.len() < required || args.len() > params.len() {
                let names: Vec<String> = params.iter().map(sql_type_name).collect();
                return Err(wrong(&names.join(", ")));
            }
            Ok((params[..args.len()].to_vec(), ret))
        };
        let numeric = |t: &DataType| t.is_numeric() || *t == DataType::Null;
        // A date or timestamp argument: dates stay dates, text becomes a timestamp.
        let temporal = |t: &DataType| match t {
            DataType::Date32 => Some(DataType::Date32),
            DataType::Timestamp(_, _) | DataType::Null => Some(TS),
            t if is_string(t) => Some(TS),
            _ => None,
        };
        let common = |args: &[DataType]| -> Result<DataType> {
            let mut common = DataType::Null;
            for t in args {
                common = comparison_type(&common, t).ok_or_else(|| wrong("arguments of one type"))?;
            }
            Ok(common)
        };
        Ok(match self {
            F::Abs | F::Floor | F::Ceil | F::Trunc => {
                if args.len() != 1 || !numeric(&args[0]) {
                    return Err(wrong("NUMERIC"));
                }
                let t = match &args[0] {
                    DataType::Null => DataType::Int32,
                    DataType::Decimal128(p, _) if *self != F::Abs => DataType::Decimal128(*p, 0),
                    t => t.clone(),
                };
                let arg = if args[0] == DataType::Null {
                    t.clone()
                } else {
                    args[0].clone()
                };
                (vec![arg], t)
            }
            F::Round => {
                if args.is_empty() || args.len() > 2 || !numeric(&args[0]) {
                    return Err(wrong("NUMERIC [, INTEGER]"));
                }
                let t = match &args[0] {
                    DataType::Null => DataType::Float64,
                    t => t.clone(),
                };
                let mut types = vec![t.clone()];
                if args.len() == 2 {
                    types.push(I);
                }
                (types, t)
            }
            F::Sign => {
                if args.len() != 1 || !numeric(&args[0]) {
                    return Err(wrong("NUMERIC"));
                }
                (vec![D], DataType::Int8)
            }
            F::Math(_) => fixed(&[D], 1, D)?,
            F::Power | F::Atan2 => fixed(&[D, D], 2, D)?,
            F::Log => fixed(&[D, D], 1, D)?,
            F::Pi | F::Random => fixed(&[], 0, D)?,
            F::Factorial => fixed(&[I], 1, DataType::Decimal128(38, 0))?,
            F::Gcd | F::Lcm => fixed(&[I, I], 2, I)?,
            F::Binom => fixed(&[I, I], 2, DataType::Decimal128(38, 0))?,
            F::BitCount => {
                if args.len() != 1 || !(args[0].is_integer() || args[0] == DataType::Null) {
                    return Err(wrong("INTEGER"));
                }
                (vec![args[0].clone()], DataType::Int8)
            }
            F::ShiftLeft | F::ShiftRight => {
                // The value keeps its type; the shift amount is a BIGINT.
                let int = |t: &DataType| t.is_integer() || *t == DataType::Null;
                if args.len() != 2 || !int(&args[0]) || !int(&args[1]) {
                    return Err(wrong("INTEGER, INTEGER"));
                }
                let t = match &args[0] {
                    DataType::Null => DataType::Int32,
                    t => t.clone(),
                };
                (vec![t.clone(), I], t)
            }
            F::BitAnd | F::BitOr | F::BitXor => {
                let int = |t: &DataType| t.is_integer() || *t == DataType::Null;
                if args.len() != 2 || !int(&args[0]) || !int(&args[1]) {
                    return Err(wrong("INTEGER, INTEGER"));
                }
                let t = match common(args)? {
                    DataType::Null => DataType::Int32,
                    t if t.is_integer() => t,
                    _ => return Err(wrong("INTEGER, INTEGER")),
                };
                (vec![t.clone(), t.clone()], t)
            }
            F::BitNot => match args {
                [t] if t.is_integer() => (vec![t.clone()], t.clone()),
                [DataType::Null] => (vec![DataType::Int32], DataType::Int32),
                _ => return Err(wrong("INTEGER")),
            },
            F::IsNan | F::IsInf | F::IsFinite => fixed(&[D], 1, DataType::Boolean)?,
            F::Coalesce | F::Greatest | F::Least => {
                if args.is_empty() {
                    return Err(wrong("ANY, ..."));
                }
                let mut t = DataType::Null;
                for a in args {
                    t = supertype(&t, a).ok_or_else(|| wrong("arguments of one type"))?;
                }
                (vec![t.clone(); args.len()], t)
            }
            F::ListValue => {
                let t = match common(args)? {
                    DataType::Null => DataType::Int32,
                    t => t,
                };
                let item = std::sync::Arc::new(arrow::datatypes::Field::new("item", t.clone(), true));
                (vec![t; args.len()], DataType::List(item))
            }
            F::NullIf => {
                if args.len() != 2 {
                    return Err(wrong("ANY, ANY"));
                }
                let t = common(args)?;
                (vec![t.clone(), t.clone()], t)
            }
            F::TypeOf => {
                if args.len() != 1 {
                    return Err(wrong("ANY"));
                }
                (args.to_vec(), S)
            }
            F::Lower | F::Upper | F::Reverse => fixed(&[S], 1, S)?,
            F::Trim | F::LTrim | F::RTrim => fixed(&[S, S], 1, S)?,
            F::Length => fixed(&[S], 1, I)?,
            F::Substring => fixed(&[S, I, I], 2, S)?,
            F::Concat => (vec![S; args.len()], S),
            F::ConcatWs => {
                if args.len() < 2 {
                    return Err(wrong("VARCHAR, ANY, ..."));
                }
                (vec![S; args.len()], S)
            }
            F::Replace | F::Translate => fixed(&[S, S, S], 3, S)?,
            F::Overlay => fixed(&[S, S, I, I], 3, S)?,
            F::SplitPart => fixed(&[S, S, I], 3, S)?,
            F::StartsWith | F::EndsWith | F::Contains | F::Glob => fixed(&[S, S], 2, DataType::Boolean)?,
            F::StrPos => fixed(&[S, S], 2, I)?,
            F::LPad | F::RPad => fixed(&[S, I, S], 3, S)?,
            F::Left | F::Right | F::Repeat => fixed(&[S, I], 2, S)?,
            F::Ascii => fixed(&[S], 1, DataType::Int32)?,
            F::Chr => fixed(&[DataType::Int32], 1, S)?,
            F::RegexpMatches | F::RegexpFullMatch => fixed(&[S, S, S], 2, DataType::Boolean)?,
            F::RegexpReplace => fixed(&[S, S, S, S], 3, S)?,
            F::RegexpExtract => fixed(&[S, S, I], 2, S)?,
            F::LikeEscape | F::ILikeEscape => fixed(&[S, S, S], 3, DataType::Boolean)?,
            F::DatePart => {
                if args.len() != 2 || !(is_string(&args[0]) || args[0] == DataType::Null) {
                    return Err(wrong("VARCHAR, DATE"));
                }
                let t = match &args[1] {
                    DataType::Interval(_) => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
                    DataType::Time32(_) | DataType::Time64(_) => DataType::Time64(TimeUnit::Microsecond),
                    t => temporal(t).ok_or_else(|| wrong("VARCHAR, DATE"))?,
                };
                (vec![S, t], I)
            }
            F::Epoch => {
                let t = match args {
                    [DataType::Interval(_)] => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
                    [t] => temporal(t).ok_or_else(|| wrong("TIMESTAMP"))?,
                    _ => return Err(wrong("TIMESTAMP")),
                };
                (vec![t], D)
            }
            F::EpochMs => fixed(&[I], 1, TS)?,
            F::DateTrunc => match args {
                [_, t] => (vec![S, temporal(t).ok_or_else(|| wrong("VARCHAR, TIMESTAMP"))?], TS),
                _ => return Err(wrong("VARCHAR, TIMESTAMP")),
            },
            F::DateDiff => match args {
                [_, a, b] => {
                    let (a, b) = (
                        temporal(a).ok_or_else(|| wrong("VARCHAR, DATE, DATE"))?,
                        temporal(b).ok_or_else(|| wrong("VARCHAR, DATE, DATE"))?,
                    );
                    let t = if a == b { a } else { TS };
                    (vec![S, t.clone(), t], I)
                }
                _ => return Err(wrong("VARCHAR, DATE, DATE")),
            },
            F::MakeDate => fixed(&[I, I, I], 3, DataType::Date32)?,
            F::Strftime => match args {
                [t, _] => (vec![temporal(t).ok_or_else(|| wrong("TIMESTAMP, VARCHAR"))?, S], S),
                _ => return Err(wrong("TIMESTAMP, VARCHAR")),
            },
            F::Strptime => fixed(&[S, S], 2, TS)?,
            F::LastDay | F::MonthName | F::DayName => match args {
                [t] => {
                    let ret = if *self == F::LastDay { DataType::Date32 } else { S };
                    (vec![temporal(t).ok_or_else(|| wrong("DATE"))?], ret)
                }
                _ => return Err(wrong("DATE")),
            },
            F::CurrentDate => fixed(&[], 0, DataType::Date32)?,
            F::Now => fixed(&[], 0, TS)?,
        })
    }
}
