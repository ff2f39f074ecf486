#!/usr/bin/env python3
"""TPC-H benchmark: rask beside DuckDB, with answer checking.

    python3 bench/tpch.py --sf 1 --queries 1,6,3 --threads 2 --runs 5 [--rask PATH]
                          [--no-duckdb] [--no-rask] [--json out.json]

For each query the engines are run alternately, run by run:
  * rask: the binary, one process per run:
        rask --threads N --format csv -c "<CREATE VIEW ... for the 8 tables>" -c "<query>"
    timed from process start to exit (so start-up, view creation and CSV output are included);
  * DuckDB: the duckdb Python package in-process (`SET threads=N`, the same views), timed
    around `con.execute(q).fetchall()` (no process start-up).
Before the timed runs each engine runs the query once untimed: that run gives the answers that
are compared, and rask's run is under `/usr/bin/time -v` for its peak RSS. Timings are medians
of --runs runs. Exit status is 1 if any answer is wrong or rask fails, else 0.
See bench/README.md.
"""

import argparse
import csv
import datetime as dt
import decimal
import io
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]
REL_TOL = 1e-6
ABS_TOL = 1e-9


# ---------------------------------------------------------------- helpers

def sf_name(sf):
    """1.0 -> '1', 0.1 -> '0.1' (same as `printf %g` in gen_tpch.sh)."""
    return f"{float(sf):g}"


def parse_queries(spec):
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if part == "all":
            out.extend(range(1, 23))
        elif "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    for q in out:
        if not 1 <= q <= 22:
            raise SystemExit(f"tpch.py: no TPC-H query {q} (1..22)")
    return out


def view_sql(data_dir_rel):
    return " ".join(
        f"CREATE VIEW {t} AS SELECT * FROM '{data_dir_rel}/{t}.parquet';" for t in TABLES)


def has_top_level_order_by(sql):
    """True when the outermost query has ORDER BY (an ORDER BY inside parentheses,
    e.g. in a subquery or window, does not count). Skips string literals and comments."""
    depth, i, n = 0, 0, len(sql)
    chars = []
    while i < n:
        c = sql[i]
        if c == "'" or c == '"':
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            chars.append(" ")
            continue
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
            continue
        if sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        chars.append(c if depth == 0 and c != ")" else " ")
        i += 1
    return re.search(r"\border\s+by\b", "".join(chars), re.IGNORECASE) is not None


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(x, spec):
    """format(x, spec), or '-' right-aligned to the same width when x is None."""
    width = int(re.match(r"\d*", spec).group() or 0)
    return "-".rjust(width) if x is None else format(x, spec)


# ---------------------------------------------------------------- answer checking

NUMERIC = (int, float, decimal.Decimal)


def canon_expected(v):
    """DuckDB Python value -> (kind, value) used for comparison and display."""
    if v is None:
        return ("null", None)
    if isinstance(v, bool):
        return ("str", "true" if v else "false")
    if isinstance(v, NUMERIC):
        return ("num", float(v))
    if isinstance(v, dt.datetime):
        return ("str", v.isoformat(sep=" "))
    if isinstance(v, (dt.date, dt.time)):
        return ("str", v.isoformat())
    return ("str", str(v))


