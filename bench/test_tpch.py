"""Tests of the benchmarks' answer checking (bench/harness.py) and of bench/tpch.py's helpers
(no data or engine needed).

    python3 -m pytest bench/test_tpch.py      or      python3 bench/test_tpch.py
"""
import datetime as dt
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tpch  # noqa: E402

COLS = ["k", "amount", "day", "name"]
ROWS = [
    (1, Decimal("10.50"), dt.date(1995, 3, 14), "a b "),
    (2, Decimal("0.00"), dt.date(1996, 1, 1), None),
    (3, 2.0 / 3.0, dt.date(1997, 12, 31), "x,y"),
]
GOOD = 'k,amount,day,name\n1,10.5,1995-03-14,a b \n2,0,1996-01-01,\n3,0.666666666667,1997-12-31,"x,y"\n'


def test_equal():
    ok, msg = harness.compare_answers(GOOD, COLS, ROWS, ordered=True)
    assert ok, msg


def test_relative_tolerance():
    ok, _ = harness.compare_answers(GOOD.replace("10.5,", "10.500001,"), COLS, ROWS, True)
    assert ok
    ok, msg = harness.compare_answers(GOOD.replace("10.5,", "10.5001,"), COLS, ROWS, True)
    assert not ok and "row 1, column 2 'amount'" in msg and "'10.5001'" in msg


def test_zero_and_null():
    ok, msg = harness.compare_answers(GOOD.replace("2,0,", "2,0.0000000001,"), COLS, ROWS, True)
    assert ok, msg
    ok, msg = harness.compare_answers(GOOD.replace("2,0,", "2,,"), COLS, ROWS, True)
    assert not ok and "'amount'" in msg


def test_strings_and_dates():
    ok, msg = harness.compare_answers(GOOD.replace("a b \n", "a b\n"), COLS, ROWS, True)
    assert not ok and "'name'" in msg
    ok, msg = harness.compare_answers(GOOD.replace("1995-03-14", "1995-03-15"), COLS, ROWS, True)
    assert not ok and "'day'" in msg


def test_order():
    lines = GOOD.splitlines()
    swapped = "\n".join([lines[0], lines[2], lines[1], lines[3]]) + "\n"
    ok, msg = harness.compare_answers(swapped, COLS, ROWS, ordered=True)
    assert not ok and "different order" in msg
    ok, msg = harness.compare_answers(swapped, COLS, ROWS, ordered=False)
    assert ok, msg


def test_row_count():
    ok, msg = harness.compare_answers("\n".join(GOOD.splitlines()[:3]) + "\n", COLS, ROWS, True)
    assert not ok and "row count differs: rask 2, DuckDB 3" in msg
    ok, msg = harness.compare_answers(GOOD + "4,1,1998-01-01,z\n", COLS, ROWS, True)
    assert not ok and "extra rask row 4" in msg
    ok, msg = harness.compare_answers("", COLS, ROWS, True)
    assert not ok


def test_columns():
    ok, msg = harness.compare_answers("k,amount,day\n1,2,3\n", COLS, ROWS, True)
    assert not ok and "column count" in msg
    ok, msg = harness.compare_answers(GOOD.replace("amount", "sum(x)"), COLS, ROWS, True)
    assert ok and "column names differ" in msg


def test_order_by_detection():
    assert harness.has_top_level_order_by("select a from t order by a;")
    assert not harness.has_top_level_order_by("select a from (select a from t order by a) s;")
    assert not harness.has_top_level_order_by("select 'order by' from t -- order by\n;")
    assert not harness.has_top_level_order_by("select row_number() over (order by a) from t;")
    for q in range(1, 23):
        with open(os.path.join(harness.ROOT, "queries", "tpch", f"q{q:02d}.sql")) as f:
            sql = f.read()
        assert harness.has_top_level_order_by(sql) == (q not in (6, 14, 17, 19)), q


def test_parse_queries():
    assert tpch.parse_queries("1,6,3") == [1, 6, 3]
    assert tpch.parse_queries("all") == list(range(1, 23))
    assert tpch.parse_queries("20-22") == [20, 21, 22]
    assert tpch.sf_name("1.0") == "1" and tpch.sf_name("0.10") == "0.1"



def test_engine_label():
    ok, msg = harness.compare_answers(GOOD.replace("10.5,", "11,"), COLS, ROWS, True, engine="polars")
    assert not ok and "polars:" in msg and "polars row 1" in msg


class _Q:
    def __init__(self, sql):
        self.sql = sql


