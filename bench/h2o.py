#!/usr/bin/env python3
"""H2O db-benchmark group-by questions: rask beside DuckDB and Polars, with answer checking.

    python3 bench/h2o.py [--questions 1-10] [--runs 3] [--threads 2] [--rask PATH]
                         [--source parquet|csv] [--fetch select|table] [--no-polars] [--json OUT]

Data: bench/data/h2o/G1_1e7_1e2_0_0.{parquet,csv} (made by bench/gen_h2o.py when missing; --n/--k
for other sizes). The 10 questions are the SQL of db-benchmark's DuckDB solution (its
`CREATE TABLE ans AS <q>` becomes the plain SELECT <q>) on a view `x` over the file, for rask
and DuckDB, and db-benchmark's native lazy Polars versions (bench/h2o_polars.py) over
pl.scan_parquet / pl.scan_csv of the same file. Engines, timing, peak RSS and answer checks are
those of bench/tpch.py (bench/harness.py); the ratio is rask / DuckDB. See bench/README.md.

--fetch select (default): rask prints the result as CSV into a pipe, DuckDB fetchall()s it into
Python objects, Polars collect()s a DataFrame. --fetch table: rask and DuckDB run
`CREATE [TEMP] TABLE ans AS <q>` (the result stays inside the engine, as in db-benchmark).
Exit status 1 if an engine fails a question or gives a wrong answer.
"""

import argparse
import os
import sys

import gen_h2o
import harness

# (question, SQL of db-benchmark's DuckDB solution)
QUESTIONS = [
    ("sum v1 by id1",
     "SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1"),
    ("sum v1 by id1:id2",
     "SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2"),
    ("sum v1 mean v3 by id3",
     "SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3"),
    ("mean v1:v3 by id4",
     "SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4"),
    ("sum v1:v3 by id6",
     "SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6"),
    ("median v3 sd v3 by id4 id5",
     "SELECT id4, id5, quantile_cont(v3, 0.5) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5"),
    ("max v1 - min v2 by id3",
     "SELECT id3, max(v1)-min(v2) AS range_v1_v2 FROM x GROUP BY id3"),
    ("largest two v3 by id6",
     "SELECT id6, v3 AS largest2_v3 FROM (SELECT id6, v3, row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC)"
     " AS order_v3 FROM x WHERE v3 IS NOT NULL) sub_query WHERE order_v3 <= 2"),
    ("regression v1 v2 by id2 id4",
     "SELECT id2, id4, pow(corr(v1, v2), 2) AS r2 FROM x GROUP BY id2, id4"),
    ("sum v3 count by id1:id6",
     "SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x "
     "GROUP BY id1, id2, id3, id4, id5, id6"),
]


def parse_questions(spec):
    out = []
    for part in spec.split(","):
        part = part.strip()
        if part == "all":
            out.extend(range(1, 11))
        elif "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    for q in out:
        if not 1 <= q <= len(QUESTIONS):
            raise SystemExit(f"h2o.py: no question {q} (1..{len(QUESTIONS)})")
    return out


