#!/usr/bin/env python3
"""CSV scan: one full scan of TPC-H lineitem as CSV on rask, DuckDB and Polars, answers checked.

    python3 bench/csv_scan.py [--sf 1] [--runs 5] [--threads 2] [--rask PATH] [--no-polars] [--json OUT]

Writes bench/data/csv/lineitem_sf{SF}.csv (DuckDB `COPY ... TO` with a header row, from
bench/data/sf{SF}/lineitem.parquet; into a temporary file renamed into place) when missing, then
times a query that parses every column of every row:
    SELECT count(*), sum(l_quantity), max(l_comment), min(<each other column>) FROM '<file>.csv'
rask and DuckDB run that text (DuckDB's read_csv auto-detection; rask's CSV type inference);
Polars runs the same aggregates over pl.scan_csv(file, try_parse_dates=True). Timing, peak RSS
and the answer check are those of bench/tpch.py (bench/harness.py); the ratio is rask / DuckDB.
"""

import argparse
import os
import sys

import harness
import tpch

COLUMNS = ["l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity", "l_extendedprice",
           "l_discount", "l_tax", "l_returnflag", "l_linestatus", "l_shipdate", "l_commitdate",
           "l_receiptdate", "l_shipinstruct", "l_shipmode", "l_comment"]
MIN_COLUMNS = [c for c in COLUMNS if c not in ("l_quantity", "l_comment")]


def scan_sql(rel_path):
    mins = ", ".join(f"min({c}) AS min_{c}" for c in MIN_COLUMNS)
    return (f"SELECT count(*) AS n, sum(l_quantity) AS sum_quantity, max(l_comment) AS max_comment, {mins} "
            f"FROM '{rel_path}'")


def polars_scan(tables):
    """The same aggregates in native Polars (run by bench/polars_worker.py)."""
    import polars as pl
    return tables["lineitem"].select(
        pl.len().alias("n"), pl.col("l_quantity").sum().alias("sum_quantity"),
        pl.col("l_comment").max().alias("max_comment"),
        *[pl.col(c).min().alias(f"min_{c}") for c in MIN_COLUMNS])


def ensure_csv(sf):
    """bench/data/csv/lineitem_sf{SF}.csv, written from the Parquet file when missing; its path."""
    out_dir = os.path.join(harness.ROOT, "bench", "data", "csv")
    path = os.path.join(out_dir, f"lineitem_sf{sf}.csv")
    if os.path.isfile(path):
        return path
    import duckdb
    data_rel = tpch.ensure_data(sf)
    os.makedirs(out_dir, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    print(f"csv_scan.py: writing {path}", file=sys.stderr)
    try:
        src = os.path.join(harness.ROOT, data_rel, "lineitem.parquet")
        duckdb.connect().execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{tmp}' (HEADER, DELIMITER ',')")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", default="1", help="scale factor of the lineitem file (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per engine (default 5)")
    ap.add_argument("--rask", default="target/release/rask", help="rask binary (default target/release/rask)")
    ap.add_argument("--no-polars", action="store_true", help="no Polars")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args, cwd, rask_path, json_path = harness.parse_args(ap)
    if not (os.path.isfile(rask_path) and os.access(rask_path, os.X_OK)):
        print(f"csv_scan.py: rask binary not found at {rask_path} (pass --rask PATH)", file=sys.stderr)
        return 2
    use_polars = not args.no_polars and harness.polars_version() is not None

    sf = tpch.sf_name(args.sf)
    path = ensure_csv(sf)
    rel = os.path.relpath(path, harness.ROOT)
    os.chdir(harness.ROOT)
    sql = scan_sql(rel)
    rask = harness.Rask(rask_path, args.threads, None, args.timeout)
    duck = harness.DuckDB(args.threads, None, args.timeout)
    polars = harness.Polars(args.threads, {"lineitem": {"path": path, "format": "csv",
                                                        "csv_options": {"try_parse_dates": True}}},
                            args.timeout) if use_polars else None
    harness.warn_no_time_bin("csv_scan.py")
    size = os.path.getsize(path)
    print(f"CSV scan of {rel} ({size / 1e6:.0f} MB), {args.threads} threads, median of {args.runs} runs: "
          f"rask, DuckDB {duck.version}" + (f", Polars {polars.version}" if polars else ""))
    print(f"rask: {rask_path}")
    print(f"query: {sql}")
    print("times: rask = whole process; DuckDB = in-process execute+fetchall; Polars = scan_csv + collect() "
          "in a warm worker. Peak RSS: untimed first run in a fresh process.")
    print()
    query = harness.Query("scan", sql, polars={"native": "csv_scan:polars_scan"} if polars else None)
    try:
        results, gm, failed = harness.run_suite([query], rask, duck, polars, args.runs, ratio="duckdb")
    finally:
        for e in (rask, duck, polars):
            if e:
                e.close()
    r = results[0]
    print()
    for e in harness.ENGINES:
        if r["median"][e]:
            print(f"{e:<7} {size / r['median'][e] / 1e6:8.0f} MB/s")
    if json_path:
        meta = harness.metadata(benchmark="csv_scan", sf=sf, file=rel, bytes=size, threads=args.threads,
                                runs=args.runs, rask=rask_path, duckdb_version=duck.version,
                                polars_version=polars.version if polars else None)
        harness.write_json(json_path, meta, results, gm)
    return harness.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
