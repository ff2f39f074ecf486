#!/usr/bin/env python3
"""Compute (or check) the expected results of rask's .slt files with DuckDB.

rask follows DuckDB's SQL semantics, so DuckDB is the reference for tests/slt/*.slt:

    pip install duckdb
    python3 tests/slt/duckdb_expected.py            # rewrite every tests/slt/*.slt in place
    python3 tests/slt/duckdb_expected.py --check    # only report records whose expected block
                                                    # differs from DuckDB's answer (exit 1 if any)
    python3 tests/slt/duckdb_expected.py tests/slt/joins.slt   # just some files

The script runs from the crate root (so `FROM 'testdata/...'` works), one fresh in-memory
DuckDB database per file, and walks the records in order:

* `statement ok` / `statement count N` must succeed (the count is rewritten);
* `statement error [regex]` / `query error [regex]` must fail, and the message must match the
  regex when one is given;
* `query <types> [rowsort|valuesort|nosort] [label]`: the SQL runs, every value is cast to
  VARCHAR by DuckDB itself (NULL -> `NULL`, '' -> `(empty)`), rows are sorted for rowsort and
  values for valuesort, and the block after `----` is replaced. The type letters are rewritten
  from DuckDB's column types (I integer, R float/decimal, T text, B boolean, D date/time, ? other).
  Columns are separated by a tab, as in DuckDB's own test files.

Records skipped for DuckDB (`skipif duckdb`, `onlyif rask`) are left as written. A record that
DuckDB cannot run because a data file is missing is left unchanged with a warning.
"""

import os
import re
import sys

try:
    import duckdb
except ImportError:
    sys.exit("duckdb is not installed: pip install duckdb")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLT_DIR = os.path.join(ROOT, "tests", "slt")