def queries(numbers, polars=True):
    return [harness.Query(f"q{n}", QUESTIONS[n - 1][1], polars={"native": f"h2o_polars:q{n}"} if polars else None,
                          ordered=False)
            for n in numbers]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", default="all", help="e.g. 1,3 or 1-10 (default all)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per engine and question (default 3)")
    ap.add_argument("--rask", default="target/release/rask", help="rask binary (default target/release/rask)")
    ap.add_argument("--source", choices=["parquet", "csv"], default="parquet",
                    help="read the Parquet file (default) or the CSV file in every query")
    ap.add_argument("--fetch", choices=["select", "table"], default="select",
                    help="select: results fetched by the client (default); table: CREATE TABLE ans AS")
    ap.add_argument("--n", default="1e7", help="rows of the data set (default 1e7)")
    ap.add_argument("--k", default="100", help="K of the data set (default 100)")
    ap.add_argument("--no-duckdb", action="store_true", help="no DuckDB (answers are then not checked)")
    ap.add_argument("--no-rask", action="store_true", help="no rask")
    ap.add_argument("--no-polars", action="store_true", help="no Polars")
    ap.add_argument("--ratio", choices=["best", "duckdb"], default="duckdb",
                    help="rask / DuckDB (default), or rask / the faster of DuckDB and Polars")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args, cwd, rask_path, json_path = harness.parse_args(ap)
    numbers = parse_questions(args.questions)
    use_rask, use_duck = not args.no_rask, not args.no_duckdb
    use_polars = not args.no_polars and harness.polars_version() is not None
    if not args.no_polars and not use_polars:
        print("h2o.py: polars is not installed (pip install polars): running without it", file=sys.stderr)
    if use_rask and not (os.path.isfile(rask_path) and os.access(rask_path, os.X_OK)):
        print(f"h2o.py: rask binary not found at {rask_path} (pass --rask PATH or use --no-rask)", file=sys.stderr)
        return 2

    n, k = int(float(args.n)), int(float(args.k))
    pq, cv = gen_h2o.ensure(n, k, csv=args.source == "csv")
    path = pq if args.source == "parquet" else cv
    rel = os.path.relpath(path, harness.ROOT)
    os.chdir(harness.ROOT)
    view = f"CREATE VIEW x AS SELECT * FROM '{rel}';"
    rask = harness.Rask(rask_path, args.threads, view, args.timeout,
                        fetch="table" if args.fetch == "table" else "csv") if use_rask else None
    duck = harness.DuckDB(args.threads, view, args.timeout,
                          fetch="table" if args.fetch == "table" else "fetchall") if use_duck else None
    polars = harness.Polars(args.threads, {"x": {"path": path, "format": args.source}},
                            args.timeout) if use_polars else None
    harness.warn_no_time_bin("h2o.py")

    names = [x for x, on in (("rask", rask), (f"DuckDB {duck.version}" if duck else "", duck),
                             (f"Polars {polars.version}" if polars else "", polars)) if on]
    print(f"H2O group-by {gen_h2o.data_name(n, k)} ({args.source}), {args.threads} threads, "
          f"median of {args.runs} runs: {', '.join(names)}")
    if rask:
        print(f"rask: {rask_path}")
    if args.fetch == "select":
        print("times: rask = whole process, result printed as CSV into a pipe; DuckDB = in-process "
              "execute+fetchall (Python objects); Polars = native lazy query + collect() in a warm worker.")
    else:
        print("times: rask = whole process running CREATE TABLE ans AS <q>; DuckDB = in-process "
              "CREATE TEMP TABLE ans AS <q>; Polars = native lazy query + collect() in a warm worker.")
    print(f"peak RSS: each engine's untimed first run in a fresh process ({harness.rss_method()}); "
          "DuckDB's and Polars' include the Python interpreter.")
    print()
    for i in numbers:
        print(f"  q{i}: {QUESTIONS[i - 1][0]}")
    print()

    try:
        results, gm, failed = harness.run_suite(queries(numbers, bool(polars)), rask, duck, polars, args.runs,
                                                ratio=args.ratio)
        base = {"duckdb": duck.baseline_rss() if duck else None, "polars": polars.baseline_rss() if polars else None}
    finally:
        for e in (rask, duck, polars):
            if e:
                e.close()
    parts = [f"{e} {v:.0f} MB" for e, v in base.items() if v]
    if parts:
        print(f"(peak RSS of the same fresh child process running no query: {', '.join(parts)})")
    if json_path:
        meta = harness.metadata(
            benchmark="h2o-groupby", data=gen_h2o.data_name(n, k), source=args.source, fetch=args.fetch,
            threads=args.threads, runs=args.runs, questions=numbers, ratio=args.ratio,
            rask=rask_path if rask else None, duckdb_version=duck.version if duck else None,
            polars_version=polars.version if polars else None, baseline_rss_mb=base)
        harness.write_json(json_path, meta, results, gm)
    return harness.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