def _large_check(csv_text, sql="SELECT * FROM (VALUES ('a', 1, 0.5), ('b', 2, 1.0/3)) t(k, n, x)"):
    """Checks csv_text against DuckDB's answer to sql through the in-DuckDB (large answer) path."""
    import tempfile
    import duckdb
    con = duckdb.connect()
    old = harness.LARGE_RESULT
    harness.LARGE_RESULT = 0
    try:
        exp = harness.Expected(con, _Q(sql))
        assert exp.large
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write(csv_text)
        try:
            return exp.check(f.name, "rask", ordered=False)
        finally:
            os.remove(f.name)
            exp.close()
    finally:
        harness.LARGE_RESULT = old


def test_large_answer_in_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return
    ok, msg = _large_check("k,n,x\nb,2,0.333333333\na,1,0.5\n")
    assert ok, msg
    ok, msg = _large_check("k,n,x\nb,2,0.3334\na,1,0.5\n")
    assert not ok and "column 3 'x'" in msg and "1 rows differ" in msg, msg
    ok, msg = _large_check("k,n,x\na,1,0.5\n")
    assert not ok and "row count differs: rask 1, DuckDB 2" in msg, msg
    ok, msg = _large_check("k,n\na,1\nb,2\n")
    assert not ok and "column count" in msg
    ok, msg = _large_check("k,n,x\na,1,0.5\nb,two,0.3\n")
    assert not ok and "does not read" in msg


def test_ratio_and_answers_text():
    med = {"rask": 2.0, "duckdb": 1.0, "polars": 0.5}
    assert harness.ratio_of(med, "best") == 4.0 and harness.ratio_of(med, "duckdb") == 2.0
    assert harness.ratio_of(dict(med, polars=None), "best") == 2.0
    assert harness.ratio_of(dict(med, rask=None), "best") is None
    r = harness.new_result("q1")
    r["answer"]["rask"] = True
    assert harness.answers_text(r) == "ok"
    r["error"]["polars"] = "wrong answer: x"
    r["error"]["rask"] = "rask exited 1: boom"
    assert harness.answers_text(r) == "rask ERROR, polars WRONG"
    assert round(harness.geomean([1, 4, None]), 9) == 2.0


def test_polars_worker_once():
    if harness.polars_version() is None:
        return
    import subprocess
    import tempfile
    import json
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.csv")
        with open(src, "w") as f:
            f.write("a,b\n1,x\n2,y\n1,z\n")
        out = os.path.join(d, "out.csv")
        spec = {"tables": {"t": {"path": src, "format": "csv"}},
                "sql": "SELECT a, count(*) AS n FROM t GROUP BY a ORDER BY a;"}
        p = subprocess.run([sys.executable, harness.POLARS_WORKER, "once", json.dumps(spec), out],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        with open(out) as f:
            assert f.read() == "a,n\n1,2\n2,1\n"



def test_h2o_definitions():
    import csv_scan
    import gen_h2o
    import h2o
    assert h2o.parse_questions("all") == list(range(1, 11)) and h2o.parse_questions("2,9-10") == [2, 9, 10]
    assert gen_h2o.data_name(1e7, 100) == "G1_1e7_1e2_0_0" and gen_h2o.data_name(12345, 100) == "G1_12345_1e2_0_0"
    qs = h2o.queries(range(1, 11))
    assert [q.polars["native"] for q in qs] == [f"h2o_polars:q{i}" for i in range(1, 11)]
    assert not any(q.ordered for q in qs)
    sql = csv_scan.scan_sql("f.csv")
    assert all(c in sql for c in csv_scan.COLUMNS) and sql.endswith("FROM 'f.csv'")


def test_gen_h2o_small():
    try:
        import numpy  # noqa: F401
        import polars  # noqa: F401
    except ImportError:
        return
    import gen_h2o
    df = gen_h2o.generate(1000, 10, seed=1)
    assert df.columns == ["id1", "id2", "id3", "id4", "id5", "id6", "v1", "v2", "v3"]
    assert df.equals(gen_h2o.generate(1000, 10, seed=1))
    assert set(df["id1"]) <= {f"id{i:03d}" for i in range(1, 11)}
    assert set(df["id3"]) <= {f"id{i:010d}" for i in range(1, 101)}
    assert df["id6"].min() >= 1 and df["id6"].max() <= 100 and df["v1"].max() <= 5 and df["v2"].max() <= 15
    assert 0 <= df["v3"].min() and df["v3"].max() <= 100 and (df["v3"].round(6) == df["v3"]).all()


if __name__ == "__main__":
    n = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            n += 1
    print(f"{n} passed, 0 failed")
