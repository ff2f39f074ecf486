#!/usr/bin/env python3
"""Differential test of rask against DuckDB: random valid queries on random NULL-heavy tables.

    cargo build --release      # or use --rask target/debug/rask (about 4 minutes per 10,000)
    python3 tests/differential/difftest.py --seed 101 --seeds 20 --per-seed 500  # 10,000 queries
    python3 tests/differential/difftest.py --smoke                                # CI: 300 queries

For each seed, datagen.py writes four small tables as Parquet and CSV into a temporary
directory; both engines read the same files through views `t1`..`t4` (`--source csv` reads the
CSV files instead). querygen.py generates the queries (seeded, reproducible). Each query runs
on DuckDB in-process and on the rask binary (`rask -F csv -c "<views>; <query>"`, one process
per query, at most `--workers` at once), and compare.py compares the results.

Outcomes: `agree` (same rows), `both_error` (both engines refuse the query), `mismatch`
(different rows, or only one engine fails, or rask times out) and `explained` (a mismatch
matching an entry of EXPLAINED below: a documented difference, never a rask bug).

The report (counts, most common error messages) goes to <out>/report.md and stdout; each
unexplained mismatch gets a directory <out>/mismatch-<seed>-<n>/ with the query, the data
files, both results and a `repro.sh` running rask on them. Exit status: 1 when a mismatch is
unexplained, 0 otherwise; 0 with a notice when the duckdb package is not installed.
"""

import argparse
import collections
import concurrent.futures
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import compare  # noqa: E402
import datagen  # noqa: E402
import querygen  # noqa: E402
import reduce  # noqa: E402

def _decimal_scales(ddb_rows):
    """Per column, the scale of DuckDB's DECIMAL values (None for other columns)."""
    scales = {}
    for row in ddb_rows or []:
        for i, v in enumerate(row):
            if isinstance(v, Decimal) and v.is_finite():
                scales[i] = max(scales.get(i, 0), -v.as_tuple().exponent)
    return scales


def _agrees_at_duckdb_scale(ddb_rows, rask_rows, ordered):
    """True when rask's rows, with each DECIMAL column rounded (half away from zero) to the
    scale DuckDB gives that column, equal DuckDB's, and some value needed the rounding."""
    if ddb_rows is None or rask_rows is None:
        return False
    scales = _decimal_scales(ddb_rows)
    rounded_any = False
    rounded_rows = []
    for row in rask_rows:
        out = list(row)
        for i, scale in scales.items():
            try:
                value = Decimal(out[i]) if out[i] is not None else None
            except InvalidOperation:
                return False
            if value is not None and -value.as_tuple().exponent > scale:
                out[i] = str(value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP))
                rounded_any = True
        rounded_rows.append(out)
    return rounded_any and compare.rows_equal(ddb_rows, rounded_rows, ordered)[0]


# Documented differences between DuckDB and rask. Each entry: a name, the reason (with where it
# is documented), and `match(outcome)` deciding whether a mismatch is this difference (it sees
# the query, both errors and both results). Keep this tiny and honest: a rask bug is never
# "explained".
EXPLAINED = [
    {
        "name": "integer sums are BIGINT, not HUGEINT",
        "reason": "rask types sum() and count_if() of integers BIGINT and errors on overflow "
                  "(AggFunc::return_type in src/logical/aggregate.rs); DuckDB types them HUGEINT. "
                  "DECIMAL(p,s) * HUGEINT is DECIMAL(38,s) in DuckDB, and a set operation or "
                  "CASE meeting it with another DECIMAL(38,t), t > s, keeps 38 digits by "
                  "dropping scale digits. The results agree once rask's decimals are rounded "
                  "to DuckDB's scale.",
        "match": lambda o: not o.ddb_err and not o.rask_err
        and ("count_if(" in o.sql or "sum(" in o.sql)
        and _agrees_at_duckdb_scale(o.ddb_rows, o.rask_rows, o.ordered),
    },
]


