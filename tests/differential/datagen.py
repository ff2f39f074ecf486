"""Deterministic test tables for the differential test (rask against DuckDB).

`make_tables(seed, out_dir, con)` builds four small tables from `seed` (0-200 rows each, some
of them empty), NULL-heavy and with many duplicate keys, and writes each one as Parquet
(`<name>.parquet`) and CSV (`<name>.csv`) with DuckDB's COPY, so both engines read the very
same files. It returns the table descriptions the query generator needs.

Every table has the same columns (the generator always qualifies them):

    id  INTEGER        unique row number (NULL-free), makes window orders total
    k   INTEGER        small domain 0..6 -> duplicate join / group keys
    i   INTEGER        -50..50
    b   BIGINT         -100000..100000
    d   DOUBLE         multiples of 0.25: sums are exact in any order
    m   DECIMAL(9,2)
    s   VARCHAR        small domain incl. '', '%', '_' and mixed case
    dt  DATE
    f   BOOLEAN

Apart from `id`, each column of each table gets its own NULL probability (0 to 0.6).
"""

import datetime
import os
import random
from decimal import Decimal

# (name, SQL type, generator kind); the generator's types are int, float, dec, str, date, bool.
COLUMNS = [
    ("id", "INTEGER", "int"),
    ("k", "INTEGER", "int"),
    ("i", "INTEGER", "int"),
    ("b", "BIGINT", "int"),
    ("d", "DOUBLE", "float"),
    ("m", "DECIMAL(9,2)", "dec"),
    ("s", "VARCHAR", "str"),
    ("dt", "DATE", "date"),
    ("f", "BOOLEAN", "bool"),
]

TABLE_NAMES = ["t1", "t2", "t3", "t4"]

STRINGS = ["a", "b", "ab", "abc", "B", "x y", "", "%", "a_c", "zz", "Ab", "ba"]

BASE_DATE = datetime.date(2024, 1, 1)


class Table:
    """One generated table: its name, row count and the files holding it."""

    def __init__(self, name, rows, parquet, csv):
        self.name = name
        self.rows = rows
        self.parquet = parquet
        self.csv = csv
        self.columns = [(c, kind) for c, _, kind in COLUMNS]


def _value(rng, col):
    """A random non-NULL value of column `col`, as a SQL literal."""
    if col == "k":
        return str(rng.randint(0, 6))
    if col == "i":
        return str(rng.randint(-50, 50))
    if col == "b":
        return str(rng.choice([rng.randint(-100000, 100000), rng.randint(-5, 5)]))
    if col == "d":
        return repr(rng.randint(-800, 800) / 4.0)
    if col == "m":
        return str(Decimal(rng.randint(-99999, 99999)) / Decimal(100))
    if col == "s":
        return "'" + rng.choice(STRINGS).replace("'", "''") + "'"
    if col == "dt":
        return "DATE '" + (BASE_DATE + datetime.timedelta(days=rng.randint(-400, 400))).isoformat() + "'"
    if col == "f":
        return rng.choice(["true", "false"])
    raise ValueError(col)


def make_tables(seed, out_dir, con):
    """Writes the tables of `seed` into `out_dir` using DuckDB connection `con`; returns them."""
    rng = random.Random(seed * 7919 + 17)
    tables = []
    for name in TABLE_NAMES:
        roll = rng.random()
        if roll < 0.15:
            n = 0
        elif roll < 0.3:
            n = rng.randint(1, 5)
        else:
            n = rng.randint(6, 200)
        null_p = {c: (0.0 if c == "id" else rng.choice([0.0, 0.1, 0.3, 0.6])) for c, _, _ in COLUMNS}
        rows = []
        for r in range(n):
            vals = []
            for c, _, _ in COLUMNS:
                if c == "id":
                    vals.append(str(r + 1))
                elif rng.random() < null_p[c]:
                    vals.append("NULL")
                else:
                    vals.append(_value(rng, c))
            rows.append("(" + ", ".join(vals) + ")")
        cols = ", ".join(f"{c} {t}" for c, t, _ in COLUMNS)
        con.execute(f"DROP TABLE IF EXISTS gen_{name}")
        con.execute(f"CREATE TABLE gen_{name} ({cols})")
        if rows:
            con.execute(f"INSERT INTO gen_{name} VALUES " + ", ".join(rows))
        parquet = os.path.join(out_dir, f"{name}.parquet")
        csv = os.path.join(out_dir, f"{name}.csv")
        con.execute(f"COPY gen_{name} TO '{parquet}' (FORMAT PARQUET)")
        con.execute(f"COPY gen_{name} TO '{csv}' (FORMAT CSV, HEADER)")
        con.execute(f"DROP TABLE gen_{name}")
        tables.append(Table(name, n, parquet, csv))
    if all(t.rows == 0 for t in tables):
        # Keep at least one table with rows; regenerate deterministically with a shifted seed.
        return make_tables(seed + 1000003, out_dir, con)
    return tables
