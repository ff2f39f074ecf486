//! A grammar-based generator of SQL queries over the fuzz tables, driven by the fuzzer's
//! bytes: joins of every kind, aggregates with HAVING, windows, scalar / IN / EXISTS
//! subqueries (correlated too), set operations, DISTINCT, ORDER BY and LIMIT. The grammar
//! tracks column types so that most queries bind and reach the executor.

use arbitrary::Unstructured;

/// The type classes the generator keeps apart.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    Int,
    Str,
    Float,
    Date,
    Bool,
}

const TYPES: [Ty; 5] = [Ty::Int, Ty::Str, Ty::Float, Ty::Date, Ty::Bool];

/// The fuzz tables' columns (see `TABLES_SQL`).
const TABLES: [(&str, &[(&str, Ty)]); 3] = [
    (
        "t1",
        &[
            ("a", Ty::Int),
            ("b", Ty::Str),
            ("c", Ty::Float),
            ("d", Ty::Date),
            ("e", Ty::Bool),
        ],
    ),
    ("t2", &[("k", Ty::Int), ("s", Ty::Str), ("n", Ty::Int)]),
    ("t3", &[("k", Ty::Int), ("s", Ty::Str)]),
];

/// A column in scope: its SQL reference and type.
#[derive(Clone)]
struct Column {
    sql: String,
    ty: Ty,
}

/// The SQL text of the query the bytes describe.
pub fn query_from_bytes(data: &[u8]) -> String {
    let mut g = Gen {
        u: Unstructured::new(data),
        aliases: 0,
    };
    g.query(0)
}

struct Gen<'a> {
    u: Unstructured<'a>,
    aliases: usize,
}