def explain(outcome):
    """The EXPLAINED entry covering this mismatch, or None."""
    for e in EXPLAINED:
        if e["match"](outcome):
            return e
    return None


# ------------------------------------------------------------------------------------- engines


def views_sql(tables, source):
    """CREATE VIEW statements for the tables, reading the chosen files."""
    out = []
    for t in tables:
        path = t.parquet if source == "parquet" else t.csv
        out.append(f"CREATE VIEW {t.name} AS SELECT * FROM '{path}'")
    return out


def run_duckdb(con, sql, timeout):
    """(rows, error) of `sql` on a DuckDB cursor; interrupted after `timeout` seconds."""
    cur = con.cursor()
    timer = threading.Timer(timeout, cur.interrupt)
    timer.start()
    try:
        rows = cur.execute(sql).fetchall()
        return [list(r) for r in rows], None
    except Exception as e:  # noqa: BLE001 - every DuckDB error is an outcome
        return None, f"{type(e).__name__}: {e}"
    finally:
        timer.cancel()
        cur.close()


def parse_csv(text):
    """Rows of rask's CSV output (header dropped): an unquoted empty field is NULL, every other
    field is its text (quotes removed). Python's csv module cannot tell NULL from ''."""
    rows, row, field, quoted, i, n = [], [], [], False, 0, len(text)
    in_quotes = False
    while i < n:
        c = text[i]
        if in_quotes:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    field.append('"')
                    i += 1
                else:
                    in_quotes = False
            else:
                field.append(c)
        elif c == '"':
            in_quotes = quoted = True
        elif c in ",\n":
            row.append("".join(field) if field or quoted else None)
            field, quoted = [], False
            if c == "\n":
                rows.append(row)
                row = []
        elif c != "\r":
            field.append(c)
        i += 1
    if field or quoted or row:
        row.append("".join(field) if field or quoted else None)
        rows.append(row)
    return rows[1:]


def run_rask(rask, script, threads, timeout):
    """(rows, error) of running `script` with the rask binary (CSV output, see parse_csv)."""
    cmd = [rask, "--threads", str(threads), "--no-progress", "-F", "csv", "-c", script]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "TIMEOUT"
    if p.returncode != 0:
        msg = p.stderr.strip() or f"exit status {p.returncode}"
        if p.returncode < 0 or "panicked" in msg:
            msg = "CRASH: " + msg
        return None, msg
    if not p.stdout:
        return None, "no output"
    return parse_csv(p.stdout), None


# ------------------------------------------------------------------------------------- running


class Outcome:
    """The result of one query."""

    def __init__(self, seed, n, sql, ordered, status, detail="", ddb_err=None, rask_err=None,
                 ddb_rows=None, rask_rows=None, explained=None):
        self.seed, self.n, self.sql, self.ordered = seed, n, sql, ordered
        self.status, self.detail = status, detail
        self.ddb_err, self.rask_err = ddb_err, rask_err
        self.ddb_rows, self.rask_rows = ddb_rows, rask_rows
        self.explained = explained


def check_one(args, con, views, seed, n, query):
    """Runs one query on both engines and classifies the result."""
    ddb_rows, ddb_err = run_duckdb(con, query.sql, args.timeout)
    rask_rows, rask_err = run_rask(args.rask, "; ".join(views + [query.sql]) + ";", args.threads,
                                   args.timeout)
    if ddb_err and rask_err and not rask_err.startswith(("CRASH", "TIMEOUT")):
        return Outcome(seed, n, query.sql, query.ordered, "both_error", ddb_err=ddb_err,
                       rask_err=rask_err)
    if ddb_err or rask_err:
        detail = "duckdb error" if ddb_err and not rask_err else "rask error"
        status = "mismatch"
    else:
        ok, detail = compare.rows_equal(ddb_rows, rask_rows, query.ordered)
        status = "agree" if ok else "mismatch"
    out = Outcome(seed, n, query.sql, query.ordered, status, detail, ddb_err, rask_err,
                  ddb_rows, rask_rows)
    if status == "mismatch":
        e = explain(out)
        if e:
            out.status, out.explained = "explained", e["name"]
    return out


