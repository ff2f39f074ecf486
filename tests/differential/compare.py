"""Result comparison for the differential test: DuckDB's Python values against rask's CSV text.

DuckDB rows come as Python values (int, float, Decimal, str, bool, date, datetime, None);
rask's come from `rask -F csv` as text, None for NULL (see difftest.parse_csv). CSV is used
rather than JSON because JSON has no infinities or NaN (rask's JSON writes them as null).
DuckDB's value decides how rask's text is read; a cell matches when:

* both are NULL;
* DuckDB's value is a float: rask's text is a number within a relative tolerance of 1e-9
  (absolute 1e-12 near zero); NaN matches only NaN, infinities only the same infinity;
* DuckDB's value is an int or Decimal: rask's text is a number with exactly the same value (so
  `1` and `1.0` agree, `1` and `1.0000001` do not);
* DuckDB's value is a bool: rask's text is `true` / `false`;
* DuckDB's value is a str: rask's text is the same string;
* DuckDB's value is a date/datetime: rask's text equals its ISO text (`2024-01-02`,
  `2024-01-02 03:04:05`).

Rows are compared in order when the query's ORDER BY is total, otherwise as multisets (both
sides sorted by a canonical key, then compared pairwise with the rules above).
"""

import datetime
import math
from decimal import Decimal, InvalidOperation

REL_TOL = 1e-9
ABS_TOL = 1e-12


def _as_number(v):
    """A value (rask's text, or a DuckDB number) as a Decimal/float; None if not a number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("nan", "inf", "+inf", "infinity", "-inf", "-infinity"):
            return float(low)
        try:
            return Decimal(v)
        except InvalidOperation:
            return None
    return None


def cell_equal(ddb, rk):
    """Whether DuckDB's value `ddb` and rask's value `rk` are the same (see module doc)."""
    if ddb is None or rk is None:
        return ddb is None and rk is None
    if isinstance(ddb, bool):
        return rk == ("true" if ddb else "false")
    if isinstance(ddb, float):
        n = _as_number(rk)
        if n is None:
            return False
        n = float(n)
        if math.isnan(ddb) or math.isnan(n):
            return math.isnan(ddb) and math.isnan(n)
        if math.isinf(ddb) or math.isinf(n):
            return ddb == n
        return abs(ddb - n) <= max(REL_TOL * max(abs(ddb), abs(n)), ABS_TOL)
    if isinstance(ddb, (int, Decimal)):
        n = _as_number(rk)
        if n is None or isinstance(n, float):
            return False
        return Decimal(ddb) == n
    if isinstance(ddb, datetime.datetime):
        return isinstance(rk, str) and rk in (ddb.isoformat(sep=" "), str(ddb))
    if isinstance(ddb, datetime.date):
        return isinstance(rk, str) and rk == ddb.isoformat()
    if isinstance(ddb, str):
        return isinstance(rk, str) and rk == ddb
    return str(ddb) == str(rk)


def _sort_key_cell(v):
    """A total, type-tolerant key, coarse enough that matching cells sort alike."""
    if v is None:
        return (0, "")
    if isinstance(v, bool):
        return (4, str(v).lower())  # as rask writes it
    n = _as_number(v) if not isinstance(v, (datetime.date, datetime.datetime)) else None
    if n is not None:
        f = float(n)
        if math.isnan(f):
            return (2, "nan")
        if math.isinf(f):
            return (2, "inf" if f > 0 else "-inf")
        return (3, f"{f + 0.0:.8e}")  # -0.0 sorts as 0.0 (they compare equal)
    if isinstance(v, datetime.datetime):
        return (4, v.isoformat(sep=" "))
    if isinstance(v, datetime.date):
        return (4, v.isoformat())
    return (4, str(v))


def _row_key(row):
    return tuple(_sort_key_cell(v) for v in row)


def rows_equal(ddb_rows, rk_rows, ordered):
    """(equal, detail): compares result rows (see module doc)."""
    if len(ddb_rows) != len(rk_rows):
        return False, f"row count: duckdb {len(ddb_rows)}, rask {len(rk_rows)}"
    if not ordered:
        ddb_rows = sorted(ddb_rows, key=_row_key)
        rk_rows = sorted(rk_rows, key=_row_key)
    for n, (a, b) in enumerate(zip(ddb_rows, rk_rows)):
        if len(a) != len(b):
            return False, f"column count: duckdb {len(a)}, rask {len(b)}"
        if not all(cell_equal(x, y) for x, y in zip(a, b)):
            return False, f"row {n}: duckdb {a!r}, rask {b!r}"
    return True, ""
