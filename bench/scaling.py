#!/usr/bin/env python3
"""Thread scaling of rask on TPC-H: each query with 1 and 2 threads (or --threads 1,2,4), speedup.

    python3 bench/scaling.py --sf 10 [--threads 1,2] [--queries all] [--runs 3] [--rask PATH]
                             [--no-check] [--json OUT]

Per query: one untimed run per thread count (its peak RSS; its answer checked against DuckDB's
unless --no-check), then the thread counts alternately, run by run; medians. The speedup of N
threads is median(first thread count) / median(N threads); the last row is the geomean. rask
runs as in bench/tpch.py (one process per run, start-up included). Exit status 1 on a failure
or a wrong answer.
"""

import argparse
import os
import statistics
import sys
import tempfile

import harness
import tpch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", default="10", help="scale factor (default 10)")
    ap.add_argument("--threads", default="1,2", help="thread counts, the first is the base (default 1,2)")
    ap.add_argument("--queries", default="all", help="e.g. 1,6,3 or 1-22 (default all)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per thread count and query (default 3)")
    ap.add_argument("--rask", default="target/release/rask", help="rask binary (default target/release/rask)")
    ap.add_argument("--no-check", action="store_true", help="do not check the answers against DuckDB")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--query-dir", default=os.path.join(harness.ROOT, "queries", "tpch"))
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if len(threads) < 2 or min(threads) < 1 or args.runs < 1:
        ap.error("--threads needs at least two counts >= 1, --runs at least 1")
    cwd = os.getcwd()
    rask_path = harness.resolve_binary(args.rask, cwd)
    json_path = os.path.abspath(os.path.join(cwd, args.json)) if args.json else None
    query_dir = os.path.abspath(os.path.join(cwd, args.query_dir))
    if not (os.path.isfile(rask_path) and os.access(rask_path, os.X_OK)):
        print(f"scaling.py: rask binary not found at {rask_path} (pass --rask PATH)", file=sys.stderr)
        return 2
    sf = tpch.sf_name(args.sf)
    data_rel = tpch.ensure_data(sf)
    os.chdir(harness.ROOT)
    views = tpch.view_sql(data_rel)
    engines = {t: harness.Rask(rask_path, t, views, args.timeout) for t in threads}
    duck = None if args.no_check else harness.DuckDB(max(threads), views, args.timeout)
    queries = tpch.load_queries(query_dir, tpch.parse_queries(args.queries), polars=False)

    base = threads[0]
    print(f"rask thread scaling, TPC-H SF {sf}, threads {args.threads}, median of {args.runs} runs "
          f"(whole process per run); speedup = time with {base} / time with N")
    print(f"rask: {rask_path}")
    print()
    head = f"{'query':<8}" + "".join(f"{f'{t} thr s':>10}" for t in threads)
    head += "".join(f"{f'x{t}':>8}" for t in threads[1:]) + "".join(f"{f'{t} thr MB':>10}" for t in threads)
    print(head + "  answers")
    print("-" * len(head) + "---------")
    results, failed = [], False
    with tempfile.TemporaryDirectory(prefix="rask-scaling-") as tmp:
        for q in queries:
            r = {"query": q.name, "times": {t: [] for t in threads}, "median": {}, "peak_mb": {},
                 "speedup": {}, "error": None}
            try:
                exp = duck.expected(q) if duck else None
                try:
                    for t in threads:
                        path = os.path.join(tmp, f"{q.name}.{t}.csv")
                        r["peak_mb"][t] = engines[t].first_run(q, path)
                        if exp:
                            ok, msg = exp.check(path, f"rask-{t}thr", q.ordered)
                            if not ok:
                                raise harness.EngineError(f"wrong answer with {t} threads: {msg}")
                finally:
                    if exp:
                        exp.close()
                for _ in range(args.runs):
                    for t in threads:
                        r["times"][t].append(engines[t].run_timed(q))
            except harness.EngineError as e:
                r["error"] = str(e)
                failed = True
            for t in threads:
                r["median"][t] = statistics.median(r["times"][t]) if r["times"][t] and not r["error"] else None
            for t in threads[1:]:
                if r["median"][base] and r["median"][t]:
                    r["speedup"][t] = r["median"][base] / r["median"][t]
            results.append(r)
            status = "ERROR" if r["error"] else "ok" if duck else "-"
            print(f"{row(q.name, r, threads)}  {status}")
            if r["error"]:
                print("    " + r["error"].replace("\n", "\n    "))
            sys.stdout.flush()
    gm = {"median": {t: harness.geomean([r["median"][t] for r in results]) for t in threads},
          "speedup": {t: harness.geomean([r["speedup"].get(t) for r in results]) for t in threads[1:]},
          "peak_mb": {t: harness.geomean([r["peak_mb"].get(t) for r in results]) for t in threads}}
    print("-" * len(head) + "---------")
    print(row("geomean", gm, threads))
    if duck:
        duck.close()
    if json_path:
        meta = harness.metadata(benchmark="tpch-scaling", sf=sf, threads=threads, runs=args.runs,
                                rask=rask_path, checked=duck is not None)
        harness.write_json(json_path, meta, results, gm)
    return harness.exit_status(failed)


def row(name, r, threads):
    text = f"{name:<8}" + "".join(harness.fmt(r["median"][t], "10.3f") for t in threads)
    text += "".join(harness.fmt(r["speedup"].get(t), "8.2f") for t in threads[1:])
    text += "".join(harness.fmt(r["peak_mb"].get(t), "10.0f") for t in threads)
    return text


if __name__ == "__main__":
    sys.exit(main())
