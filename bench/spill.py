#!/usr/bin/env python3
"""Out-of-core statements beside DuckDB under the same memory limit.

    python3 bench/spill.py --sf 10 --memory-limit 1GB --threads 2 [--rask PATH] [--keep]

Runs, on TPC-H data in bench/data/sf{SF} (made by bench/gen_tpch.sh), statements whose working
set is far larger than the limit:
  * sort:     COPY (SELECT * FROM lineitem ORDER BY l_comment) TO '.../sort.parquet'
  * group_by: COPY (SELECT l_orderkey, l_partkey, count(*) FROM lineitem GROUP BY ALL)
              TO '.../group_by.parquet'
Each engine runs each statement once in a fresh process under /usr/bin/time -v (wall time and
peak RSS): rask as `rask --threads N --memory-limit L -c <views> -c <COPY>`, DuckDB through its
Python package with `SET threads=N; SET memory_limit=L` (the Python interpreter is included in
its RSS). The outputs are then checked with DuckDB: the same row count and checksums for both
engines, and for the sort, rask's file in l_comment order. Exit status 1 on a failure or a
wrong answer.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]

STATEMENTS = {
    "sort": "SELECT * FROM lineitem ORDER BY l_comment",
    "group_by": "SELECT l_orderkey, l_partkey, count(*) FROM lineitem GROUP BY ALL",
}

# What is compared between the two engines' files.
CHECKS = {
    "sort": "SELECT count(*), sum(l_orderkey * 10 + l_linenumber), min(l_comment), max(l_comment), "
            "sum(length(l_comment)) FROM read_parquet('{f}')",
    "group_by": "SELECT count(*), sum(\"count_star()\"), sum((l_orderkey * 7 + l_partkey) % 1000003) "
                "FROM (SELECT l_orderkey, l_partkey, #3 AS \"count_star()\" FROM read_parquet('{f}'))",
}

# Rows of rask's sorted file that come after a larger l_comment (must be 0).
SORT_ORDER_CHECK = (
    "SELECT count(*) FROM (SELECT l_comment, lag(l_comment) OVER (ORDER BY file_row_number) AS prev "
    "FROM read_parquet('{f}', file_row_number = true)) WHERE prev > l_comment"
)

DUCKDB_SCRIPT = """
import sys, duckdb
threads, limit, views, sql, temp = sys.argv[1:6]
con = duckdb.connect()
con.execute(f"SET threads={threads}")
con.execute(f"SET memory_limit='{limit}'")
con.execute(f"SET temp_directory='{temp}'")
con.execute(views)
con.execute(sql)
"""


def views_sql(data_rel):
    return "; ".join(f"CREATE VIEW {t} AS SELECT * FROM '{data_rel}/{t}.parquet'" for t in TABLES) + ";"


def timed(argv):
    """Runs argv under /usr/bin/time -v: (seconds, peak RSS MB, CompletedProcess)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + argv, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - t0
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
    return elapsed, (int(m.group(1)) / 1024 if m else None), p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", default="10")
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rask", default=os.path.join(ROOT, "target", "release", "rask"))
    ap.add_argument("--statements", default="sort,group_by")
    ap.add_argument("--keep", action="store_true", help="keep the output files")
    args = ap.parse_args()
    import duckdb

    sf = f"{float(args.sf):g}"
    data_rel = f"bench/data/sf{sf}"
    if not all(os.path.isfile(os.path.join(ROOT, data_rel, f"{t}.parquet")) for t in TABLES):
        subprocess.run(["bash", os.path.join(ROOT, "bench", "gen_tpch.sh"), sf], check=True)
    views = views_sql(data_rel)
    out_dir = tempfile.mkdtemp(prefix="rask-spill-bench-", dir=os.path.join(ROOT, "bench"))
    spill_dir = tempfile.mkdtemp(prefix="spill-", dir=out_dir)
    print(f"SF {sf}, {args.threads} threads, memory limit {args.memory_limit}; rask {args.rask}, "
          f"DuckDB {duckdb.__version__}")
    print(f"{'statement':<10}{'engine':<8}{'seconds':>10}{'peak RSS MB':>14}  result")
    failed = False
    for name in args.statements.split(","):
        sql = STATEMENTS[name]
        results = {}
        for engine in ("rask", "duckdb"):
            target = os.path.join(out_dir, f"{name}.{engine}.parquet")
            copy = f"COPY ({sql}) TO '{target}' (FORMAT parquet)"
            if engine == "rask":
                argv = [args.rask, "--threads", str(args.threads), "--memory-limit", args.memory_limit,
                        "--temp-dir", spill_dir, "-c", views, "-c", copy]
            else:
                argv = [sys.executable, "-c", DUCKDB_SCRIPT, str(args.threads), args.memory_limit, views,
                        copy, spill_dir]
            elapsed, rss, p = timed(argv)
            if p.returncode != 0:
                failed = True
                msg = p.stderr.decode(errors="replace").strip()[-500:]
                print(f"{name:<10}{engine:<8}{elapsed:>10.2f}{rss or 0:>14.1f}  FAILED: {msg}")
                continue
            con = duckdb.connect()
            results[engine] = con.execute(CHECKS[name].format(f=target)).fetchall()
            note = ""
            if name == "sort" and engine == "rask":
                bad = con.execute(SORT_ORDER_CHECK.format(f=target)).fetchone()[0]
                note = "in order" if bad == 0 else f"NOT SORTED ({bad} rows out of order)"
                failed |= bad != 0
            print(f"{name:<10}{engine:<8}{elapsed:>10.2f}{rss:>14.1f}  {results[engine][0][0]} rows {note}")
            sys.stdout.flush()
        if len(results) == 2:
            same = results["rask"] == results["duckdb"]
            failed |= not same
            print(f"{'':<18}answers {'match' if same else 'DIFFER: ' + str(results)}")
        leftovers = os.listdir(spill_dir)
        if leftovers:
            print(f"{'':<18}files left in the temp directory: {leftovers[:5]}")
    if not args.keep:
        subprocess.run(["rm", "-rf", out_dir])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
