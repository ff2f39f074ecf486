#!/usr/bin/env python3
"""Recompute testdata/tpch/sf0.1/qNN.tsv, the expected answers of tests/tpch.rs, with DuckDB.

    pip install duckdb
    python3 tests/tpch/duckdb_answers.py

It first runs the Rust test binary with a filter that matches no query, which only generates
the SF 0.1 Parquet files (with the `tpchgen` crates, exactly as the test does) into
target/tpch-answers-data/, then runs queries/tpch/qNN.sql on those files in DuckDB. Each file
holds a header line and one line per row, values tab-separated as DuckDB casts them to VARCHAR
(NULL as `NULL`).
"""

import os
import subprocess
import sys

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "target", "tpch-answers-data")
OUT = os.path.join(ROOT, "testdata", "tpch", "sf0.1")
TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]


def main():
    env = dict(os.environ, RASK_TPCH_DATA=DATA)
    subprocess.run(
        ["cargo", "test", "--test", "tpch", "--", "--exact", "generate-data-only"],
        cwd=ROOT, env=env, check=True,
    )
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM '{os.path.join(DATA, t + '.parquet')}'")
    os.makedirs(OUT, exist_ok=True)
    for q in range(1, 23):
        name = f"q{q:02d}"
        with open(os.path.join(ROOT, "queries", "tpch", name + ".sql")) as f:
            sql = f.read().strip().rstrip(";")
        rel = con.sql(sql)
        columns = rel.columns
        casts = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
        rows = con.sql(f"SELECT {casts} FROM ({sql})").fetchall()
        with open(os.path.join(OUT, name + ".tsv"), "w") as f:
            f.write("\t".join(columns) + "\n")
            for row in rows:
                f.write("\t".join("NULL" if v is None else v for v in row) + "\n")
        print(f"{name}: {len(rows)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
