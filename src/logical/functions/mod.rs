//! Scalar functions known to the planner: names (with DuckDB's aliases) and result types.
//! Their evaluation on batches lives in `physical::functions`; argument and result types are
//! in [`signature`].

mod signature;

/// A scalar (row-wise) function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarFunc {
    // ---- conditional / generic
    /// `coalesce(a, b, ...)` (also `ifnull`, `nvl`): the first non-NULL argument.
    Coalesce,
    /// `nullif(a, b)`: NULL when a = b, else a.
    NullIf,
    /// `greatest(a, b, ...)`: the largest non-NULL argument.
    Greatest,
    /// `least(a, b, ...)`: the smallest non-NULL argument.
    Least,
    /// `typeof(x)`: the SQL type name of the argument.
    TypeOf,
    /// `list_value(a, b, ...)` / `[a, b, ...]`: a LIST of the arguments.
    ListValue,
    // ---- string
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `length(s)` in characters.
    Length,
    /// `substring(s, start [, length])` (1-based).
    Substring,
    /// `trim(s [, chars])`
    Trim,
    /// `ltrim(s [, chars])`
    LTrim,
    /// `rtrim(s [, chars])`
    RTrim,
    /// `concat(a, b, ...)`: NULLs are skipped.
    Concat,
    /// `concat_ws(sep, a, ...)`: NULL arguments are skipped.
    ConcatWs,
    /// `replace(s, from, to)`
    Replace,
    /// `split_part(s, delimiter, index)` (1-based, negative from the end).
    SplitPart,
    /// `starts_with(s, prefix)` / `prefix`
    StartsWith,
    /// `ends_with(s, suffix)` / `suffix`
    EndsWith,
    /// `contains(s, needle)`
    Contains,
    /// `strpos(s, needle)` / `instr` / `position`: 1-based character position, 0 if absent.
    StrPos,
    /// `lpad(s, length, fill)`
    LPad,
    /// `rpad(s, length, fill)`
    RPad,
    /// `left(s, n)`
    Left,
    /// `right(s, n)`
    Right,
    /// `repeat(s, n)`
    Repeat,
    /// `reverse(s)`
    Reverse,
    /// `overlay(s PLACING r FROM start [FOR length])`
    Overlay,
    /// `translate(s, from, to)`
    Translate,
    /// `ascii(s)`: code point of the first character.
    Ascii,
    /// `chr(code)`
    Chr,
    /// `regexp_matches(s, pattern [, flags])` (also `s ~ pattern`)
    RegexpMatches,
    /// `regexp_full_match(s, pattern [, flags])`
    RegexpFullMatch,
    /// `regexp_replace(s, pattern, replacement [, flags])`
    RegexpReplace,
    /// `regexp_extract(s, pattern [, group])`
    RegexpExtract,
    /// `like_escape(s, pattern, escape)`: `s LIKE pattern ESCAPE escape`.
    LikeEscape,
    /// `ilike_escape(s, pattern, escape)`
    ILikeEscape,
    /// `glob(s, pattern)`: `s GLOB pattern` (`*`, `?`, `[a-z]`, `[!…]`, `\` escapes).
    Glob,
    // ---- numeric
    /// `abs(x)`
    Abs,
    /// `round(x [, digits])`
    Round,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`
    Ceil,
    /// `trunc(x)`
    Trunc,
    /// `sign(x)`: -1, 0 or 1 (TINYINT).
    Sign,
    /// A DOUBLE → DOUBLE function.
    Math(MathFunc),
    /// `power(x, y)`
    Power,
    /// `atan2(y, x)`
    Atan2,
    /// `log(x)` (base 10) or `log(b, x)`.
    Log,
    /// `pi()`
    Pi,
    /// `random()`
    Random,
    /// `factorial(n)`
    Factorial,
    /// `binom(n, k)`: n choose k (HUGEINT).
    Binom,
    /// `gcd(a, b)`
    Gcd,
    /// `lcm(a, b)`
    Lcm,
    /// `bit_count(x)`
    BitCount,
    /// `a & b`
    BitAnd,
    /// `a | b`
    BitOr,
    /// `xor(a, b)`
    BitXor,
    /// `~a`
    BitNot,
    /// `a << n` (overflow and shifts past the width are errors, as in DuckDB)
    ShiftLeft,
    /// `a >> n` (0 past the width)
    ShiftRight,
    /// `isnan(x)`
    IsNan,
    /// `isinf(x)`
    IsInf,
    /// `isfinite(x)`
    IsFinite,
    // ---- date and time
    /// `date_part('field', d)` / `extract(field FROM d)`; the field is the first argument.
    DatePart,
    /// `epoch(ts)`: seconds since 1970 (DOUBLE); also `date_part('epoch', ts)`.
    Epoch,
    /// `epoch_ms(ms)`: the timestamp `ms` milliseconds after 1970.
    EpochMs,
    /// `date_trunc('field', ts)`
    DateTrunc,
    /// `date_diff('field', start, end)`: boundaries crossed.
    DateDiff,
    /// `make_date(year, month, day)`
    MakeDate,
    /// `strftime(ts, format)`
    Strftime,
    /// `strptime(text, format)`
    Strptime,
    /// `last_day(d)`: the last day of the month.
    LastDay,
    /// `monthname(d)`
    MonthName,
    /// `dayname(d)`
    DayName,
    /// `current_date` / `today()`
    CurrentDate,
    /// `now()` / `current_timestamp`
    Now,
}

/// Functions from DOUBLE to DOUBLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MathFunc {
    /// `sqrt(x)`
    Sqrt,
    /// `cbrt(x)`
    Cbrt,
    /// `exp(x)`
    Exp,
    /// `ln(x)`
    Ln,
    /// `log10(x)`
    Log10,
    /// `log2(x)`
    Log2,
    /// `degrees(x)`
    Degrees,
    /// `radians(x)`
    Radians,
    /// `sin(x)`
    Sin,
    /// `cos(x)`
    Cos,
    /// `tan(x)`
    Tan,
    /// `asin(x)`
    Asin,
    /// `acos(x)`
    Acos,
    /// `atan(x)`
    Atan,
    /// `cot(x)`
    Cot,
    /// `gamma(x)`
    Gamma,
    /// `lgamma(x)`
    LGamma,
    /// `even(x)`: rounded away from zero to the next even integer.
    Even,
}

use MathFunc as M;
use ScalarFunc as F;

/// Every name (with aliases) and its function; the first name of a function is canonical.
const NAMES: &[(&str, ScalarFunc)] = &[
    ("coalesce", F::Coalesce),
    ("ifnull", F::Coalesce),
    ("nvl", F::Coalesce),
    ("nullif", F::NullIf),
    ("greatest", F::Greatest),
    ("least", F::Least),
    ("typeof", F::TypeOf),
    ("list_value", F::ListValue),
    ("list_pack", F::ListValue),
    ("lower", F::Lower),
    ("lcase", F::Lower),
    ("upper", F::Upper),
    ("ucase", F::Upper),
    ("length", F::Length),
    ("len", F::Length),
    ("char_length", F::Length),
    ("character_length", F::Length),
    ("substring", F::Substring),
    ("substr", F::Substring),
    ("trim", F::Trim),
    ("ltrim", F::LTrim),
    ("rtrim", F::RTrim),
    ("concat", F::Concat),
    ("concat_ws", F::ConcatWs),
    ("replace", F::Replace),
    ("split_part", F::SplitPart),
    ("starts_with", F::StartsWith),
    ("prefix", F::StartsWith),
    ("ends_with", F::EndsWith),
    ("suffix", F::EndsWith),
    ("contains", F::Contains),
    ("strpos", F::StrPos),
    ("instr", F::StrPos),
    ("position", F::StrPos),
    ("lpad", F::LPad),
    ("rpad", F::RPad),
    ("left", F::Left),
    ("right", F::Right),
    ("repeat", F::Repeat),
    ("reverse", F::Reverse),
    ("translate", F::Translate),
    ("overlay", F::Overlay),
    ("ascii", F::Ascii),
    ("chr", F::Chr),
    ("regexp_matches", F::RegexpMatches),
    ("regexp_full_match", F::RegexpFullMatch),
    ("regexp_replace", F::RegexpReplace),
    ("regexp_extract", F::RegexpExtract),
    ("like_escape", F::LikeEscape),
    ("ilike_escape", F::ILikeEscape),
    ("glob", F::Glob),
    ("abs", F::Abs),
    ("round", F::Round),
    ("floor", F::Floor),
    ("ceil", F::Ceil),
    ("ceiling", F::Ceil),
    ("trunc", F::Trunc),
    ("sign", F::Sign),
    ("sqrt", F::Math(M::Sqrt)),
    ("cbrt", F::Math(M::Cbrt)),
    ("exp", F::Math(M::Exp)),
    ("ln", F::Math(M::Ln)),
    ("log10", F::Math(M::Log10)),
    ("log2", F::Math(M::Log2)),
    ("degrees", F::Math(M::Degrees)),
    ("radians", F::Math(M::Radians)),
    ("sin", F::Math(M::Sin)),
    ("cos", F::Math(M::Cos)),
    ("tan", F::Math(M::Tan)),
    ("asin", F::Math(M::Asin)),
    ("acos", F::Math(M::Acos)),
    ("atan", F::Math(M::Atan)),
    ("cot", F::Math(M::Cot)),
    ("gamma", F::Math(M::Gamma)),
    ("lgamma", F::Math(M::LGamma)),
    ("even", F::Math(M::Even)),
    ("power", F::Power),
    ("pow", F::Power),
    ("atan2", F::Atan2),
    ("log", F::Log),
    ("pi", F::Pi),
    ("random", F::Random),
    ("factorial", F::Factorial),
    ("binom", F::Binom),
    ("gcd", F::Gcd),
    ("greatest_common_divisor", F::Gcd),
    ("lcm", F::Lcm),
    ("least_common_multiple", F::Lcm),
    ("bit_count", F::BitCount),
    ("&", F::BitAnd),
    ("|", F::BitOr),
    ("xor", F::BitXor),
    ("~", F::BitNot),
    ("<<", F::ShiftLeft),
    (">>", F::ShiftRight),
    ("isnan", F::IsNan),
    ("isinf", F::IsInf),
    ("isfinite", F::IsFinite),
    ("date_part", F::DatePart),
    ("datepart", F::DatePart),
    ("extract", F::DatePart),
    ("epoch", F::Epoch),
    ("epoch_ms", F::EpochMs),
    ("date_trunc", F::DateTrunc),
    ("datetrunc", F::DateTrunc),
    ("date_diff", F::DateDiff),
    ("datediff", F::DateDiff),
    ("make_date", F::MakeDate),
    ("strftime", F::Strftime),
    ("strptime", F::Strptime),
    ("last_day", F::LastDay),
    ("monthname", F::MonthName),
    ("dayname", F::DayName),
    ("current_date", F::CurrentDate),
    ("today", F::CurrentDate),
    ("now", F::Now),
    ("current_timestamp", F::Now),
    ("get_current_timestamp", F::Now),
];

/// Date parts that DuckDB also offers as one-argument functions (`year(d)` = `date_part('year', d)`).
pub const DATE_PART_FUNCTIONS: &[&str] = &[
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
    "quarter",
    "week",
    "weekofyear",
    "dayofweek",
    "isodow",
    "dayofyear",
    "dayofmonth",
    "decade",
    "century",
    "millennium",
    "isoyear",
    "yearweek",
    "era",
];

impl ScalarFunc {
    /// Looks a function up by its (lower-case) SQL name.
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// Every function name, for suggestions and completion.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _)| *n)
    }

    /// The canonical SQL name.
    pub fn name(&self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| f == self)
            .map(|(n, _)| *n)
            .unwrap_or("function")
    }

    /// Whether the function gives a different answer on each call (not constant-folded).
    pub fn is_volatile(&self) -> bool {
        matches!(self, F::Random | F::Now | F::CurrentDate)
    }
}
