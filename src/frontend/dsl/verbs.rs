//! Every source and verb of the DSL with the arguments it takes: the parser reads arguments
//! by these signatures, and error messages quote their usage lines. `docs/dsl.md` documents
//! the same list.

/// Where a call may appear in a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Starts a chain: `read_csv(…)`.
    Source,
    /// Turns a frame into a frame.
    Verb,
    /// Turns a frame into a grouped frame (`groupby`).
    Group,
    /// Turns a grouped frame (or a whole frame) into a frame (`agg`).
    Aggregate,
    /// Ends a chain and does something: prints, writes, explains.
    Action,
}

/// The form of an argument value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A SQL expression.
    Expr,
    /// A SQL select item (`expr [AS name]`, `*`).
    Item,
    /// An ORDER BY term (`expr [ASC|DESC] [NULLS FIRST|LAST]`).
    Order,
    /// A string (`"…"` or `'…'`; a bare word too).
    Str,
    /// A whole number.
    Int,
    /// A chain (a frame name or a whole chain).
    Frame,
}

/// The keyword arguments a call takes.
#[derive(Debug, Clone, Copy)]
pub enum Keywords {
    /// None.
    None,
    /// Exactly these names.
    Named(&'static [(&'static str, Kind)]),
    /// Any name (`assign(name = expr, …)`), each value of this kind.
    Any(Kind),
}

/// A source's or verb's signature.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Its name.
    pub name: &'static str,
    /// Where it may appear.
    pub role: Role,
    /// The kind of its positional arguments.
    pub positional: Kind,
    /// Fewest positional arguments.
    pub min: usize,
    /// Most positional arguments (`None`: any number).
    pub max: Option<usize>,
    /// Its keyword arguments.
    pub keywords: Keywords,
    /// At least one argument (positional or keyword) is needed.
    pub needs_some: bool,
    /// How it is called.
    pub usage: &'static str,
}

const OPTIONS: Keywords = Keywords::Any(Kind::Expr);

const fn spec(
    name: &'static str,
    role: Role,
    positional: Kind,
    (min, max): (usize, Option<usize>),
    keywords: Keywords,
    usage: &'static str,
) -> Spec {
    Spec {
        name,
        role,
        positional,
        min,
        max,
        keywords,
        needs_some: false,
        usage,
    }
}

const fn needing_some(mut s: Spec) -> Spec {
    s.needs_some = true;
    s
}

use Kind::*;
use Role::*;