def canon_actual(cell, kind):
    """rask CSV cell -> (kind, value), interpreted by the kind DuckDB has in that column."""
    if cell == "" or cell == "NULL":
        # An empty string and NULL look alike in CSV: accept an empty cell as either.
        return ("null", None) if kind != "str" or cell == "NULL" else ("str", "")
    if kind == "num":
        try:
            return ("num", float(cell))
        except ValueError:
            return ("str", cell)
    if kind == "str":
        return ("str", cell.replace("T", " ", 1) if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", cell) else cell)
    return ("str", cell)


def cell_equal(a, e):
    ka, va = a
    ke, ve = e
    if ke == "null":
        return ka == "null" or (ka == "str" and va == "")
    if ke == "str" and ve == "" and ka == "null":
        return True
    if ka != ke:
        return False
    if ke == "num":
        if math.isnan(ve) or math.isnan(va):
            return math.isnan(ve) and math.isnan(va)
        return abs(va - ve) <= max(REL_TOL * max(abs(va), abs(ve)), ABS_TOL)
    return va == ve


def sort_key(row):
    key = []
    for kind, v in row:
        if kind == "null":
            key.append((0, 0, ""))
        elif kind == "num":
            key.append((1, v, ""))
        else:
            key.append((2, 0, v))
    return key


def column_kinds(expected_rows, ncols):
    kinds = ["str"] * ncols
    for c in range(ncols):
        for r in expected_rows:
            k, _ = canon_expected(r[c])
            if k != "null":
                kinds[c] = k
                break
    return kinds


def compare_answers(rask_csv, exp_cols, exp_rows, ordered):
    """Returns (ok, message). message explains the first mismatch, or notes (header names)."""
    reader = csv.reader(io.StringIO(rask_csv))
    lines = list(reader)
    if not lines:
        if not exp_rows:
            return True, ""
        return False, f"rask printed nothing; DuckDB has {len(exp_rows)} rows (a CSV header row was expected)"
    header, data = lines[0], lines[1:]
    notes = []
    if len(header) != len(exp_cols):
        return False, (f"column count differs: rask {len(header)} {header} vs DuckDB "
                       f"{len(exp_cols)} {exp_cols}")
    if [h.lower() for h in header] != [c.lower() for c in exp_cols]:
        notes.append(f"(note: column names differ: rask {header} vs DuckDB {exp_cols})")
    ncols = len(exp_cols)
    kinds = column_kinds(exp_rows, ncols)
    for i, r in enumerate(data):
        if len(r) != ncols:
            return False, f"rask data row {i + 1} has {len(r)} fields, expected {ncols}: {r}"
    # Each row is (canonical cells, raw cells as printed by each engine, for messages).
    act = [([canon_actual(c, kinds[j]) for j, c in enumerate(r)], list(r)) for r in data]
    exp = [([canon_expected(v) for v in r], [raw_expected(v) for v in r]) for r in exp_rows]
    how = "in order (query has ORDER BY)" if ordered else "after sorting both sides (no ORDER BY)"
    if not ordered:
        act.sort(key=lambda r: sort_key(r[0]))
        exp.sort(key=lambda r: sort_key(r[0]))
    for i in range(min(len(act), len(exp))):
        for j in range(ncols):
            if not cell_equal(act[i][0][j], exp[i][0][j]):
                msg = [f"first mismatch at row {i + 1}, column {j + 1} '{exp_cols[j]}', compared {how}:",
                       f"    rask:   {act[i][1][j]!r}",
                       f"    duckdb: {exp[i][1][j]!r}",
                       f"  rask row {i + 1}:   {row_text(act[i][1])}",
                       f"  duckdb row {i + 1}: {row_text(exp[i][1])}"]
                if len(act) != len(exp):
                    msg.append(f"  (also: rask has {len(act)} rows, DuckDB {len(exp)})")
                elif ordered and sorted_equal([a[0] for a in act], [e[0] for e in exp]):
                    msg.append("  (the same rows in a different order: ties in ORDER BY, or a wrong sort)")
                return False, "\n".join(notes + msg)
    if len(act) != len(exp):
        i = min(len(act), len(exp))
        extra = (f"first extra rask row {i + 1}: {row_text(act[i][1])}" if len(act) > len(exp)
                 else f"first missing row {i + 1} (DuckDB's): {row_text(exp[i][1])}")
        return False, "\n".join(notes + [f"row count differs: rask {len(act)}, DuckDB {len(exp)}; "
                                        f"the first {i} rows agree", "  " + extra])
    return True, "\n".join(notes)


def sorted_equal(act, exp):
    if len(act) != len(exp):
        return False
    a, e = sorted(act, key=sort_key), sorted(exp, key=sort_key)
    return all(cell_equal(x, y) for ra, re_ in zip(a, e) for x, y in zip(ra, re_))


def raw_expected(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    return str(v)


def row_text(cells):
    return ",".join(cells)


# ---------------------------------------------------------------- engines

def stderr_tail(b, limit=2000):
    t = b.decode(errors="replace").strip()
    return t if len(t) <= limit else "..." + t[-limit:]


class Rask:
    def __init__(self, path, threads, views, timeout, memory_limit=None):
        self.path, self.threads, self.views, self.timeout = path, threads, views, timeout
        self.memory_limit = memory_limit
        self.time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

    def argv(self, sql):
        limit = ["--memory-limit", self.memory_limit] if self.memory_limit else []
        return [self.path, "--threads", str(self.threads), *limit, "--format", "csv",
                "-c", self.views, "-c", sql]

    def run_timed(self, sql):
        t0 = time.perf_counter()
        p = subprocess.run(self.argv(sql), cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=self.timeout)
        el = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"rask exited {p.returncode}: {stderr_tail(p.stderr)}")
        return el

    def run_measured(self, sql):
        """Untimed run giving (csv output, peak RSS in MB)."""
        if self.time_bin:
            with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
                p = subprocess.run([self.time_bin, "-v", "-o", tf.name] + self.argv(sql), cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=self.timeout)
                m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
                rss = int(m.group(1)) / 1024 if m else None
        else:
            # No /usr/bin/time: the same number from the kernel, via wait4() on this one child.
            with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
                proc = subprocess.Popen(self.argv(sql), cwd=ROOT, stdout=fo, stderr=fe)
                timer = threading.Timer(self.timeout, proc.kill)
                timer.start()
                try:
                    _, status, ru = os.wait4(proc.pid, 0)
                finally:
                    timer.cancel()
                proc.returncode = os.waitstatus_to_exitcode(status)
                fo.seek(0)
                fe.seek(0)
                p = subprocess.CompletedProcess(proc.args, proc.returncode, fo.read(), fe.read())
                rss = ru.ru_maxrss / 1024  # kB on Linux
        if p.returncode != 0:
            raise RuntimeError(f"rask exited {p.returncode}: {stderr_tail(p.stderr)}")
        return p.stdout.decode(), rss


# Runs one statement in a fresh DuckDB process (for its peak RSS under /usr/bin/time -v).
DUCKDB_RSS_SCRIPT = """
import sys, duckdb
threads, limit, views, sql = sys.argv[1:5]
con = duckdb.connect()
con.execute(f"SET threads={threads}")
if limit:
    con.execute(f"SET memory_limit='{limit}'")
con.execute(views)
con.execute(sql).fetchall()
"""


def peak_rss_mb(argv, cwd, timeout):
    """Runs argv under /usr/bin/time -v; returns (CompletedProcess, peak RSS in MB or None)."""
    if not os.access("/usr/bin/time", os.X_OK):
        p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p, None
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + argv, cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
        return p, (int(m.group(1)) / 1024 if m else None)


class DuckDB:
    def __init__(self, threads, views, memory_limit=None):
        import duckdb
        self.version = duckdb.__version__
        self.threads, self.views, self.memory_limit = threads, views, memory_limit
        self.con = duckdb.connect()
        self.con.execute(f"SET threads={int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit='{memory_limit}'")
        self.con.execute(views)

    def measure_rss(self, sql, timeout):
        """Peak RSS (MB) of a fresh Python process running `sql` in DuckDB (Python included)."""
        argv = [sys.executable, "-c", DUCKDB_RSS_SCRIPT, str(self.threads), self.memory_limit or "",
                self.views, sql]
        p, rss = peak_rss_mb(argv, ROOT, timeout)
        if p.returncode != 0:
            raise RuntimeError(f"duckdb exited {p.returncode}: {stderr_tail(p.stderr)}")
        return rss

    def run_timed(self, sql):
        t0 = time.perf_counter()
        self.con.execute(sql).fetchall()
        return time.perf_counter() - t0

    def answer(self, sql):
        cur = self.con.execute(sql)
        rows = cur.fetchall()
        cols = [d[0] for d in cur.description]
        return cols, rows


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", default="1", help="scale factor (default 1)")
    ap.add_argument("--queries", default="all", help="e.g. 1,6,3 or 1-22 (default all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per engine and query (default 5)")
    ap.add_argument("--rask", default="target/release/rask", help="rask binary (default target/release/rask)")
    ap.add_argument("--no-duckdb", action="store_true", help="run rask only (no answer check)")
    ap.add_argument("--no-rask", action="store_true", help="run DuckDB only")
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per rask run (default 600)")
    ap.add_argument("--query-dir", default=os.path.join(ROOT, "queries", "tpch"))
    ap.add_argument("--memory-limit", metavar="SIZE",
                    help="memory limit for both engines, e.g. 1GB (rask --memory-limit, DuckDB SET memory_limit)")
    ap.add_argument("--duckdb-rss", action="store_true",
                    help="also measure DuckDB's peak RSS (one extra fresh process per query)")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    cwd = os.getcwd()
    rask_path = args.rask
    if os.sep in rask_path:
        cand = os.path.abspath(os.path.join(cwd, rask_path))
        if not os.path.exists(cand):
            cand = os.path.join(ROOT, rask_path)
        rask_path = cand
    else:
        rask_path = shutil.which(rask_path) or os.path.join(ROOT, rask_path)
    json_path = os.path.abspath(os.path.join(cwd, args.json)) if args.json else None
    query_dir = os.path.abspath(os.path.join(cwd, args.query_dir))
    queries = parse_queries(args.queries)
    sf = sf_name(args.sf)

    use_rask = not args.no_rask
    use_duck = not args.no_duckdb
    if not use_rask and not use_duck:
        ap.error("--no-rask and --no-duckdb leave nothing to run")
    if use_duck:
        try:
            import duckdb  # noqa: F401
        except ImportError:
            print("tpch.py: the duckdb Python package is not installed (pip install duckdb): "
                  "running rask only, answers NOT checked", file=sys.stderr)
            use_duck = False
            if not use_rask:
                return 2
    if use_rask and not (os.path.isfile(rask_path) and os.access(rask_path, os.X_OK)):
        print(f"tpch.py: rask binary not found at {rask_path}\n"
              f"  build it with `cargo build --release`, pass --rask PATH, or use --no-rask",
              file=sys.stderr)
        return 2

    # Data.
    data_rel = f"bench/data/sf{sf}"
    data_abs = os.path.join(ROOT, data_rel)
    if not all(os.path.isfile(os.path.join(data_abs, f"{t}.parquet")) for t in TABLES):
        print(f"tpch.py: {data_rel} is missing or incomplete; generating it", file=sys.stderr)
        subprocess.run(["bash", os.path.join(ROOT, "bench", "gen_tpch.sh"), sf], check=True)

    os.chdir(ROOT)  # the views use paths relative to the repository root, for both engines
    views = view_sql(data_rel)
    rask = Rask(rask_path, args.threads, views, args.timeout, args.memory_limit) if use_rask else None
    duck = DuckDB(args.threads, views, args.memory_limit) if use_duck else None

    if rask and not rask.time_bin:
        print("tpch.py: /usr/bin/time not found; measuring rask's peak RSS from wait4() instead.\n"
              "  For /usr/bin/time -v install it with `apt-get install time` (Debian/Ubuntu).",
              file=sys.stderr)

    engines = " vs ".join(e for e, on in (("rask", use_rask), (f"DuckDB {duck.version}" if duck else "", use_duck)) if on)
    limit_text = f", memory limit {args.memory_limit}" if args.memory_limit else ""
    print(f"TPC-H SF {sf}, {args.threads} threads{limit_text}, median of {args.runs} runs: {engines}")
    if use_rask:
        print(f"rask: {rask_path}")
    if use_rask and use_duck:
        print("note: rask times are whole processes (start-up, view creation, CSV output included); "
              "DuckDB times are in-process execute+fetchall (no start-up).")
    if not use_duck:
        print("note: DuckDB not run: answers are not checked.")
    print()

    results = []
    failed = False
    print_header()
    for q in queries:
        path = os.path.join(query_dir, f"q{q:02d}.sql")
        with open(path) as f:
            sql = f.read().strip()
        ordered = has_top_level_order_by(sql)
        res = {"query": q, "rask_times": [], "duckdb_times": [], "rask_median": None,
               "duckdb_median": None, "ratio": None, "rask_peak_mb": None, "answer_ok": None,
               "error": None, "rows": None, "duckdb_peak_mb": None}
        # Untimed reference/check runs (also warm the page cache for both).
        exp = None
        if duck:
            exp_cols, exp_rows = duck.answer(sql)
            res["rows"] = len(exp_rows)
            if args.duckdb_rss:
                res["duckdb_peak_mb"] = duck.measure_rss(sql, args.timeout)
        rask_ok = bool(rask)
        if rask:
            try:
                out, rss = rask.run_measured(sql)
                res["rask_peak_mb"] = rss
                if duck:
                    ok, msg = compare_answers(out, exp_cols, exp_rows, ordered)
                    res["answer_ok"] = ok
                    if not ok:
                        failed = True
                        print(f"q{q:02d}: WRONG ANSWER\n{msg}", file=sys.stderr)
                        res["error"] = "wrong answer: " + msg
                    elif msg:
                        print(f"q{q:02d}: {msg}", file=sys.stderr)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                failed = True
                rask_ok = False
                res["answer_ok"] = False
                res["error"] = str(e)
                print(f"q{q:02d}: rask failed: {e}", file=sys.stderr)
        for _ in range(args.runs):
            if rask_ok:
                try:
                    res["rask_times"].append(rask.run_timed(sql))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    failed = True
                    rask_ok = False
                    res["answer_ok"] = False
                    res["error"] = str(e)
                    res["rask_times"] = []
                    print(f"q{q:02d}: rask failed: {e}", file=sys.stderr)
            if duck:
                res["duckdb_times"].append(duck.run_timed(sql))
        if res["rask_times"]:
            res["rask_median"] = statistics.median(res["rask_times"])
        if res["duckdb_times"]:
            res["duckdb_median"] = statistics.median(res["duckdb_times"])
        if res["rask_median"] and res["duckdb_median"]:
            res["ratio"] = res["rask_median"] / res["duckdb_median"]
        results.append(res)
        print_row(res)
        sys.stdout.flush()

    gm = {
        "rask_median": geomean([r["rask_median"] for r in results]),
        "duckdb_median": geomean([r["duckdb_median"] for r in results]),
        "ratio": geomean([r["ratio"] for r in results]),
        "rask_peak_mb": geomean([r["rask_peak_mb"] for r in results]),
        "duckdb_peak_mb": geomean([r["duckdb_peak_mb"] for r in results]),
    }
    n_ok = sum(1 for r in results if r["answer_ok"])
    n_checked = sum(1 for r in results if r["answer_ok"] is not None)
    print("-" * 78)
    ok_text = f"{n_ok}/{n_checked}" if n_checked else "-"
    print(f"{'geomean':<8}{fmt(gm['rask_median'], '12.3f')}{fmt(gm['duckdb_median'], '12.3f'):>12}"
          f"{fmt(gm['ratio'], '10.2f'):>10}{fmt(gm['rask_peak_mb'], '12.1f'):>12}"
          f"{fmt(gm['duckdb_peak_mb'], '12.1f'):>12}{ok_text:>12}")
    if any(r["ratio"] is None for r in results) and gm["ratio"] is not None:
        print("(geomeans are over the queries that have a value; the ratio's over those with both)")

    if json_path:
        meta = {
            "sf": sf, "threads": args.threads, "runs": args.runs, "queries": queries,
            "memory_limit": args.memory_limit,
            "rask": rask_path if use_rask else None,
            "duckdb_version": duck.version if duck else None,
            "rask_timing": "whole process (start-up included)",
            "duckdb_timing": "in-process execute+fetchall",
            "rss_method": (None if not rask else "/usr/bin/time -v" if rask.time_bin else "wait4 rusage"),
            "host": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        with open(json_path, "w") as f:
            json.dump({"meta": meta, "results": results, "geomean": gm}, f, indent=2)
        print(f"results written to {json_path}")
    if failed:
        print("FAILED: see the messages above", file=sys.stderr)
        return 1
    return 0


def print_header():
    print(f"{'query':<8}{'rask s':>12}{'duckdb s':>12}{'ratio':>10}{'rask MB':>12}{'duckdb MB':>12}{'answer':>12}")
    print("-" * 78)
    sys.stdout.flush()


def print_row(r):
    ok = {True: "ok", False: "WRONG" if (r["error"] or "").startswith("wrong") else "ERROR",
          None: "-"}[r["answer_ok"]]
    print(f"{'q%02d' % r['query']:<8}{fmt(r['rask_median'], '12.3f')}{fmt(r['duckdb_median'], '12.3f'):>12}"
          f"{fmt(r['ratio'], '10.2f'):>10}{fmt(r['rask_peak_mb'], '12.1f'):>12}"
          f"{fmt(r['duckdb_peak_mb'], '12.1f'):>12}{ok:>12}")


if __name__ == "__main__":
    sys.exit(main())
