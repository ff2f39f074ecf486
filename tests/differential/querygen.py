"""A grammar-based generator of random, valid and deterministic SQL queries.

`QueryGen(rng, tables).query()` returns a `Query`: the SQL text and whether its ORDER BY makes
the row order total (then results are compared in order, otherwise as multisets).

What it produces: projections with arithmetic, CASE, COALESCE/NULLIF, string, date and numeric
functions; WHERE with AND/OR/NOT, IS [NOT] NULL, [NOT] IN lists, BETWEEN, LIKE/ILIKE, IS
DISTINCT FROM; inner/left/right/full/cross/comma joins (equi keys plus extra conditions);
GROUP BY (columns and expressions) with count/sum/avg/min/max/count(DISTINCT)/bool_and/median,
HAVING, global aggregates; window functions (row_number, rank, dense_rank, ntile, sum/count/
avg/min/max over partitions and orders, lag/lead, first_value, ROWS frames); scalar, IN,
NOT IN, EXISTS, NOT EXISTS and quantified subqueries, correlated or not; UNION [ALL], EXCEPT
[ALL], INTERSECT [ALL]; DISTINCT; ORDER BY + LIMIT/OFFSET; CTEs and derived tables.

Determinism rules the generator keeps, so that any difference is a real one:
* LIMIT/OFFSET only under an ORDER BY of every output column (ties are identical rows);
* row_number, lag/lead, first_value, ntile and ROWS frames only over an order that is total
  (ending in the unique `id` of every joined table, or every GROUP BY key);
* no order-dependent aggregates (string_agg, first, any_value);
* DOUBLE data are multiples of 0.25 and float literals too, so sums are exact in any order;
* joins whose estimated size exceeds MAX_ROWS take a more selective key (the unique id).

Every column is qualified by its table alias, and every output column is named c0, c1, ...
"""

import datetime
import re

KINDS = ["int", "float", "dec", "str", "date", "bool"]
NUMERIC = ["int", "float", "dec"]

# Estimated result rows above which the generator avoids a join (comparison cost, memory).
MAX_ROWS = 20000

# Distinct values of each join key column in the data (see datagen.py), for size estimates.
KEY_DOMAIN = {"id": None, "k": 7, "i": 101, "b": 1000, "s": 12, "dt": 800, "m": 100000, "d": 16000}

STRINGS = ["a", "b", "ab", "", "%", "x y", "A", "zz", "a_c"]
LIKE_PATTERNS = ["a%", "%b", "%a%", "_", "__%", "a_c", "%", "", "A%", "%\\_%", "x y"]


def has_column(sql):
    """Whether `sql` refers to a column (a constant GROUP BY key would be positional)."""
    return re.search(r"\b[a-z]+[0-9]+\.[a-z]", sql) is not None


class Source:
    """An item of a FROM clause: how to write it, its alias, columns and unique-key columns."""

    def __init__(self, sql, alias, cols, rows, unique=None):
        self.sql = sql
        self.alias = alias
        self.cols = cols  # [(name, kind)]
        self.rows = rows  # estimated row count
        self.unique = unique  # a column whose values are unique and non-NULL, or None

    def of_kind(self, kind):
        return [f"{self.alias}.{n}" for n, k in self.cols if k == kind]


class Ctx:
    """What an expression may refer to."""

    def __init__(self, scope, outer=(), group_keys=None, subqueries=True):
        self.scope = list(scope)
        self.outer = list(outer)  # sources of enclosing queries (correlation)
        self.group_keys = group_keys  # [(sql, kind)] in an aggregated context, else None
        self.subqueries = subqueries


class Query:
    """A generated query: its SQL and whether its rows come in a total order."""

    def __init__(self, sql, ordered):
        self.sql = sql
        self.ordered = ordered


