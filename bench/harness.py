"""Shared benchmark machinery for bench/*.py: engines, timing, peak RSS, answer checking, tables.

Engines (each runs one query text or query spec; see bench/README.md for what is timed):
  * Rask:    the binary, one process per run, timed from spawn to exit.
  * DuckDB:  the duckdb Python package in this process, timed around execute().fetchall();
             its peak RSS comes from one extra run in a fresh process.
  * Polars:  a long-lived child process (bench/polars_worker.py) that times `.collect()` itself;
             its untimed first run is a fresh `polars_worker.py once` process for the answer and
             the peak RSS. POLARS_MAX_THREADS is set in the child's environment.
`run_suite` runs a list of `Query`s on those engines: untimed first runs (answers + peak RSS),
then the engines alternately run by run, medians, ratio, geomean, answers checked against DuckDB.
"""

import csv
import datetime as dt
import decimal
import io
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
REL_TOL = 1e-6
ABS_TOL = 1e-9


# ---------------------------------------------------------------- small helpers

def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(x, spec):
    """format(x, spec), or '-' right-aligned to the same width when x is None."""
    width = int(re.match(r"\d*", spec).group() or 0)
    return "-".rjust(width) if x is None else format(x, spec)


def stderr_tail(b, limit=2000):
    t = (b.decode(errors="replace") if isinstance(b, bytes) else b).strip()
    return t if len(t) <= limit else "..." + t[-limit:]


def parse_args(ap):
    """Parses a benchmark's arguments (it has --runs, --rask and --json) and returns
    (args, cwd, rask binary path, JSON output path or None)."""
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    cwd = os.getcwd()
    json_path = os.path.abspath(os.path.join(cwd, args.json)) if args.json else None
    return args, cwd, resolve_binary(args.rask, cwd), json_path


def exit_status(failed):
    """The process exit status of a benchmark run: 1 (with a message) when something failed."""
    if failed:
        print("FAILED: see the messages above", file=sys.stderr)
        return 1
    return 0


def resolve_binary(path, cwd=None):
    """A binary given on the command line: relative to cwd, else to the repository root."""
    import shutil
    cwd = cwd or os.getcwd()
    if os.sep in path:
        cand = os.path.abspath(os.path.join(cwd, path))
        return cand if os.path.exists(cand) else os.path.join(ROOT, path)
    return shutil.which(path) or os.path.join(ROOT, path)


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


# ---------------------------------------------------------------- peak RSS

TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_measured(argv, cwd=ROOT, timeout=None, env=None, stdout_path=None):
    """Runs argv to completion; returns (CompletedProcess, peak RSS in MB or None).

    With stdout_path the child's stdout goes to that file (and p.stdout is empty).
    The RSS is /usr/bin/time -v's "Maximum resident set size"; without /usr/bin/time it is the
    same number from the kernel, via wait4() on this one child."""
    if stdout_path:
        with open(stdout_path, "wb") as out:
            p, rss = _run_measured(argv, cwd, timeout, env, out)
        return p, rss
    return _run_measured(argv, cwd, timeout, env, subprocess.PIPE)


def _run_measured(argv, cwd, timeout, env, stdout):
    if TIME_BIN:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            p = run_group([TIME_BIN, "-v", "-o", tf.name] + argv, cwd, timeout, env, stdout)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
            return p, (int(m.group(1)) / 1024 if m else None)
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=fo if stdout == subprocess.PIPE else stdout,
                                stderr=fe)
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if timer and not timer.is_alive() and proc.returncode == -9:
            raise subprocess.TimeoutExpired(argv, timeout)
        fo.seek(0)
        fe.seek(0)
        p = subprocess.CompletedProcess(argv, proc.returncode, fo.read(), fe.read())
        return p, ru.ru_maxrss / 1024  # kB on Linux


