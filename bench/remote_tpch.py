#!/usr/bin/env python3
"""TPC-H q1-q22 run by rask locally and by a Spark cluster through rask's remote mode.

    bench/gen_tpch.sh 1
    tests/remote/spark_connect_server.sh start
    python3 bench/remote_tpch.py --sf 1 --remote sc://127.0.0.1:15002 --rask target/release/rask

Each query runs `--runs` times in each mode, alternating local and remote, after one
untimed remote warm-up of the Spark session; the table shows the median wall time of each
(the whole `rask` process: planning, the round trip, printing), their ratio, and whether
the two answers agree (numbers within 1e-9 relative). A disagreement fails the run. The rask
binary must be built with `--features spark`.
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def views(data):
    return " ".join(
        f"CREATE VIEW {t} AS SELECT * FROM '{os.path.join(data, t + '.parquet')}';" for t in TABLES
    )


def run(rask, sql, threads, remote=None):
    cmd = [rask, "--threads", str(threads), "-F", "csv", "-c", sql]
    if remote:
        cmd[1:1] = ["--remote", remote]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{'remote' if remote else 'local'} failed: {out.stderr.strip()}")
    return elapsed, out.stdout


def same(a, b):
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        for u, v in zip(x.split(","), y.split(",")):
            if u == v:
                continue
            try:
                fu, fv = float(u), float(v)
            except ValueError:
                return False
            if not math.isclose(fu, fv, rel_tol=1e-9, abs_tol=1e-12):
                return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", default="1")
    ap.add_argument("--remote", default="sc://127.0.0.1:15002")
    ap.add_argument("--rask", default=os.path.join(ROOT, "target", "release", "rask"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", default="1-22")
    args = ap.parse_args()
    data = os.path.join(ROOT, "bench", "data", f"sf{args.sf}")
    lo, hi = (int(x) for x in args.queries.split("-"))
    prefix = views(data)
    run(args.rask, prefix + " SELECT 1", args.threads, args.remote)  # warm the Spark session
    print(f"TPC-H SF{args.sf}: rask local ({args.threads} threads) vs rask --remote {args.remote}")
    print("| query | local s | remote s | remote/local | same answer |")
    print("|---|---|---|---|---|")
    ratios, failed = [], False
    for q in range(lo, hi + 1):
        with open(os.path.join(ROOT, "queries", "tpch", f"q{q:02}.sql")) as f:
            sql = prefix + " " + f.read()
        local_t, remote_t = [], []
        for _ in range(args.runs):
            t, local_out = run(args.rask, sql, args.threads)
            local_t.append(t)
            t, remote_out = run(args.rask, sql, args.threads, args.remote)
            remote_t.append(t)
        lm, rm = statistics.median(local_t), statistics.median(remote_t)
        agree = same(local_out, remote_out)
        failed |= not agree
        ratios.append(rm / lm)
        print(f"| q{q:02} | {lm:.3f} | {rm:.3f} | {rm / lm:.1f}x | {'yes' if agree else 'NO'} |", flush=True)
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"| geomean | | | {geomean:.1f}x | |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