class QueryGen:
    """Random query generator over the tables of one seed (see module doc)."""

    def __init__(self, rng, tables):
        self.rng = rng
        self.tables = tables
        self.alias_n = 0
        self.nesting = 0  # derived tables being generated around the current one
        self.ctes = []  # Sources usable in the current query's FROM clauses

    # ---------------------------------------------------------------- helpers

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, xs):
        return self.rng.choice(xs)

    def new_alias(self, prefix="a"):
        self.alias_n += 1
        return f"{prefix}{self.alias_n}"

    # ---------------------------------------------------------------- literals

    def literal(self, kind):
        r = self.rng
        if self.chance(0.05):
            return {"int": "CAST(NULL AS INTEGER)", "float": "CAST(NULL AS DOUBLE)",
                    "dec": "CAST(NULL AS DECIMAL(9,2))", "str": "CAST(NULL AS VARCHAR)",
                    "date": "CAST(NULL AS DATE)", "bool": "CAST(NULL AS BOOLEAN)"}[kind]
        if kind == "int":
            return str(r.choice([0, 1, 2, 3, 5, 7, 10, 42, -1, -3]))
        if kind == "float":
            return r.choice(["0.5", "1.25", "2.0", "-0.75", "10.0", "0.0"]) + "::DOUBLE"
        if kind == "dec":
            return r.choice(["1.25", "-3.5", "0.01", "100.00", "2"]) + "::DECIMAL(9,2)"
        if kind == "str":
            return "'" + r.choice(STRINGS) + "'"
        if kind == "date":
            day = datetime.date(2024, 1, 1) + datetime.timedelta(days=r.randint(-400, 400))
            return f"DATE '{day.isoformat()}'"
        return r.choice(["true", "false"])

    # ---------------------------------------------------------------- columns

    def column(self, kind, ctx):
        cands = [c for s in ctx.scope for c in s.of_kind(kind)]
        outer = [c for s in ctx.outer for c in s.of_kind(kind)]
        if outer and (not cands or self.chance(0.3)):
            return self.pick(outer)
        if not cands:
            return self.literal(kind)
        return self.pick(cands)

    # ---------------------------------------------------------------- scalar expressions

    def expr(self, kind, ctx, depth=2):
        """A non-aggregate expression of `kind`."""
        if depth <= 0 or self.chance(0.35):
            return self.column(kind, ctx) if self.chance(0.85) else self.literal(kind)
        if kind != "bool" and self.chance(0.12):
            return self.generic(kind, ctx, depth)
        return getattr(self, "expr_" + kind)(ctx, depth - 1)

    def generic(self, kind, ctx, depth):
        """CASE / COALESCE / NULLIF / scalar subquery, for any kind."""
        e = lambda: self.expr(kind, ctx, depth - 1)  # noqa: E731
        roll = self.rng.randint(0, 5)
        if roll == 0:
            return f"CASE WHEN {self.pred(ctx, depth - 1)} THEN {e()} ELSE {e()} END"
        if roll == 1:
            return f"CASE WHEN {self.pred(ctx, depth - 1)} THEN {e()} END"
        if roll == 2:
            return f"COALESCE({e()}, {e()})"
        if roll == 3 and kind != "bool":
            return f"NULLIF({e()}, {self.literal(kind)})"
        if roll == 4 and ctx.subqueries and depth >= 1:
            return self.scalar_subquery(kind, ctx)
        return f"CASE {e()} WHEN {self.literal(kind)} THEN {e()} WHEN {self.literal(kind)} THEN {e()} ELSE {e()} END"

    def expr_int(self, ctx, d):
        e = lambda: self.expr("int", ctx, d)  # noqa: E731
        roll = self.rng.randint(0, 15)
        if roll <= 2:
            return f"({e()} {self.pick(['+', '-'])} {e()})"
        if roll == 3:
            return f"({e()} * {self.pick(['2', '3', '-1', '10'])})"
        if roll == 4:
            return f"({e()} % {self.pick(['3', '5', '-4', '7'])})"
        if roll == 5:
            return f"abs({e()})"
        if roll == 6:
            return f"length({self.expr('str', ctx, d)})"
        if roll == 7:
            return f"{self.pick(['year', 'month', 'day', 'dayofweek'])}({self.expr('date', ctx, d)})"
        if roll == 8:
            return f"CAST({self.expr(self.pick(['float', 'dec']), ctx, d)} AS INTEGER)"
        if roll == 9:
            return f"(-({e()}))"
        if roll == 10:
            return f"{self.pick(['greatest', 'least'])}({e()}, {e()})"
        if roll == 11:
            return f"({self.expr('date', ctx, d)} - {self.expr('date', ctx, d)})"
        if roll == 12:
            return f"strpos({self.expr('str', ctx, d)}, '{self.pick(['a', 'b', ''])}')"
        if roll == 13:
            return f"sign({self.expr(self.pick(NUMERIC), ctx, d)})"
        if roll == 14:
            return f"({e()} // {self.pick(['2', '3', '-2'])})"
        return f"({e()} * {e()})"

    def expr_float(self, ctx, d):
        num = lambda: self.expr(self.pick(NUMERIC), ctx, d)  # noqa: E731
        f = lambda: self.expr("float", ctx, d)  # noqa: E731
        roll = self.rng.randint(0, 10)
        if roll <= 2:
            return f"({f()} {self.pick(['+', '-', '*'])} {num()})"
        if roll == 3:
            return f"({num()} / {self.pick(['2', '4', '-8', '0.5::DOUBLE'])})"
        if roll == 4:
            return f"abs({f()})"
        if roll == 5:
            return f"round({f()}, {self.pick(['0', '1'])})"
        if roll == 6:
            return f"{self.pick(['floor', 'ceil'])}({f()})"
        if roll == 7:
            return f"CAST({self.expr(self.pick(['int', 'dec']), ctx, d)} AS DOUBLE)"
        if roll == 8:
            return f"({self.expr('int', ctx, d)} / {self.expr('int', ctx, d)})"
        if roll == 9:
            return f"(-({f()}))"
        return f"{self.pick(['greatest', 'least'])}({f()}, {f()})"

    def expr_dec(self, ctx, d):
        m = lambda: self.expr("dec", ctx, d)  # noqa: E731
        roll = self.rng.randint(0, 8)
        if roll <= 2:
            return f"({m()} {self.pick(['+', '-'])} {self.pick([m(), self.expr('int', ctx, d)])})"
        if roll == 3:
            return f"({m()} * {self.pick(['2', '-1', '0.5'])})"
        if roll == 4:
            return f"abs({m()})"
        if roll == 5:
            return f"round({m()}, {self.pick(['0', '1'])})"
        if roll == 6:
            return f"CAST({self.expr('int', ctx, d)} AS DECIMAL(9,2))"
        if roll == 7:
            return f"{self.pick(['floor', 'ceil'])}({m()})"
        return f"(-({m()}))"

    def expr_str(self, ctx, d):
        s = lambda: self.expr("str", ctx, d)  # noqa: E731
        roll = self.rng.randint(0, 13)
        if roll == 0:
            return f"upper({s()})"
        if roll == 1:
            return f"lower({s()})"
        if roll == 2:
            return f"({s()} || {s()})"
        if roll == 3:
            return f"concat({s()}, {s()})"
        if roll == 4:
            return f"substr({s()}, {self.pick(['1', '2', '0', '-1'])}, {self.pick(['1', '2', '5'])})"
        if roll == 5:
            return f"replace({s()}, '{self.pick(['a', 'b', ''])}', '{self.pick(['x', 'yy', ''])}')"
        if roll == 6:
            return f"trim({s()})"
        if roll == 7:
            return f"{self.pick(['left', 'right'])}({s()}, {self.pick(['1', '2', '-1', '0'])})"
        if roll == 8:
            return f"reverse({s()})"
        if roll == 9:
            return f"lpad({s()}, {self.pick(['3', '1', '0'])}, '*')"
        if roll == 10:
            return f"CAST({self.expr(self.pick(['int', 'dec', 'date', 'bool']), ctx, d)} AS VARCHAR)"
        if roll == 11:
            return f"repeat({s()}, {self.pick(['0', '2'])})"
        if roll == 12:
            return f"split_part({s()}, '{self.pick(['a', ' ', '_'])}', {self.pick(['1', '2'])})"
        return f"concat_ws('-', {s()}, {s()})"

    def expr_date(self, ctx, d):
        t = lambda: self.expr("date", ctx, d)  # noqa: E731
        roll = self.rng.randint(0, 3)
        if roll == 0:
            return f"({t()} + {self.pick(['1', '30', '-7'])})"
        if roll == 1:
            return f"({t()} - {self.pick(['1', '365'])})"
        if roll == 2:
            return f"{self.pick(['greatest', 'least'])}({t()}, {t()})"
        return f"make_date({self.pick(['2023', '2024'])}, {self.pick(['1', '2', '12'])}, {self.pick(['1', '28'])})"

    def expr_bool(self, ctx, d):
        return self.pred(ctx, d)

    # ---------------------------------------------------------------- predicates

    def pred(self, ctx, depth=2):
        """A boolean expression (may contain subqueries when ctx allows)."""
        r = self.rng.randint(0, 21)
        kind = self.pick(KINDS[:5])
        e = lambda k=kind: self.expr(k, ctx, depth - 1)  # noqa: E731
        if depth > 0 and r <= 2:
            op = self.pick(["AND", "OR"])
            return f"({self.pred(ctx, depth - 1)} {op} {self.pred(ctx, depth - 1)})"
        if depth > 0 and r == 3:
            return f"(NOT {self.pred(ctx, depth - 1)})"
        if r <= 8:
            if self.chance(0.3):
                k1, k2 = self.pick(NUMERIC), self.pick(NUMERIC)
                return f"({self.expr(k1, ctx, depth - 1)} {self.pick(['=', '<', '>=', '<>'])} {self.expr(k2, ctx, depth - 1)})"
            return f"({e()} {self.pick(['=', '<>', '<', '<=', '>', '>='])} {e()})"
        if r == 9:
            return f"({e()} IS {self.pick(['', 'NOT '])}NULL)"
        if r == 10:
            items = ", ".join(self.literal(kind) for _ in range(self.rng.randint(1, 4)))
            return f"({e()} {self.pick(['IN', 'NOT IN'])} ({items}))"
        if r == 11 and kind != "bool":
            lo, hi = self.literal(kind), self.literal(kind)
            return f"({e()} {self.pick(['BETWEEN', 'NOT BETWEEN'])} {lo} AND {hi})"
        if r == 12:
            op = self.pick(["LIKE", "NOT LIKE", "ILIKE"])
            return f"({self.expr('str', ctx, depth - 1)} {op} '{self.pick(LIKE_PATTERNS)}')"
        if r == 13:
            return f"({e()} IS {self.pick(['', 'NOT '])}DISTINCT FROM {e()})"
        if r == 14:
            return self.column("bool", ctx)
        if r == 15:
            return f"{self.pick(['starts_with', 'contains'])}({self.expr('str', ctx, depth - 1)}, '{self.pick(['a', 'b', ''])}')"
        if r == 16:
            return f"({self.expr('bool', ctx, depth - 1)} IS {self.pick(['TRUE', 'NOT TRUE', 'FALSE', 'NOT FALSE'])})"
        if ctx.subqueries and depth > 0:
            return self.subquery_pred(ctx)
        return f"({e()} = {e()})"

    # ---------------------------------------------------------------- subqueries

    def sub_source(self):
        """A fresh aliased base table for a subquery."""
        t = self.pick(self.tables)
        alias = self.new_alias("s")
        return Source(f"{t.name} AS {alias}", alias, t.columns, t.rows, "id")

    def correlation(self, inner, ctx):
        """Optional correlation conjunct between inner source and the enclosing scope."""
        if not self.chance(0.6):
            return None
        kind = self.pick(["int", "int", "str", "date"])
        outer_cols = [c for s in ctx.scope for c in s.of_kind(kind)]
        if not outer_cols:
            return None
        inner_col = self.pick(inner.of_kind(kind))
        return f"{inner_col} {self.pick(['=', '=', '=', '<', '<>'])} {self.pick(outer_cols)}"

    def sub_where(self, inner, ctx):
        inner_ctx = Ctx([inner], outer=ctx.scope + ctx.outer, subqueries=len(ctx.outer) == 0)
        conds = []
        corr = self.correlation(inner, ctx)
        if corr:
            conds.append(corr)
        if self.chance(0.5):
            conds.append(self.pred(Ctx([inner], subqueries=False), 1))
        if self.chance(0.15):
            conds.append(self.pred(inner_ctx, 1))
        return (" WHERE " + " AND ".join(conds)) if conds else ""

    def scalar_subquery(self, kind, ctx):
        inner = self.sub_source()
        where = self.sub_where(inner, ctx)
        ictx = Ctx([inner], subqueries=False)
        if kind == "int":
            agg = self.pick([f"count(*)", f"count({self.expr('int', ictx, 1)})",
                             f"sum({inner.alias}.i)", f"max({self.expr('int', ictx, 1)})"])
        elif kind == "float":
            agg = self.pick([f"avg({self.expr('int', ictx, 1)})", f"sum({inner.alias}.d)",
                             f"min({self.expr('float', ictx, 1)})"])
        elif kind == "bool":
            agg = f"bool_or({self.pred(ictx, 1)})"
        else:
            agg = f"{self.pick(['min', 'max'])}({self.expr(kind, ictx, 1)})"
        return f"(SELECT {agg} FROM {inner.sql}{where})"

    def subquery_pred(self, ctx):
        inner = self.sub_source()
        where = self.sub_where(inner, ctx)
        roll = self.rng.randint(0, 5)
        if roll <= 1:
            return f"({self.pick(['EXISTS', 'NOT EXISTS'])} (SELECT 1 FROM {inner.sql}{where}))"
        kind = self.pick(["int", "int", "str", "date", "dec"])
        outer_e = self.expr(kind, Ctx(ctx.scope, ctx.outer, subqueries=False), 1)
        inner_e = self.expr(kind, Ctx([inner], subqueries=False), 1)
        if roll <= 3:
            op = self.pick(["IN", "NOT IN"])
            return f"({outer_e} {op} (SELECT {inner_e} FROM {inner.sql}{where}))"
        if roll == 4:
            op = self.pick(["=", "<", ">=", "<>"])
            return f"({outer_e} {op} {self.pick(['ANY', 'ALL'])} (SELECT {inner_e} FROM {inner.sql}{where}))"
        op = self.pick(["=", "<", ">="])
        return f"({outer_e} {op} (SELECT {self.pick(['min', 'max'])}({inner_e}) FROM {inner.sql}{where}))"

    # ---------------------------------------------------------------- aggregates

    def agg_call(self, kind, ctx):
        """An aggregate function call returning `kind`; its argument is a plain expression."""
        plain = Ctx(ctx.scope, subqueries=False)
        if kind == "int":
            return self.pick([
                "count(*)",
                f"count({self.expr(self.pick(KINDS), plain, 1)})",
                f"count(DISTINCT {self.expr(self.pick(KINDS[:5]), plain, 1)})",
                f"sum({self.expr('int', plain, 1)})",
                f"sum(DISTINCT {self.expr('int', plain, 1)})",
                f"{self.pick(['min', 'max'])}({self.expr('int', plain, 1)})",
                f"count_if({self.pred(plain, 1)})",
            ])
        if kind == "float":
            return self.pick([
                f"avg({self.expr(self.pick(NUMERIC), plain, 1)})",
                f"sum({self.expr('float', plain, 1)})",
                f"{self.pick(['min', 'max'])}({self.expr('float', plain, 1)})",
                f"median({self.expr(self.pick(['int', 'float']), plain, 1)})",
                f"avg(DISTINCT {self.expr('int', plain, 1)})",
            ])
        if kind == "dec":
            return self.pick([
                f"sum({self.expr('dec', plain, 1)})",
                f"{self.pick(['min', 'max'])}({self.expr('dec', plain, 1)})",
            ])
        if kind == "bool":
            return f"{self.pick(['bool_and', 'bool_or'])}({self.pred(plain, 1)})"
        return f"{self.pick(['min', 'max'])}({self.expr(kind, plain, 1)})"

    def agg_expr(self, kind, ctx, depth=1):
        """An expression over aggregates and GROUP BY keys."""
        keys = [k for k, kk in ctx.group_keys if kk == kind]
        if depth <= 0 or self.chance(0.6):
            if keys and self.chance(0.3):
                return self.pick(keys)
            return self.agg_call(kind, ctx)
        if kind == "bool":
            return self.agg_pred(ctx, depth)
        roll = self.rng.randint(0, 3)
        if roll == 0 and kind in ("int", "float", "dec"):
            return f"({self.agg_expr(kind, ctx, depth - 1)} {self.pick(['+', '-', '*'])} {self.agg_expr(self.pick(['int', kind]), ctx, depth - 1)})"
        if roll == 1:
            return f"COALESCE({self.agg_expr(kind, ctx, depth - 1)}, {self.literal(kind)})"
        if roll == 2:
            return f"CASE WHEN {self.agg_pred(ctx, depth - 1)} THEN {self.agg_expr(kind, ctx, depth - 1)} ELSE {self.literal(kind)} END"
        return self.agg_call(kind, ctx)

    def agg_pred(self, ctx, depth=1):
        roll = self.rng.randint(0, 4)
        if depth > 0 and roll == 0:
            return f"({self.agg_pred(ctx, depth - 1)} {self.pick(['AND', 'OR'])} {self.agg_pred(ctx, depth - 1)})"
        kind = self.pick(["int", "int", "float", "dec", "str", "date"])
        if roll == 1:
            return f"({self.agg_expr(kind, ctx, 0)} IS {self.pick(['', 'NOT '])}NULL)"
        return f"({self.agg_expr(kind, ctx, 0)} {self.pick(['=', '<>', '<', '>', '>='])} {self.literal(kind) if self.chance(0.6) else self.agg_expr(kind, ctx, 0)})"

    # ---------------------------------------------------------------- windows

    def window(self, kind, ctx, total_keys, agg):
        """A window function call of `kind`; `total_keys` make an order total (or None)."""
        val = (lambda k: self.agg_expr(k, ctx, 0)) if agg else (lambda k: self.expr(k, ctx, 1))
        part_kind = self.pick(["int", "str", "bool", "date"])
        part = ""
        if self.chance(0.7):
            part = f"PARTITION BY {val(part_kind)}"
        order_kind = self.pick(["int", "float", "str", "date", "dec"])
        loose_order = f"ORDER BY {val(order_kind)}{self.pick(['', ' DESC', ' NULLS FIRST', ' DESC NULLS LAST'])}"
        total = None
        if total_keys:
            total = "ORDER BY " + ", ".join([val(order_kind) + self.pick(["", " DESC"])] + total_keys)
        fn = None
        if kind == "int":
            opts = [f"rank() OVER ({part} {loose_order})", f"dense_rank() OVER ({part} {loose_order})",
                    f"count(*) OVER ({part})", f"sum({val('int')}) OVER ({part})",
                    f"sum({val('int')}) OVER ({part} {loose_order})",
                    f"count({val('int')}) OVER ({part} {loose_order})"]
            if total:
                opts += [f"row_number() OVER ({part} {total})", f"ntile(3) OVER ({part} {total})",
                         f"lag({val('int')}) OVER ({part} {total})",
                         f"lead({val('int')}, 2, -1) OVER ({part} {total})",
                         f"sum({val('int')}) OVER ({part} {total} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"]
            fn = self.pick(opts)
        elif kind in ("float", "dec"):
            opts = [f"avg({val('int')}) OVER ({part})", f"sum({val(kind)}) OVER ({part} {loose_order})",
                    f"{self.pick(['min', 'max'])}({val(kind)}) OVER ({part})"]
            if total:
                opts += [f"lag({val(kind)}, 1) OVER ({part} {total})",
                         f"{self.pick(['min', 'max', 'sum'])}({val(kind)}) OVER ({part} {total} ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING)"]
            fn = self.pick(opts)
        else:
            opts = [f"{self.pick(['min', 'max'])}({val(kind)}) OVER ({part})",
                    f"{self.pick(['min', 'max'])}({val(kind)}) OVER ({part} {loose_order})"]
            if total:
                opts += [f"first_value({val(kind)}) OVER ({part} {total})",
                         f"lag({val(kind)}) OVER ({part} {total})"]
            fn = self.pick(opts)
        return fn

    # ---------------------------------------------------------------- FROM clause

    def base_source(self):
        roll = self.rng.random()
        if self.ctes and roll < 0.25:
            c = self.pick(self.ctes)
            alias = self.new_alias("x")
            return Source(f"{c.sql} AS {alias}", alias, c.cols, c.rows, None)
        if roll < 0.33 and self.nesting < 2 and self.alias_n < 30:
            sig = [self.pick(KINDS) for _ in range(self.rng.randint(1, 3))]
            self.nesting += 1
            sql, _ = self.select(sig, outer=())
            self.nesting -= 1
            alias = self.new_alias("d")
            cols = [(f"c{j}", k) for j, k in enumerate(sig)]
            return Source(f"({sql}) AS {alias}", alias, cols, self.last_rows, None)
        t = self.pick(self.tables)
        alias = self.new_alias("a")
        return Source(f"{t.name} AS {alias}", alias, t.columns, t.rows, "id")

    def join_key(self, left_sources, right):
        """An equi-join condition between `right` and one of `left_sources`, with its estimated
        selectivity divisor (rows = l * r / divisor)."""
        opts = []
        for ls in left_sources:
            for ln, lk in ls.cols:
                for rn, rk in right.cols:
                    if lk == rk and lk != "bool":
                        opts.append((ls, ln, rn))
        if not opts:
            return None, 1
        # Prefer the classic keys
        pref = [o for o in opts if o[1] == o[2] and o[1] in ("k", "i", "id", "s", "dt")]
        if pref and self.chance(0.8):
            opts = pref
        ls, ln, rn = self.pick(opts)
        dom = KEY_DOMAIN.get(ln) or KEY_DOMAIN.get(rn)
        if ln == "id" or rn == "id":
            dom = max(ls.rows, right.rows, 1)
        return f"{ls.alias}.{ln} = {right.alias}.{rn}", (dom or 10)

    def from_clause(self, outer):
        """FROM text and its sources."""
        first = self.base_source()
        sources = [first]
        text = first.sql
        est = max(first.rows, 1)
        n = self.pick([1, 1, 1, 2, 2, 2, 3])
        for j in range(n - 1):
            right = self.base_source()
            kinds = ["JOIN", "JOIN", "LEFT JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"]
            if j == n - 2:
                # A comma binds looser than JOIN: a later ON could not see the tables before it.
                kinds.append(",")
            jt = self.pick(kinds)
            cond, div = self.join_key(sources, right)
            if jt in ("CROSS JOIN", ",") or cond is None:
                if est * max(right.rows, 1) > MAX_ROWS:
                    continue
                if jt not in ("CROSS JOIN", ","):
                    jt = "CROSS JOIN"
                text += f" {jt} {right.sql}" if jt != "," else f", {right.sql}"
                est *= max(right.rows, 1)
            else:
                new_est = est * max(right.rows, 1) / div
                if new_est > MAX_ROWS:
                    continue
                if self.chance(0.25):
                    both = Ctx(sources + [right], subqueries=False)
                    cond += f" AND {self.pred(both, 1)}"
                elif self.chance(0.05) and ("i", "int") in right.cols and ("i", "int") in sources[0].cols:
                    cond = f"{sources[0].alias}.i < {right.alias}.i AND {cond}"
                text += f" {jt} {right.sql} ON {cond}"
                est = max(new_est, est if jt in ("LEFT JOIN", "FULL JOIN") else 0)
            sources.append(right)
        return text, sources, est

    # ---------------------------------------------------------------- SELECT

    def select(self, sig, outer=(), top=False):
        """A SELECT producing columns of kinds `sig`; returns (sql, ordered)."""
        from_sql, sources, est = self.from_clause(outer)
        ctx = Ctx(sources, outer)
        where = ""
        if self.chance(0.6):
            where = " WHERE " + self.pred(ctx, 2)
        mode = self.pick(["plain", "plain", "plain", "group", "group", "global"])
        ids = [f"{s.alias}.{s.unique}" for s in sources if s.unique]
        total_keys = ids if len(ids) == len(sources) else None
        items = []
        group = ""
        having = ""
        if mode == "plain":
            for kind in sig:
                if self.chance(0.15):
                    items.append(self.window(kind, ctx, total_keys, agg=False))
                else:
                    items.append(self.expr(kind, ctx, 2))
        else:
            keys = []
            if mode == "group":
                for _ in range(self.rng.randint(1, 3)):
                    kind = self.pick(KINDS)
                    plain = Ctx(sources, subqueries=False)
                    k = self.column(kind, plain) if self.chance(0.7) else self.expr(kind, plain, 1)
                    if not has_column(k) or k in [x for x, _ in keys]:
                        continue
                    keys.append((k, kind))
                if keys:
                    group = " GROUP BY " + ", ".join(k for k, _ in keys)
            actx = Ctx(sources, outer, group_keys=keys)
            total = [k for k, _ in keys] if keys else None
            for kind in sig:
                if self.chance(0.12):
                    items.append(self.window(kind, actx, total, agg=True))
                else:
                    items.append(self.agg_expr(kind, actx, 1))
            if self.chance(0.3):
                having = " HAVING " + self.agg_pred(actx, 1)
        distinct = "DISTINCT " if self.chance(0.1) else ""
        cols = ", ".join(f"{e} AS c{j}" for j, e in enumerate(items))
        sql = f"SELECT {distinct}{cols} FROM {from_sql}{where}{group}{having}"
        self.last_rows = est if mode == "plain" else min(est, 50)
        return sql, False

    def order_by_all(self, n):
        terms = []
        for j in range(1, n + 1):
            terms.append(str(j) + self.pick(["", "", " DESC", " NULLS FIRST", " DESC NULLS LAST"]))
        self.rng.shuffle(terms)
        return " ORDER BY " + ", ".join(terms)

    def query(self):
        """One random top-level query."""
        self.alias_n = 0
        self.ctes = []
        with_sql = ""
        if self.chance(0.15):
            defs = []
            for j in range(self.rng.randint(1, 2)):
                sig = [self.pick(KINDS) for _ in range(self.rng.randint(1, 3))]
                sql, _ = self.select(sig)
                name = f"cte{j}"
                defs.append(f"{name}(" + ", ".join(f"c{i}" for i in range(len(sig))) + f") AS ({sql})")
                cols = [(f"c{i}", k) for i, k in enumerate(sig)]
                self.ctes.append(Source(name, name, cols, self.last_rows, None))
            with_sql = "WITH " + ", ".join(defs) + " "
        sig = [self.pick(KINDS) for _ in range(self.rng.randint(1, 4))]
        if self.chance(0.12):
            a, _ = self.select(sig)
            b, _ = self.select(sig)
            op = self.pick(["UNION", "UNION ALL", "EXCEPT", "INTERSECT", "EXCEPT ALL", "INTERSECT ALL"])
            body = f"({a}) {op} ({b})"
        else:
            body, _ = self.select(sig, top=True)
        ordered = False
        if self.chance(0.3):
            body += self.order_by_all(len(sig))
            ordered = True
            if self.chance(0.6):
                body += f" LIMIT {self.pick([0, 1, 3, 10, 50])}"
                if self.chance(0.3):
                    body += f" OFFSET {self.pick([1, 2, 5])}"
        return Query(with_sql + body, ordered)