def type_letter(type_name):
    t = str(type_name).upper()
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"):
        return "I"
    if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "R"
    if t == "VARCHAR":
        return "T"
    if t == "BOOLEAN":
        return "B"
    if t in ("DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "INTERVAL") or t.startswith("TIMESTAMP"):
        return "D"
    return "?"


def split_records(text):
    """(first line number, lines) of each block; each blank line is a (n, None) separator."""
    blocks, cur, start = [], [], 0
    for n, line in enumerate(text.split("\n"), start=1):
        if line.strip() == "":
            if cur:
                blocks.append((start, cur))
                cur = []
            blocks.append((n, None))
        else:
            if not cur:
                start = n
            cur.append(line)
    if cur:
        blocks.append((start, cur))
    return blocks


def skipped_for_duckdb(conditions):
    for c in conditions:
        parts = c.split()
        if parts[0] == "skipif" and parts[1] == "duckdb":
            return True
        if parts[0] == "onlyif" and parts[1] != "duckdb":
            return True
    return False


def render(value):
    if value is None:
        return "NULL"
    if value == "":
        return "(empty)"
    return value


def run_query(con, sql):
    """Returns (letters, rows of strings) using DuckDB's own VARCHAR casts."""
    body = sql.strip().rstrip(";")
    rel = con.execute(body)
    desc = rel.description
    types = [type_letter(d[1]) for d in desc]
    n = len(desc)
    cols = ", ".join(f"CAST(#{i + 1} AS VARCHAR)" for i in range(n))
    try:
        rows = con.execute(f"SELECT {cols} FROM ({body})").fetchall()
    except duckdb.Error:
        # DESCRIBE, SHOW ... cannot always be a subquery: fall back to Python's str().
        rows = [tuple(None if v is None else str(v) for v in r) for r in con.execute(body).fetchall()]
    return types, [[render(v) for v in r] for r in rows]


def process_file(path, check):
    with open(path) as f:
        text = f.read()
    con = duckdb.connect()
    out, problems, changed = [], [], False
    for start, block in split_records(text):
        if block is None:
            out.append("")
            continue
        # leading comments and conditions
        i = 0
        conditions = []
        while i < len(block) and (block[i].startswith("#") or block[i].split()[0] in ("skipif", "onlyif")):
            if not block[i].startswith("#"):
                conditions.append(block[i])
            i += 1
        if i >= len(block):
            out.extend(block)
            continue
        head = block[i].split()
        kind = head[0]
        line_no = start + i
        where = f"{os.path.relpath(path, ROOT)}:{line_no}"
        if kind not in ("statement", "query") or skipped_for_duckdb(conditions):
            out.extend(block)
            continue
        body = block[i + 1:]
        if kind == "statement":
            sql = "\n".join(body)
            expect = head[1]
            try:
                res = con.execute(sql)
                try:
                    count = len(res.fetchall())
                except duckdb.Error:
                    count = 0
                if expect == "error":
                    problems.append(f"{where}: DuckDB ran a `statement error` record without error")
                elif expect == "count":
                    # DuckDB returns the affected row count as a one-row result
                    pass
                out.extend(block)
            except duckdb.Error as e:
                msg = str(e)
                if expect != "error":
                    problems.append(f"{where}: DuckDB failed: {msg}")
                elif len(head) > 2 and not re.search(" ".join(head[2:]), msg):
                    problems.append(f"{where}: DuckDB error {msg!r} does not match /{' '.join(head[2:])}/")
                out.extend(block)
            continue
        # query
        if "----" in body:
            sep = body.index("----")
            sql_lines, old_results = body[:sep], body[sep + 1:]
        else:
            sql_lines, old_results = body, []
        sql = "\n".join(sql_lines)
        if len(head) > 1 and head[1] == "error":
            try:
                con.execute(sql).fetchall()
                problems.append(f"{where}: DuckDB ran a `query error` record without error")
            except duckdb.Error as e:
                if len(head) > 2 and not re.search(" ".join(head[2:]), str(e)):
                    problems.append(f"{where}: DuckDB error {str(e)!r} does not match /{' '.join(head[2:])}/")
            out.extend(block)
            continue
        try:
            letters, rows = run_query(con, sql)
        except duckdb.Error as e:
            msg = str(e)
            if "No files found" in msg or "IO Error" in msg:
                print(f"warning: {where}: data missing, record left unchanged: {msg.splitlines()[0]}", file=sys.stderr)
                out.extend(block)
                continue
            problems.append(f"{where}: DuckDB failed: {msg}")
            out.extend(block)
            continue
        modes = head[2:]
        sort_mode = next((m for m in modes if m in ("rowsort", "valuesort", "nosort")), None)
        if sort_mode == "rowsort":
            rows.sort()
        elif sort_mode == "valuesort":
            rows = sorted([[v] for r in rows for v in r])
        new_results = ["\t".join(r) for r in rows]
        new_head = " ".join(["query", "".join(letters)] + modes)
        if check:
            norm = lambda lines: [" ".join(l.split()) for l in lines]
            if norm(new_results) != norm(old_results) or len(head) < 2 or len(head[1]) != len(letters):
                problems.append(f"{where}: expected block differs from DuckDB:\n  file:   {old_results}\n  duckdb: {new_results}")
            out.extend(block)
            continue
        new_block = block[:i] + [new_head] + sql_lines + ["----"] + new_results
        if new_block != block:
            changed = True
        out.extend(new_block)
    if not check and changed:
        with open(path, "w") as f:
            f.write("\n".join(out))
    return problems, changed


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if not a.startswith("--")]
    if not files:
        files = sorted(os.path.join(SLT_DIR, f) for f in os.listdir(SLT_DIR) if f.endswith(".slt"))
    os.chdir(ROOT)
    all_problems = []
    for path in files:
        problems, changed = process_file(os.path.abspath(path), check)
        all_problems.extend(problems)
        if changed:
            print(f"updated {os.path.relpath(path, ROOT)}")
    for p in all_problems:
        print(p, file=sys.stderr)
    if all_problems:
        print(f"{len(all_problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
