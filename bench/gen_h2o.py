#!/usr/bin/env python3
"""Generates the H2O db-benchmark group-by data set (as its groupby-datagen.R does) into bench/data/h2o/.

    python3 bench/gen_h2o.py [--n 1e7] [--k 100] [--seed 108] [--force] [--no-csv]

Writes G1_{N}_{K}_0_0.parquet and .csv (e.g. G1_1e7_1e2_0_0: N rows, K groups, no NAs, unsorted),
each to a temporary file in the same directory that is renamed into place when complete. Columns,
drawn uniformly with replacement (numpy's default_rng(seed), so the same seed gives the same
files; the values are not those of R's generator, the distributions are):
    id1, id2  VARCHAR  "id%03d" of 1..K            id4, id5  INTEGER  1..K
    id3       VARCHAR  "id%010d" of 1..N/K         id6       INTEGER  1..N/K
    v1        INTEGER  1..5                        v2        INTEGER  1..15
    v3        DOUBLE   round(uniform(0, 100), 6)
Needs numpy and polars (pip install numpy polars). Parquet: Snappy, Polars' default row groups.
"""

import argparse
import os
import sys
import time

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "h2o")


def pretty(x):
    """1e7 -> '1e7', 100 -> '1e2' (db-benchmark's data names); other numbers as they are."""
    x = int(float(x))
    m, e = f"{x:.0e}".split("e")
    return f"{m}e{int(e)}" if float(f"{m}e{e}") == x else str(x)


def data_name(n, k):
    return f"G1_{pretty(n)}_{pretty(k)}_0_0"


def paths(n, k):
    name = data_name(n, k)
    return os.path.join(DATA, f"{name}.parquet"), os.path.join(DATA, f"{name}.csv")


def generate(n, k, seed):
    """The data set as a polars DataFrame."""
    import numpy as np
    import polars as pl
    rng = np.random.default_rng(seed)
    groups = n // k
    cols = {
        "id1": rng.integers(1, k + 1, n, dtype=np.int32),
        "id2": rng.integers(1, k + 1, n, dtype=np.int32),
        "id3": rng.integers(1, groups + 1, n, dtype=np.int32),
        "id4": rng.integers(1, k + 1, n, dtype=np.int32),
        "id5": rng.integers(1, k + 1, n, dtype=np.int32),
        "id6": rng.integers(1, groups + 1, n, dtype=np.int32),
        "v1": rng.integers(1, 6, n, dtype=np.int32),
        "v2": rng.integers(1, 16, n, dtype=np.int32),
        "v3": np.round(rng.uniform(0.0, 100.0, n), 6),
    }
    df = pl.DataFrame(cols)

    def label(c, width):
        return (pl.lit("id") + pl.col(c).cast(pl.String).str.zfill(width)).alias(c)

    return df.with_columns(label("id1", 3), label("id2", 3), label("id3", 10))


def write_atomic(path, writer):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def ensure(n=10_000_000, k=100, seed=108, force=False, csv=True, log=sys.stderr):
    """Makes the files when missing (or with force); returns (parquet path, csv path)."""
    pq, cv = paths(n, k)
    want = [p for p in ([pq, cv] if csv else [pq]) if force or not os.path.isfile(p)]
    if not want:
        return pq, cv
    os.makedirs(DATA, exist_ok=True)
    t0 = time.perf_counter()
    print(f"gen_h2o: generating {data_name(n, k)} ({n} rows, K={k}, seed {seed})", file=log)
    df = generate(n, k, seed)
    if pq in want:
        write_atomic(pq, lambda p: df.write_parquet(p, compression="snappy"))
        print(f"gen_h2o: wrote {pq} ({os.path.getsize(pq) / 1e6:.0f} MB)", file=log)
    if cv in want:
        write_atomic(cv, lambda p: df.write_csv(p))
        print(f"gen_h2o: wrote {cv} ({os.path.getsize(cv) / 1e6:.0f} MB)", file=log)
    print(f"gen_h2o: done in {time.perf_counter() - t0:.1f} s", file=log)
    return pq, cv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="1e7", help="rows (default 1e7)")
    ap.add_argument("--k", default="100", help="groups K (default 100)")
    ap.add_argument("--seed", type=int, default=108)
    ap.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    ap.add_argument("--no-csv", action="store_true", help="write only the Parquet file")
    args = ap.parse_args()
    n, k = int(float(args.n)), int(float(args.k))
    if n < k or k < 1:
        ap.error("need 1 <= K <= N")
    ensure(n, k, args.seed, args.force, csv=not args.no_csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