def write_reproducer(out_dir, tables, views, o, source):
    """A directory with the query, the data files, both results and repro.sh."""
    d = os.path.join(out_dir, f"mismatch-{o.seed}-{o.n}")
    os.makedirs(d, exist_ok=True)
    local_views = []
    for t in tables:
        src = t.parquet if source == "parquet" else t.csv
        shutil.copy(src, os.path.join(d, os.path.basename(src)))
        local_views.append(f"CREATE VIEW {t.name} AS SELECT * FROM '{os.path.basename(src)}'")
    script = ";\n".join(local_views + [o.sql]) + ";\n"
    with open(os.path.join(d, "query.sql"), "w") as f:
        f.write(script)
    write_results(d, o)
    with open(os.path.join(d, "repro.sh"), "w") as f:
        f.write("#!/bin/sh\n# Run from this directory; compare with duckdb < query.sql\n"
                "cd \"$(dirname \"$0\")\" && ${RASK:-rask} -f query.sql\n")
    os.chmod(os.path.join(d, "repro.sh"), 0o755)
    return d


def write_results(d, o):
    """result.txt: both engines' errors and rows."""
    with open(os.path.join(d, "result.txt"), "w") as f:
        f.write(f"seed {o.seed} query {o.n} ordered={o.ordered}\n{o.detail}\n\n")
        f.write(f"duckdb error: {o.ddb_err}\nrask error: {o.rask_err}\n\n")
        f.write(f"duckdb rows ({len(o.ddb_rows or [])}):\n")
        for r in (o.ddb_rows or [])[:50]:
            f.write(f"  {r!r}\n")
        f.write(f"rask rows ({len(o.rask_rows or [])}):\n")
        for r in (o.rask_rows or [])[:50]:
            f.write(f"  {r!r}\n")


def shrink(args, duckdb, d, tables, o):
    """Reduces the data in mismatch directory `d` (see reduce.py) and rewrites its results."""
    names = [t.name for t in tables]
    views = [f"CREATE VIEW {t} AS SELECT * FROM '{os.path.join(d, t + '.parquet')}'" for t in names]
    con = duckdb.connect()
    con.execute("SET threads = 1")
    last = [o]

    def still_fails():
        for v in views:
            con.execute(v.replace("CREATE VIEW", "CREATE OR REPLACE VIEW"))
        r = check_one(args, con, views, o.seed, o.n, querygen.Query(o.sql, o.ordered))
        if r.status == "mismatch":
            last[0] = r
            return True
        return False

    kept = reduce.reduce_rows(con, d, names, still_fails, budget=args.reduce)
    con.close()
    r = last[0]
    r.detail += f" (data reduced to {kept} rows)"
    write_results(d, r)


def run_seed(args, seed, duckdb, pool, counts, errors, mismatches, out_dir):
    """Generates data and queries of one seed, runs them, updates the tallies."""
    tmp = tempfile.mkdtemp(prefix=f"difftest-{seed}-")
    try:
        con = duckdb.connect()
        con.execute("SET threads = 1")
        tables = datagen.make_tables(seed, tmp, con)
        views = views_sql(tables, args.source)
        for v in views:
            con.execute(v)
        gen = querygen.QueryGen(random.Random(seed), tables)
        queries = [gen.query() for _ in range(args.per_seed)]
        counts["generated"] += len(queries)
        futures = [pool.submit(check_one, args, con, views, seed, n, q) for n, q in enumerate(queries)]
        for fut in futures:
            o = fut.result()
            counts["run"] += 1
            counts[o.status] += 1
            if o.status == "both_error":
                errors[first_line(o.ddb_err)] += 1
            elif o.status == "explained":
                counts["explained:" + o.explained] += 1
            elif o.status == "mismatch":
                d = write_reproducer(out_dir, tables, views, o, args.source)
                if args.reduce and args.source == "parquet":
                    shrink(args, duckdb, d, tables, o)
                mismatches.append((o, d))
                print(f"MISMATCH seed {seed} query {o.n}: {o.detail} -> {d}", flush=True)
        con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def default_rask():
    """target/release/rask when built, else target/debug/rask."""
    release = os.path.join(ROOT, "target", "release", "rask")
    return release if os.path.exists(release) else os.path.join(ROOT, "target", "debug", "rask")