impl Gen<'_> {
    fn pick(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.u.choose_index(n).unwrap_or(0)
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.u.ratio(percent, 100).unwrap_or(false)
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("x{}", self.aliases)
    }

    /// A whole query: one SELECT, or a set operation of two with the same shape.
    fn query(&mut self, depth: usize) -> String {
        let (mut sql, types) = self.select(depth, None);
        if depth < 2 && self.chance(15) {
            let op = [
                "UNION",
                "UNION ALL",
                "EXCEPT",
                "INTERSECT",
                "EXCEPT ALL",
                "INTERSECT ALL",
            ][self.pick(6)];
            let (other, _) = self.select(depth + 1, Some(&types));
            sql = format!("({sql}) {op} ({other})");
        }
        if self.chance(30) {
            let n = types.len();
            let keys: Vec<String> = (0..1 + self.pick(n))
                .map(|_| {
                    let dir = ["", " DESC", " ASC NULLS FIRST", " DESC NULLS LAST"][self.pick(4)];
                    format!("{}{dir}", 1 + self.pick(n))
                })
                .collect();
            sql = format!("{sql} ORDER BY {}", keys.join(", "));
        }
        if self.chance(25) {
            sql = format!("{sql} LIMIT {}", self.pick(8));
            if self.chance(30) {
                sql = format!("{sql} OFFSET {}", self.pick(4));
            }
        }
        sql
    }

    /// A SELECT; with `shape`, its columns have those types (for set operations).
    fn select(&mut self, depth: usize, shape: Option<&[Ty]>) -> (String, Vec<Ty>) {
        let (from, scope) = self.from(depth);
        let filter = self.chance(50).then(|| self.expr(Ty::Bool, &scope, depth, 3));
        let types: Vec<Ty> = match shape {
            Some(s) => s.to_vec(),
            None => (0..1 + self.pick(4)).map(|_| TYPES[self.pick(TYPES.len())]).collect(),
        };
        let mut sql = String::from("SELECT ");
        if self.chance(15) {
            sql.push_str("DISTINCT ");
        }
        let grouped = self.chance(35);
        let items: Vec<String> = if grouped {
            let keys: Vec<Column> = (0..self.pick(3)).map(|_| self.column(&scope, None)).collect();
            let items: Vec<String> = types
                .iter()
                .enumerate()
                .map(|(i, &ty)| {
                    let key = keys
                        .iter()
                        .find(|k| k.ty == ty && self.chance(60))
                        .map(|k| k.sql.clone());
                    let e = key.unwrap_or_else(|| self.aggregate(ty, &scope, depth));
                    format!("{e} AS c{i}")
                })
                .collect();
            let mut tail = String::new();
            if !keys.is_empty() {
                let list: Vec<&str> = keys.iter().map(|k| k.sql.as_str()).collect();
                tail = format!(" GROUP BY {}", list.join(", "));
            }
            if self.chance(40) {
                let agg = self.aggregate(Ty::Int, &scope, depth);
                tail.push_str(&format!(
                    " HAVING {agg} {} {}",
                    ["<", ">", "=", "<>"][self.pick(4)],
                    self.pick(4)
                ));
            }
            let where_sql = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
            sql.push_str(&items.join(", "));
            return (format!("{sql} FROM {from}{where_sql}{tail}"), types);
        } else {
            types
                .iter()
                .enumerate()
                .map(|(i, &ty)| {
                    let e = if self.chance(12) {
                        self.window(ty, &scope, depth)
                    } else {
                        self.expr(ty, &scope, depth, 3)
                    };
                    format!("{e} AS c{i}")
                })
                .collect()
        };
        sql.push_str(&items.join(", "));
        sql.push_str(&format!(" FROM {from}"));
        if let Some(f) = filter {
            sql.push_str(&format!(" WHERE {f}"));
        }
        (sql, types)
    }

    /// A FROM clause (a table, a derived table, or joins of them) and the columns it brings.
    fn from(&mut self, depth: usize) -> (String, Vec<Column>) {
        let (mut sql, mut scope) = self.table_ref(depth);
        for _ in 0..self.pick(3) {
            let (right, right_scope) = self.table_ref(depth);
            let kind = [
                "JOIN",
                "LEFT JOIN",
                "RIGHT JOIN",
                "FULL JOIN",
                "CROSS JOIN",
                "SEMI JOIN",
                "ANTI JOIN",
            ][self.pick(7)];
            let mut both = scope.clone();
            both.extend(right_scope.iter().cloned());
            if kind == "CROSS JOIN" {
                sql = format!("{sql} CROSS JOIN {right}");
            } else {
                let on = match (self.chance(70), self.equi_pair(&scope, &right_scope)) {
                    (true, Some(eq)) => eq,
                    _ => self.expr(Ty::Bool, &both, depth, 2),
                };
                sql = format!("{sql} {kind} {right} ON {on}");
            }
            if !matches!(kind, "SEMI JOIN" | "ANTI JOIN") {
                scope = both;
            }
        }
        (sql, scope)
    }

    fn equi_pair(&mut self, left: &[Column], right: &[Column]) -> Option<String> {
        let l = left[self.pick(left.len())].clone();
        let r = right.iter().filter(|c| c.ty == l.ty).nth(self.pick(2))?;
        Some(format!("{} = {}", l.sql, r.sql))
    }

    fn table_ref(&mut self, depth: usize) -> (String, Vec<Column>) {
        let alias = self.alias();
        if depth < 2 && self.chance(15) {
            let (inner, types) = self.select(depth + 1, None);
            let scope = types
                .iter()
                .enumerate()
                .map(|(i, &ty)| Column {
                    sql: format!("{alias}.c{i}"),
                    ty,
                })
                .collect();
            return (format!("({inner}) AS {alias}"), scope);
        }
        let (name, columns) = TABLES[self.pick(TABLES.len())];
        let scope = columns
            .iter()
            .map(|&(c, ty)| Column {
                sql: format!("{alias}.{c}"),
                ty,
            })
            .collect();
        (format!("{name} AS {alias}"), scope)
    }

    /// A column of `scope`, of type `ty` when one has it.
    fn column(&mut self, scope: &[Column], ty: Option<Ty>) -> Column {
        let matching: Vec<&Column> = scope.iter().filter(|c| ty.is_none_or(|t| c.ty == t)).collect();
        if matching.is_empty() {
            return scope[self.pick(scope.len())].clone();
        }
        matching[self.pick(matching.len())].clone()
    }

    fn literal(&mut self, ty: Ty) -> String {
        if self.chance(10) {
            return "NULL".into();
        }
        match ty {
            Ty::Int => ["0", "1", "2", "-1", "7", "2147483647", "-9223372036854775808", "100"][self.pick(8)].into(),
            Ty::Str => ["''", "'a'", "'b'", "'x'", "'%a%'", "'ünï'", "'A_'"][self.pick(7)].into(),
            Ty::Float => ["0.5", "-0.0", "1e308", "'NaN'::DOUBLE", "2.25", "-3.5"][self.pick(6)].into(),
            Ty::Date => ["DATE '2024-01-01'", "DATE '1970-01-01'", "DATE '2024-02-29'"][self.pick(3)].into(),
            Ty::Bool => ["true", "false"][self.pick(2)].into(),
        }
    }

    /// An expression of type `ty` over `scope`.
    fn expr(&mut self, ty: Ty, scope: &[Column], depth: usize, budget: usize) -> String {
        if budget == 0 || self.chance(30) {
            let col = scope.iter().any(|c| c.ty == ty) && self.chance(70);
            return if col {
                self.column(scope, Some(ty)).sql
            } else {
                self.literal(ty)
            };
        }
        let b = budget - 1;
        match ty {
            Ty::Int => match self.pick(9) {
                0 => format!(
                    "({} {} {})",
                    self.expr(Ty::Int, scope, depth, b),
                    ["+", "-", "*", "//", "%"][self.pick(5)],
                    self.expr(Ty::Int, scope, depth, b)
                ),
                1 => format!("length({})", self.expr(Ty::Str, scope, depth, b)),
                2 => format!("abs({})", self.expr(Ty::Int, scope, depth, b)),
                3 => format!(
                    "CAST({} AS INTEGER)",
                    self.expr_of(&[Ty::Float, Ty::Str, Ty::Bool], scope, depth, b)
                ),
                4 => format!("extract(year FROM {})", self.expr(Ty::Date, scope, depth, b)),
                5 => self.case(Ty::Int, scope, depth, b),
                6 => format!(
                    "coalesce({}, {})",
                    self.expr(Ty::Int, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b)
                ),
                7 if depth < 2 => self.scalar_subquery(Ty::Int, scope, depth),
                _ => format!(
                    "greatest({}, {})",
                    self.expr(Ty::Int, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b)
                ),
            },
            Ty::Str => match self.pick(8) {
                0 => format!(
                    "({} || {})",
                    self.expr(Ty::Str, scope, depth, b),
                    self.expr(Ty::Str, scope, depth, b)
                ),
                1 => format!("upper({})", self.expr(Ty::Str, scope, depth, b)),
                2 => format!(
                    "substring({}, {}, {})",
                    self.expr(Ty::Str, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b)
                ),
                3 => format!("CAST({} AS VARCHAR)", self.expr_of(&TYPES, scope, depth, b)),
                4 => format!(
                    "replace({}, 'a', {})",
                    self.expr(Ty::Str, scope, depth, b),
                    self.expr(Ty::Str, scope, depth, b)
                ),
                5 => self.case(Ty::Str, scope, depth, b),
                6 => format!("trim({})", self.expr(Ty::Str, scope, depth, b)),
                _ => format!(
                    "coalesce({}, {})",
                    self.expr(Ty::Str, scope, depth, b),
                    self.expr(Ty::Str, scope, depth, b)
                ),
            },
            Ty::Float => match self.pick(6) {
                0 => format!(
                    "({} {} {})",
                    self.expr(Ty::Float, scope, depth, b),
                    ["+", "-", "*", "/"][self.pick(4)],
                    self.expr(Ty::Float, scope, depth, b)
                ),
                1 => format!(
                    "({} / {})",
                    self.expr(Ty::Int, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b)
                ),
                2 => format!("round({}, {})", self.expr(Ty::Float, scope, depth, b), self.pick(4)),
                3 => format!("sqrt(abs({}))", self.expr(Ty::Float, scope, depth, b)),
                4 => format!("CAST({} AS DOUBLE)", self.expr(Ty::Int, scope, depth, b)),
                _ => self.case(Ty::Float, scope, depth, b),
            },
            Ty::Date => match self.pick(3) {
                0 => format!(
                    "({} + INTERVAL {} DAY)",
                    self.expr(Ty::Date, scope, depth, b),
                    self.pick(40)
                ),
                1 => format!("CAST({} AS DATE)", self.expr(Ty::Date, scope, depth, b)),
                _ => self.case(Ty::Date, scope, depth, b),
            },
            Ty::Bool => match self.pick(11) {
                0 => {
                    let t = TYPES[self.pick(4)];
                    let op = ["=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM"][self.pick(7)];
                    format!(
                        "({} {op} {})",
                        self.expr(t, scope, depth, b),
                        self.expr(t, scope, depth, b)
                    )
                }
                1 => format!(
                    "({} {} {})",
                    self.expr(Ty::Bool, scope, depth, b),
                    ["AND", "OR"][self.pick(2)],
                    self.expr(Ty::Bool, scope, depth, b)
                ),
                2 => format!("(NOT {})", self.expr(Ty::Bool, scope, depth, b)),
                3 => format!(
                    "({} IS {}NULL)",
                    self.expr_of(&TYPES, scope, depth, b),
                    ["", "NOT "][self.pick(2)]
                ),
                4 => {
                    let t = TYPES[self.pick(4)];
                    let list: Vec<String> = (0..1 + self.pick(4)).map(|_| self.literal(t)).collect();
                    format!(
                        "({} {}IN ({}))",
                        self.expr(t, scope, depth, b),
                        ["", "NOT "][self.pick(2)],
                        list.join(", ")
                    )
                }
                5 => format!(
                    "({} BETWEEN {} AND {})",
                    self.expr(Ty::Int, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b),
                    self.expr(Ty::Int, scope, depth, b)
                ),
                6 => format!(
                    "({} {}LIKE {})",
                    self.expr(Ty::Str, scope, depth, b),
                    ["", "NOT ", "I"][self.pick(3)],
                    self.expr(Ty::Str, scope, depth, b)
                ),
                7 if depth < 2 => self.exists(scope, depth),
                8 if depth < 2 => self.in_subquery(scope, depth),
                _ => self.expr(Ty::Bool, scope, depth, b),
            },
        }
    }

    /// An expression of one of the types `choices`.
    fn expr_of(&mut self, choices: &[Ty], scope: &[Column], depth: usize, budget: usize) -> String {
        let ty = choices[self.pick(choices.len())];
        self.expr(ty, scope, depth, budget)
    }

    fn case(&mut self, ty: Ty, scope: &[Column], depth: usize, budget: usize) -> String {
        let when = self.expr(Ty::Bool, scope, depth, budget);
        let then = self.expr(ty, scope, depth, budget);
        let otherwise = self.expr(ty, scope, depth, budget);
        format!("(CASE WHEN {when} THEN {then} ELSE {otherwise} END)")
    }

    /// A one-row subquery of type `ty`, correlated with `outer` half of the time.
    fn scalar_subquery(&mut self, ty: Ty, outer: &[Column], depth: usize) -> String {
        let (from, scope) = self.table_ref(depth + 1);
        let agg = self.aggregate(ty, &scope, depth + 1);
        let filter = self.correlation(outer, &scope, depth);
        format!("(SELECT {agg} FROM {from}{filter})")
    }

    fn exists(&mut self, outer: &[Column], depth: usize) -> String {
        let (from, scope) = self.table_ref(depth + 1);
        let filter = self.correlation(outer, &scope, depth);
        format!("({}EXISTS (SELECT 1 FROM {from}{filter}))", ["", "NOT "][self.pick(2)])
    }

    fn in_subquery(&mut self, outer: &[Column], depth: usize) -> String {
        let (from, scope) = self.table_ref(depth + 1);
        let inner = self.column(&scope, None);
        let lhs = self.expr(inner.ty, outer, depth + 1, 1);
        let filter = self.correlation(outer, &scope, depth);
        let not = ["", "NOT "][self.pick(2)];
        format!("({lhs} {not}IN (SELECT {} FROM {from}{filter}))", inner.sql)
    }

    /// A WHERE clause tying a subquery's `inner` columns to the `outer` ones (sometimes).
    fn correlation(&mut self, outer: &[Column], inner: &[Column], depth: usize) -> String {
        let mut both = outer.to_vec();
        both.extend(inner.iter().cloned());
        match self.pick(3) {
            0 => String::new(),
            1 => match self.equi_pair(inner, outer) {
                Some(eq) => format!(" WHERE {eq}"),
                None => String::new(),
            },
            _ => format!(" WHERE {}", self.expr(Ty::Bool, &both, depth + 1, 2)),
        }
    }

    /// An aggregate call giving `ty`.
    fn aggregate(&mut self, ty: Ty, scope: &[Column], depth: usize) -> String {
        let distinct = ["", "DISTINCT "][usize::from(self.chance(20))];
        match ty {
            Ty::Int => match self.pick(4) {
                0 => "count(*)".into(),
                1 => format!("count({distinct}{})", self.expr_of(&TYPES, scope, depth, 1)),
                2 => format!("sum({distinct}{})", self.expr(Ty::Int, scope, depth, 1)),
                _ => format!(
                    "{}({})",
                    ["min", "max"][self.pick(2)],
                    self.expr(Ty::Int, scope, depth, 1)
                ),
            },
            Ty::Float => format!(
                "{}({distinct}{})",
                ["avg", "sum", "stddev_samp"][self.pick(3)],
                self.expr(Ty::Float, scope, depth, 1)
            ),
            Ty::Str => match self.pick(2) {
                0 => format!(
                    "{}({})",
                    ["min", "max"][self.pick(2)],
                    self.expr(Ty::Str, scope, depth, 1)
                ),
                _ => format!("string_agg({distinct}{}, ',')", self.expr(Ty::Str, scope, depth, 1)),
            },
            Ty::Date => format!(
                "{}({})",
                ["min", "max"][self.pick(2)],
                self.expr(Ty::Date, scope, depth, 1)
            ),
            Ty::Bool => format!(
                "{}({})",
                ["bool_and", "bool_or"][self.pick(2)],
                self.expr(Ty::Bool, scope, depth, 1)
            ),
        }
    }

    /// A window function giving `ty`.
    fn window(&mut self, ty: Ty, scope: &[Column], depth: usize) -> String {
        let partition = self.column(scope, None).sql;
        let order = self.column(scope, None).sql;
        let over = match self.pick(3) {
            0 => format!("PARTITION BY {partition} ORDER BY {order}"),
            1 => format!(
                "ORDER BY {order} ROWS BETWEEN {} PRECEDING AND CURRENT ROW",
                self.pick(3)
            ),
            _ => format!("PARTITION BY {partition}"),
        };
        let call = match ty {
            Ty::Int => ["row_number()", "rank()", "dense_rank()", "count(*)"][self.pick(4)].to_string(),
            Ty::Float => format!("avg({})", self.expr(Ty::Float, scope, depth, 1)),
            other => format!(
                "{}({})",
                ["first_value", "last_value", "min"][self.pick(3)],
                self.expr(other, scope, depth, 1)
            ),
        };
        if ty != Ty::Int && self.chance(30) {
            return format!("lag({}, 1) OVER (ORDER BY {order})", self.expr(ty, scope, depth, 1));
        }
        format!("{call} OVER ({over})")
    }
}