/// Every source and verb.
pub const SPECS: &[Spec] = &[
    spec(
        "read_csv",
        Source,
        Str,
        (1, Some(1)),
        OPTIONS,
        "read_csv(\"path/or/*.csv\", header = true, delim = ',', …)",
    ),
    spec(
        "read_parquet",
        Source,
        Str,
        (1, Some(1)),
        OPTIONS,
        "read_parquet(\"path/or/*.parquet\")",
    ),
    spec(
        "read_json",
        Source,
        Str,
        (1, Some(1)),
        OPTIONS,
        "read_json(\"path/or/*.json\")",
    ),
    spec("table", Source, Str, (1, Some(1)), Keywords::None, "table(\"name\")"),
    spec("sql", Source, Str, (1, Some(1)), Keywords::None, "sql(\"SELECT …\")"),
    spec("filter", Verb, Expr, (1, None), Keywords::None, "filter(condition, …)"),
    needing_some(spec(
        "select",
        Verb,
        Item,
        (0, None),
        Keywords::Any(Expr),
        "select(column, expr AS name, name = expr, *, …)",
    )),
    needing_some(spec(
        "assign",
        Verb,
        Expr,
        (0, Some(0)),
        Keywords::Any(Expr),
        "assign(name = expr, …)",
    )),
    spec("drop", Verb, Expr, (1, None), Keywords::None, "drop(column, …)"),
    needing_some(spec(
        "rename",
        Verb,
        Expr,
        (0, Some(0)),
        Keywords::Any(Expr),
        "rename(new_name = old_name, …)",
    )),
    spec(
        "groupby",
        Group,
        Expr,
        (0, None),
        Keywords::Any(Expr),
        "groupby(key, name = expr, …).agg(name = aggregate, …)",
    ),
    needing_some(spec(
        "agg",
        Aggregate,
        Item,
        (0, None),
        Keywords::Any(Expr),
        "agg(name = aggregate, …)",
    )),
    spec(
        "join",
        Verb,
        Frame,
        (1, Some(1)),
        Keywords::Named(&[("on", Expr), ("how", Str)]),
        "join(other, on = column | (col1, col2) | condition, how = \"inner|left|right|full|semi|anti|cross\")",
    ),
    spec(
        "sort",
        Verb,
        Order,
        (1, None),
        Keywords::None,
        "sort(expr [desc] [nulls first], …)",
    ),
    spec("head", Verb, Int, (0, Some(1)), Keywords::None, "head(n = 5)"),
    spec("distinct", Verb, Expr, (0, Some(0)), Keywords::None, "distinct()"),
    spec(
        "union",
        Verb,
        Frame,
        (1, Some(1)),
        Keywords::Named(&[("by_name", Expr)]),
        "union(other, by_name = false)",
    ),
    spec("persist", Verb, Expr, (0, Some(0)), Keywords::None, "persist()"),
    spec(
        "explain",
        Action,
        Expr,
        (0, Some(0)),
        Keywords::Named(&[("analyze", Expr)]),
        "explain(analyze = false)",
    ),
    spec(
        "visualize",
        Action,
        Str,
        (1, Some(1)),
        Keywords::None,
        "visualize(\"graph.svg\" | \"graph.dot\")",
    ),
    spec("count", Action, Expr, (0, Some(0)), Keywords::None, "count()"),
    spec("show", Action, Int, (0, Some(1)), Keywords::None, "show(n)"),
    spec(
        "to_csv",
        Action,
        Str,
        (1, Some(1)),
        Keywords::Named(&[("header", Expr), ("delim", Expr)]),
        "to_csv(\"out.csv\", header = true, delim = ',')",
    ),
    spec(
        "to_parquet",
        Action,
        Str,
        (1, Some(1)),
        Keywords::None,
        "to_parquet(\"out.parquet\")",
    ),
    spec(
        "to_json",
        Action,
        Str,
        (1, Some(1)),
        Keywords::None,
        "to_json(\"out.json\")",
    ),
];

/// The signature of `name` (lower case), if it is a source or verb.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// The names of the calls with a role in `roles`.
pub fn names(roles: &[Role]) -> impl Iterator<Item = &'static str> + '_ {
    SPECS.iter().filter(move |s| roles.contains(&s.role)).map(|s| s.name)
}

/// The verbs that may follow a frame.
pub const FRAME_ROLES: &[Role] = &[Verb, Group, Aggregate, Action];

impl Spec {
    /// Whether `name =` is a keyword argument of this call.
    pub fn keyword_kind(&self, name: &str) -> Option<Kind> {
        match self.keywords {
            Keywords::None => None,
            Keywords::Any(kind) => Some(kind),
            Keywords::Named(names) => names
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, k)| *k),
        }
    }

    /// Whether the call takes keyword arguments at all.
    pub fn takes_keywords(&self) -> bool {
        !matches!(self.keywords, Keywords::None)
    }

    /// "takes 1 argument", "takes no arguments", "takes 1 or more arguments", … for messages.
    pub fn arity(&self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match (self.min, self.max) {
            (0, Some(0)) => "takes no positional arguments".to_string(),
            (min, Some(max)) if min == max => format!("takes {min} positional {}", plural(min)),
            (0, Some(max)) => format!("takes at most {max} positional {}", plural(max)),
            (min, Some(max)) => format!("takes {min} to {max} positional arguments"),
            (min, None) => format!("takes at least {min} positional {}", plural(min)),
        }
    }
}