def first_line(msg):
    line = (msg or "").splitlines()[0] if msg else ""
    return line[:120]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="first seed")
    ap.add_argument("--seeds", type=int, default=1, help="number of seeds (data sets)")
    ap.add_argument("--per-seed", type=int, default=500, help="queries per seed")
    ap.add_argument("--count", type=int, help="total queries (sets --seeds from --per-seed)")
    ap.add_argument("--smoke", action="store_true", help="CI mode: 300 queries over 3 seeds")
    ap.add_argument("--rask", default=default_rask(),
                    help="the rask binary (default: target/release/rask, else target/debug/rask)")
    ap.add_argument("--source", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="rask --threads")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "difftest"))
    ap.add_argument("--reduce", type=int, default=120,
                    help="attempts to shrink each mismatch's data (0: keep the full tables)")
    ap.add_argument("--print-queries", action="store_true", help="only print the generated SQL")
    args = ap.parse_args()
    if args.smoke:
        args.seeds, args.per_seed = 3, 100
    if args.count:
        args.seeds = max(1, -(-args.count // args.per_seed))
        args.per_seed = min(args.per_seed, args.count)
    try:
        import duckdb
    except ImportError:
        print("difftest: the duckdb Python package is not installed; skipping (pip install duckdb)")
        return 0
    if args.print_queries:
        con = duckdb.connect()
        tmp = tempfile.mkdtemp(prefix="difftest-print-")
        for seed in range(args.seed, args.seed + args.seeds):
            gen = querygen.QueryGen(random.Random(seed), datagen.make_tables(seed, tmp, con))
            for n in range(args.per_seed):
                print(f"-- seed {seed} query {n}\n{gen.query().sql};")
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    if not os.path.exists(args.rask):
        print(f"difftest: no rask binary at {args.rask} (cargo build --release)", file=sys.stderr)
        return 2
    out_dir = os.path.abspath(args.out)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    counts = collections.Counter()
    errors = collections.Counter()
    mismatches = []
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        for seed in range(args.seed, args.seed + args.seeds):
            run_seed(args, seed, duckdb, pool, counts, errors, mismatches, out_dir)
            print(f"seed {seed}: {dict(counts)}", flush=True)
    elapsed = time.time() - started
    report = render_report(args, counts, errors, mismatches, elapsed)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(report)
    print(report)
    return 1 if counts["mismatch"] else 0


def render_report(args, counts, errors, mismatches, elapsed):
    lines = [
        "# rask vs DuckDB differential run",
        "",
        f"seeds {args.seed}..{args.seed + args.seeds - 1}, {args.per_seed} queries each, "
        f"source {args.source}, rask --threads {args.threads}, {elapsed:.0f} s",
        "",
        f"- generated: {counts['generated']}",
        f"- run: {counts['run']}",
        f"- both ok, agree: {counts['agree']}",
        f"- both error: {counts['both_error']}",
        f"- mismatches (unexplained): {counts['mismatch']}",
        f"- explained: {counts['explained']}",
    ]
    for k, v in sorted(counts.items()):
        if k.startswith("explained:"):
            lines.append(f"  - {k[len('explained:'):]}: {v}")
    if errors:
        lines += ["", "Most common errors when both engines fail (DuckDB's message):"]
        for msg, n in errors.most_common(10):
            lines.append(f"- {n} x {msg}")
    if mismatches:
        lines += ["", "Unexplained mismatches:"]
        for o, d in mismatches:
            lines.append(f"- seed {o.seed} query {o.n}: {o.detail} ({d})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