def run_group(argv, cwd=ROOT, timeout=None, env=None, stdout=subprocess.PIPE):
    """subprocess.run in a new process group, so that a timeout kills the whole group
    (e.g. the engine under /usr/bin/time, not only /usr/bin/time)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def rss_method():
    return "/usr/bin/time -v" if TIME_BIN else "wait4 rusage"


def warn_no_time_bin(prog):
    if not TIME_BIN:
        print(f"{prog}: /usr/bin/time not found; measuring peak RSS from wait4() instead.\n"
              "  For /usr/bin/time -v install it with `apt-get install time` (Debian/Ubuntu).",
              file=sys.stderr)


class EngineError(RuntimeError):
    """An engine failed to run a query (the message is its error text)."""


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
    """CSV cell -> (kind, value), interpreted by the kind DuckDB has in that column."""
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


def compare_answers(csv_text, exp_cols, exp_rows, ordered, engine="rask"):
    """Compares an engine's CSV output (header row first) with DuckDB's rows.

    Returns (ok, message): message explains the first mismatch, or notes (header names)."""
    lines = list(csv.reader(io.StringIO(csv_text)))
    if not lines:
        if not exp_rows:
            return True, ""
        return False, f"{engine} printed nothing; DuckDB has {len(exp_rows)} rows (a CSV header row was expected)"
    header, data = lines[0], lines[1:]
    notes = []
    if len(header) != len(exp_cols):
        return False, (f"column count differs: {engine} {len(header)} {header} vs DuckDB "
                       f"{len(exp_cols)} {exp_cols}")
    if [h.lower() for h in header] != [c.lower() for c in exp_cols]:
        notes.append(f"(note: column names differ: {engine} {header} vs DuckDB {exp_cols})")
    ncols = len(exp_cols)
    kinds = column_kinds(exp_rows, ncols)
    for i, r in enumerate(data):
        if len(r) != ncols:
            return False, f"{engine} data row {i + 1} has {len(r)} fields, expected {ncols}: {r}"
    # Each row is (canonical cells, raw cells as printed by each engine, for messages).
    act = [([canon_actual(c, kinds[j]) for j, c in enumerate(r)], list(r)) for r in data]
    exp = [([canon_expected(v) for v in r], [raw_expected(v) for v in r]) for r in exp_rows]
    how = "in order (query has ORDER BY)" if ordered else "after sorting both sides (no ORDER BY)"
    if not ordered:
        act.sort(key=lambda r: sort_key(r[0]))
        exp.sort(key=lambda r: sort_key(r[0]))
    w = max(len(engine), 6)
    for i in range(min(len(act), len(exp))):
        for j in range(ncols):
            if not cell_equal(act[i][0][j], exp[i][0][j]):
                msg = [f"first mismatch at row {i + 1}, column {j + 1} '{exp_cols[j]}', compared {how}:",
                       f"    {engine + ':':<{w + 1}} {act[i][1][j]!r}",
                       f"    {'duckdb:':<{w + 1}} {exp[i][1][j]!r}",
                       f"  {engine} row {i + 1}: {row_text(act[i][1])}",
                       f"  duckdb row {i + 1}: {row_text(exp[i][1])}"]
                if len(act) != len(exp):
                    msg.append(f"  (also: {engine} has {len(act)} rows, DuckDB {len(exp)})")
                elif ordered and sorted_equal([a[0] for a in act], [e[0] for e in exp]):
                    msg.append("  (the same rows in a different order: ties in ORDER BY, or a wrong sort)")
                return False, "\n".join(notes + msg)
    if len(act) != len(exp):
        i = min(len(act), len(exp))
        extra = (f"first extra {engine} row {i + 1}: {row_text(act[i][1])}" if len(act) > len(exp)
                 else f"first missing row {i + 1} (DuckDB's): {row_text(exp[i][1])}")
        return False, "\n".join(notes + [f"row count differs: {engine} {len(act)}, DuckDB {len(exp)}; "
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


# ---------------------------------------------------------------- the reference answer

LARGE_RESULT = 250_000  # rows; larger answers are compared inside DuckDB instead of in Python


def strip_semicolons(sql):
    return sql.strip().rstrip(";").strip()


class Expected:
    """DuckDB's answer to one query, kept in a temporary table of the benchmark's connection.

    Up to LARGE_RESULT rows it is fetched and compared in Python (compare_answers); a larger
    answer is compared inside DuckDB (compare_in_duckdb), both sides sorted."""

    def __init__(self, con, query):
        self.con = con
        con.execute(f"CREATE OR REPLACE TEMP TABLE __expected AS {strip_semicolons(query.sql)}")
        self.nrows = con.execute("SELECT count(*) FROM __expected").fetchone()[0]
        cur = con.execute("SELECT * FROM __expected LIMIT 0")
        self.cols = [d[0] for d in cur.description]
        self.types = [r[1] for r in con.execute("DESCRIBE __expected").fetchall()]
        self.large = self.nrows > LARGE_RESULT
        self.rows = None if self.large else con.execute("SELECT * FROM __expected").fetchall()

    def check(self, path, engine, ordered):
        """(ok, message) for the engine's CSV output in the file at path."""
        if not self.large:
            with open(path, newline="") as f:
                return compare_answers(f.read(), self.cols, self.rows, ordered, engine)
        return compare_in_duckdb(self.con, path, self.cols, self.types, self.nrows, engine)

    def close(self):
        self.con.execute("DROP TABLE IF EXISTS __expected")
        self.con.execute("DROP TABLE IF EXISTS __actual")


NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def compare_in_duckdb(con, path, cols, types, nrows, engine):
    """Compares a large CSV answer with the table __expected inside DuckDB: the CSV is read with
    __expected's column types, both sides are numbered in sorted order (all columns) and joined on
    that number; numbers must agree within REL_TOL/ABS_TOL, other values exactly."""
    with open(path, newline="") as f:
        header = next(csv.reader(f), None)
    if header is None:
        return False, f"{engine} printed nothing; DuckDB has {nrows} rows (a CSV header row was expected)"
    if len(header) != len(cols):
        return False, f"column count differs: {engine} {len(header)} {header} vs DuckDB {len(cols)} {cols}"
    notes = []
    if [h.lower() for h in header] != [c.lower() for c in cols]:
        notes.append(f"(note: column names differ: {engine} {header} vs DuckDB {cols})")
    names = [f"c{i}" for i in range(len(cols))]
    columns = "{" + ", ".join(f"'{n}': '{t}'" for n, t in zip(names, types)) + "}"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __actual AS SELECT * FROM read_csv('{path}', header = true, "
                    f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', columns = {columns})")
    except Exception as e:  # duckdb.Error
        return False, f"{engine}'s CSV does not read as DuckDB's column types {types}: {e}"
    nact = con.execute("SELECT count(*) FROM __actual").fetchone()[0]
    mismatch = []
    for n, t in zip(names, types):
        if t.split("(")[0] in NUMERIC_TYPES:
            x, y = f"e.{n}::DOUBLE", f"a.{n}::DOUBLE"
            mismatch.append(f"NOT coalesce(e.{n} IS NOT DISTINCT FROM a.{n} OR abs({x} - {y}) <= "
                            f"greatest({REL_TOL} * greatest(abs({x}), abs({y})), {ABS_TOL}), false)")
        else:
            mismatch.append(f"e.{n} IS DISTINCT FROM a.{n}")
    order = ", ".join(names)
    renamed = ", ".join(f'"{c}" AS {n}' for c, n in zip(cols, names))
    sql = (f"WITH e AS (SELECT row_number() OVER (ORDER BY {order}) AS rn, * FROM (SELECT {renamed} FROM __expected)), "
           f"a AS (SELECT row_number() OVER (ORDER BY {order}) AS rn, * FROM __actual) "
           f"SELECT e.rn, a.rn, [{', '.join(f'e.{n}::VARCHAR' for n in names)}], "
           f"[{', '.join(f'a.{n}::VARCHAR' for n in names)}], [{', '.join(mismatch)}], count(*) OVER () "
           f"FROM e FULL OUTER JOIN a ON e.rn = a.rn "
           f"WHERE e.rn IS NULL OR a.rn IS NULL OR {' OR '.join(mismatch)} ORDER BY coalesce(e.rn, a.rn) LIMIT 1")
    bad = con.execute(sql).fetchone()
    con.execute("DROP TABLE IF EXISTS __actual")
    how = "after sorting both sides (large answer, compared in DuckDB)"
    if bad is None:
        return True, "\n".join(notes)
    ern, arn, erow, arow, flags, nbad = bad
    if nact != nrows:
        msg = [f"row count differs: {engine} {nact}, DuckDB {nrows}; compared {how}"]
    else:
        j = flags.index(True)
        msg = [f"{nbad} rows differ; the first at row {ern}, column {j + 1} '{cols[j]}', compared {how}:",
               f"    {engine}: {arow[j]!r}", f"    duckdb: {erow[j]!r}"]
    if arow is not None and arn is not None:
        msg.append(f"  {engine} row {arn}: {row_text(['' if v is None else v for v in arow])}")
    if erow is not None and ern is not None:
        msg.append(f"  duckdb row {ern}: {row_text(['NULL' if v is None else v for v in erow])}")
    return False, "\n".join(notes + msg)


# ---------------------------------------------------------------- engines

class Query:
    """One benchmark query.

    name:   label in the table (q01, q1, scan);
    sql:    the query text for rask and DuckDB (the setup views are created separately);
    polars: a spec for bench/polars_worker.py ({"sql": text} or {"native": "module:function"});
            the worker adds the tables; None when Polars has no version of this query;
    ordered: compare answers in order (the outermost query has ORDER BY) or after sorting."""

    def __init__(self, name, sql, polars=None, ordered=None):
        self.name, self.sql, self.polars = name, sql, polars
        self.ordered = has_top_level_order_by(sql) if ordered is None else ordered


class Rask:
    """The rask binary: `rask --threads N --format csv -c <setup> -c <query>`, one process per run.

    fetch='csv': timed runs print the SELECT's result as CSV into a pipe that is read to the end;
    fetch='table': timed runs run `CREATE TABLE ans AS <query>` instead (nothing printed)."""

    label = "rask"

    def __init__(self, path, threads, setup, timeout, memory_limit=None, fetch="csv"):
        self.path, self.threads, self.setup, self.timeout = path, threads, setup, timeout
        self.memory_limit, self.fetch = memory_limit, fetch

    def argv(self, sql):
        limit = ["--memory-limit", self.memory_limit] if self.memory_limit else []
        setup = ["-c", self.setup] if self.setup else []
        return [self.path, "--threads", str(self.threads), *limit, "--format", "csv", *setup, "-c", sql]

    def timed_sql(self, query):
        return f"CREATE TABLE ans AS {strip_semicolons(query.sql)}" if self.fetch == "table" else query.sql

    def run_timed(self, query):
        t0 = time.perf_counter()
        try:
            p = subprocess.run(self.argv(self.timed_sql(query)), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise EngineError(f"rask timed out after {self.timeout:g} s")
        el = time.perf_counter() - t0
        if p.returncode != 0:
            raise EngineError(f"rask exited {p.returncode}: {stderr_tail(p.stderr)}")
        return el

    def first_run(self, query, out_path):
        """Untimed run printing the answer as CSV into out_path; returns the peak RSS in MB."""
        try:
            p, rss = run_measured(self.argv(query.sql), timeout=self.timeout, stdout_path=out_path)
        except subprocess.TimeoutExpired:
            raise EngineError(f"rask timed out after {self.timeout:g} s")
        if p.returncode != 0:
            raise EngineError(f"rask exited {p.returncode}: {stderr_tail(p.stderr)}")
        return rss

    def warm_up(self, query):
        """Nothing: every rask run is a fresh process."""

    def close(self):
        pass


# Runs one statement in a fresh DuckDB process (for its peak RSS).
DUCKDB_RSS_SCRIPT = """
import sys, duckdb
threads, limit, fetch, setup, sql = sys.argv[1:6]
con = duckdb.connect()
con.execute(f"SET threads={threads}")
if limit:
    con.execute(f"SET memory_limit='{limit}'")
if setup:
    con.execute(setup)
if sql and fetch == "table":
    con.execute("CREATE TEMP TABLE ans AS " + sql.strip().rstrip(";"))
elif sql:
    con.execute(sql).fetchall()
"""


class DuckDB:
    """The duckdb Python package in this process (one connection, `SET threads=N`, the setup).

    fetch='fetchall': timed runs are `con.execute(q).fetchall()` (Python objects);
    fetch='table': `CREATE TEMP TABLE ans AS q` (materialised inside DuckDB; dropped untimed)."""

    label = "duckdb"

    def __init__(self, threads, setup, timeout, memory_limit=None, fetch="fetchall"):
        import duckdb
        self.version = duckdb.__version__
        self.threads, self.setup, self.timeout, self.memory_limit = threads, setup, timeout, memory_limit
        self.fetch = fetch
        self.con = duckdb.connect()
        self.con.execute(f"SET threads={int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit='{memory_limit}'")
        if setup:
            self.con.execute(setup)

    def rss_argv(self, sql):
        return [sys.executable, "-c", DUCKDB_RSS_SCRIPT, str(self.threads), self.memory_limit or "",
                self.fetch, self.setup or "", sql]

    def measure_rss(self, query):
        """Peak RSS (MB) of a fresh Python process running the query in DuckDB (Python included)."""
        try:
            p, rss = run_measured(self.rss_argv(query.sql), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise EngineError(f"duckdb timed out after {self.timeout:g} s")
        if p.returncode != 0:
            raise EngineError(f"duckdb exited {p.returncode}: {stderr_tail(p.stderr)}")
        return rss

    def baseline_rss(self):
        """Peak RSS of the same fresh process with no query (Python + duckdb + setup)."""
        p, rss = run_measured(self.rss_argv(""), timeout=self.timeout)
        return rss if p.returncode == 0 else None

    def run_timed(self, query):
        if self.fetch == "table":
            t0 = time.perf_counter()
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE ans AS {strip_semicolons(query.sql)}")
            el = time.perf_counter() - t0
            self.con.execute("DROP TABLE ans")
            return el
        t0 = time.perf_counter()
        self.con.execute(query.sql).fetchall()
        return time.perf_counter() - t0

    def expected(self, query):
        """The reference answer (an Expected; close it when done)."""
        return Expected(self.con, query)

    def warm_up(self, query):
        """Nothing: `expected` already ran the query in this connection."""

    def close(self):
        self.con.close()


POLARS_WORKER = os.path.join(BENCH, "polars_worker.py")


def polars_version():
    """The installed polars version (without importing it here), or None."""
    try:
        from importlib.metadata import version
        return version("polars")
    except Exception:
        return None


class Polars:
    """Polars in a child process (bench/polars_worker.py serve) that stays alive between runs and
    times each `.collect()` itself, so Python and Polars start-up are not in the times.

    tables: {name: {"path": file, "format": "parquet"|"csv", ...}} registered for every query."""

    label = "polars"

    def __init__(self, threads, tables, timeout):
        self.threads, self.tables, self.timeout = threads, tables, timeout
        self.env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
        self.version = polars_version()
        self.proc = None

    def _spec(self, query):
        return dict(query.polars, tables=self.tables)

    def _worker(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, POLARS_WORKER, "serve"], cwd=ROOT, env=self.env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self.proc

    def run_timed(self, query):
        proc = self._worker()
        proc.stdin.write(json.dumps(self._spec(query)) + "\n")
        proc.stdin.flush()
        # A watchdog: a stuck query kills the worker (a new one starts for the next query).
        timer = threading.Timer(self.timeout, proc.kill)
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            self.proc = None
            raise EngineError(f"polars worker died (exit {proc.wait()}; timeout {self.timeout:g} s)")
        reply = json.loads(line)
        if "error" in reply:
            raise EngineError(f"polars: {reply['error']}")
        return reply["seconds"]

    def warm_up(self, query):
        """One untimed run in the worker (as DuckDB's reference run is for DuckDB)."""
        self.run_timed(query)

    def first_run(self, query, out_path):
        """Untimed run in a fresh process writing the answer as CSV into out_path; returns the peak RSS."""
        argv = [sys.executable, POLARS_WORKER, "once", json.dumps(self._spec(query)), out_path]
        try:
            p, rss = run_measured(argv, timeout=self.timeout, env=self.env)
        except subprocess.TimeoutExpired:
            raise EngineError(f"polars timed out after {self.timeout:g} s")
        if p.returncode != 0:
            raise EngineError(f"polars exited {p.returncode}: {stderr_tail(p.stderr)}")
        return rss

    def baseline_rss(self):
        """Peak RSS of a fresh worker that imports polars and runs nothing."""
        p, rss = run_measured([sys.executable, POLARS_WORKER, "baseline"], env=self.env, timeout=self.timeout)
        return rss if p.returncode == 0 else None

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- the suite runner

ENGINES = ("rask", "duckdb", "polars")


def new_result(name):
    r = {"query": name, "error": {}, "answer": {}, "times": {}, "median": {}, "peak_mb": {}, "rows": None,
         "ratio": None}
    for e in ENGINES:
        r["times"][e] = []
        r["median"][e] = None
        r["peak_mb"][e] = None
        r["answer"][e] = None  # True ok, False wrong or failed, None not checked
    return r


def run_suite(queries, rask, duck, polars, runs, ratio="best", out=sys.stdout):
    """Runs each query on the engines given (any may be None); prints a table row per query and
    the geomean row; returns (results, geomeans, failed).

    Per query: DuckDB's reference answer (in-process, kept in a temp table) and its peak RSS (a
    fresh process); rask's and Polars' untimed first runs in fresh processes (answer written to
    a temp file and checked against DuckDB's; peak RSS); an untimed warm-up run in the Polars
    worker; then `runs` rounds in which the engines run one after the other (rask, DuckDB,
    Polars, rask, ...). An engine that fails is not timed further on that query.
    ratio: 'best' = rask / min(DuckDB, Polars), 'duckdb' = rask / DuckDB."""
    engines = {"rask": rask, "duckdb": duck, "polars": polars}
    results, failed = [], False
    table = Table(ratio, out)
    table.header()
    tmp_dir = tempfile.mkdtemp(prefix="rask-bench-")
    try:
        for q in queries:
            res = run_query(q, engines, runs, tmp_dir)
            res["ratio"] = ratio_of(res["median"], ratio)
            failed |= bool(res["error"])
            results.append(res)
            table.row(res)
            for name, err in res["error"].items():
                print(f"    {name} {'WRONG ANSWER' if err.startswith('wrong answer') else 'FAILED'}: "
                      + err.replace("\n", "\n    "), file=out)
            out.flush()
    finally:
        import shutil
        shutil.rmtree(tmp_dir, ignore_errors=True)
    gm = {
        "median": {e: geomean([r["median"][e] for r in results]) for e in ENGINES},
        "peak_mb": {e: geomean([r["peak_mb"][e] for r in results]) for e in ENGINES},
        "ratio": geomean([r["ratio"] for r in results]),
    }
    table.geomean(gm, results)
    return results, gm, failed


def run_query(q, engines, runs, tmp_dir):
    """One query on the engines (see run_suite); the result dict."""
    res = new_result(q.name)
    live = {e: eng is not None and (e != "polars" or q.polars is not None) for e, eng in engines.items()}

    def fail(engine, err, wrong=False):
        res["answer"][engine] = False
        res["error"][engine] = ("wrong answer: " if wrong else "") + str(err)
        if not wrong:
            live[engine] = False
            res["times"][engine] = []

    exp = None
    duck = engines["duckdb"]
    try:
        if duck:
            try:
                exp = duck.expected(q)
                res["rows"] = exp.nrows
                res["peak_mb"]["duckdb"] = duck.measure_rss(q)
            except Exception as e:  # duckdb.Error or EngineError: the reference itself failed
                fail("duckdb", e)
        for name in ("rask", "polars"):
            if not live[name]:
                continue
            path = os.path.join(tmp_dir, f"{q.name}.{name}.csv")
            try:
                res["peak_mb"][name] = engines[name].first_run(q, path)
                if exp is not None:
                    ok, msg = exp.check(path, name, q.ordered)
                    res["answer"][name] = ok
                    if not ok:
                        fail(name, msg, wrong=True)
                    elif msg:
                        print(f"{q.name}: {msg}", file=sys.stderr)
            except EngineError as e:
                fail(name, e)
            finally:
                if os.path.exists(path):
                    os.remove(path)
    finally:
        if exp is not None:
            exp.close()
    for name in ENGINES:
        if live[name]:
            try:
                engines[name].warm_up(q)
            except EngineError as e:
                fail(name, e)
    for _ in range(runs):
        for name in ENGINES:
            if not live[name]:
                continue
            try:
                res["times"][name].append(engines[name].run_timed(q))
            except EngineError as e:
                fail(name, e)
            except Exception as e:  # duckdb.Error
                fail(name, f"{type(e).__name__}: {e}")
    for name in ENGINES:
        if res["times"][name]:
            res["median"][name] = statistics.median(res["times"][name])
    return res


def ratio_of(medians, ratio):
    r = medians["rask"]
    others = [medians["duckdb"]] if ratio == "duckdb" else [medians["duckdb"], medians["polars"]]
    others = [o for o in others if o]
    return r / min(others) if r and others else None


class Table:
    """The result table: times (s), ratio, peak RSS (MB) per engine, answers."""

    def __init__(self, ratio, out):
        self.ratio_label = "rask/best" if ratio == "best" else "rask/duck"
        self.out = out

    def header(self):
        print(f"{'query':<8}{'rask s':>9}{'duckdb s':>10}{'polars s':>10}{self.ratio_label:>11}"
              f"{'rask MB':>9}{'duckdb MB':>11}{'polars MB':>11}  answers", file=self.out)
        print("-" * 90, file=self.out)
        self.out.flush()

    def row(self, r):
        m, p = r["median"], r["peak_mb"]
        print(f"{r['query']:<8}{fmt(m['rask'], '9.3f')}{fmt(m['duckdb'], '10.3f')}{fmt(m['polars'], '10.3f')}"
              f"{fmt(r['ratio'], '11.2f')}{fmt(p['rask'], '9.0f')}{fmt(p['duckdb'], '11.0f')}"
              f"{fmt(p['polars'], '11.0f')}  {answers_text(r)}", file=self.out)

    def geomean(self, gm, results):
        m, p = gm["median"], gm["peak_mb"]
        print("-" * 90, file=self.out)
        print(f"{'geomean':<8}{fmt(m['rask'], '9.3f')}{fmt(m['duckdb'], '10.3f')}{fmt(m['polars'], '10.3f')}"
              f"{fmt(gm['ratio'], '11.2f')}{fmt(p['rask'], '9.0f')}{fmt(p['duckdb'], '11.0f')}"
              f"{fmt(p['polars'], '11.0f')}", file=self.out)
        complete = all(r["median"][e] is not None for r in results for e in ENGINES
                       if any(x["median"][e] is not None for x in results))
        if not complete:
            print("(geomeans are over the queries that have a value; an engine that failed a query "
                  "is left out of that query's ratio)", file=self.out)


def answers_text(r):
    """'ok' when every checked answer is right, else e.g. 'rask ERROR, polars WRONG'."""
    parts = []
    for e in ("rask", "polars", "duckdb"):
        err = r["error"].get(e)
        if err is not None:
            parts.append(f"{e} {'WRONG' if err.startswith('wrong answer') else 'ERROR'}")
    if parts:
        return ", ".join(parts)
    return "ok" if any(v for v in r["answer"].values()) else "-"


def metadata(**extra):
    """Host and run facts for --json output."""
    meta = {
        "host": platform.node(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rss_method": rss_method(),
        "rask_timing": "whole process (start-up included)",
        "duckdb_timing": "in-process execute+fetchall",
        "polars_timing": "collect() in a long-lived worker process",
    }
    meta.update(extra)
    return meta


def write_json(path, meta, results, gm):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": results, "geomean": gm}, f, indent=2, default=str)
    print(f"results written to {path}")
