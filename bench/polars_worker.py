#!/usr/bin/env python3
"""Runs queries in Polars for the benchmarks (bench/harness.py starts it; set POLARS_MAX_THREADS
in its environment: Polars reads it once, at import).

    polars_worker.py serve        one JSON spec per stdin line; answers one JSON line per spec:
                                  {"seconds": s, "rows": n} or {"error": text}
    polars_worker.py once SPEC OUT  runs SPEC once and writes the result to OUT as CSV (header first)
    polars_worker.py baseline     imports polars and exits (for the baseline peak RSS)

A spec is {"tables": {name: {"path": file, "format": "parquet"|"csv", "csv_options": {...}}},
           "sql": text}                       (run with pl.SQLContext over the tables), or
          {..., "native": "module:function"}  (a function in bench/ taking {name: LazyFrame} and
                                               returning a LazyFrame).
The timed part is building the lazy query (SQL parsing included) and `.collect()`, which
materialises the whole result as a DataFrame; the LazyFrame scans are cached between specs.
"""

import importlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import polars as pl  # noqa: E402  (after POLARS_MAX_THREADS is in the environment)

_scans = {}


def scan(table):
    """A LazyFrame over one file (cached by its spec)."""
    key = json.dumps(table, sort_keys=True)
    if key not in _scans:
        if table.get("format", "parquet") == "parquet":
            _scans[key] = pl.scan_parquet(table["path"])
        else:
            _scans[key] = pl.scan_csv(table["path"], **table.get("csv_options", {}))
    return _scans[key]


def plan(spec):
    """The LazyFrame for a spec."""
    frames = {name: scan(t) for name, t in spec["tables"].items()}
    if "sql" in spec:
        ctx = pl.SQLContext(frames=frames)
        return ctx.execute(spec["sql"].strip().rstrip(";"))
    module, func = spec["native"].split(":")
    return getattr(importlib.import_module(module), func)(frames)


def serve():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            spec = json.loads(line)
            t0 = time.perf_counter()
            df = plan(spec).collect()
            el = time.perf_counter() - t0
            reply = {"seconds": el, "rows": df.height}
            del df
        except Exception as e:  # report to the harness, keep serving
            reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def once(spec_text, out_path):
    plan(json.loads(spec_text)).collect().write_csv(out_path)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve()
    elif len(sys.argv) == 4 and sys.argv[1] == "once":
        once(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "baseline":
        pass
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
