"""Shrinks the data of a mismatch to a minimal reproducer (delta debugging over table rows).

`reduce_rows(dir, tables, still_fails, budget)` works on the Parquet copies of the tables in
a mismatch directory: for each table it removes chunks of rows (halves, then quarters, ... down
to single rows) as long as `still_fails()` says the mismatch persists, rewriting the file after
each attempt, and stops after `budget` attempts. The surviving rows are also written as
`<table>.csv` (readable) beside the Parquet files.
"""

import os


def _write(con, name, path, ids):
    id_list = ", ".join(str(i) for i in ids) if ids else "NULL"
    con.execute(f"COPY (SELECT * FROM full_{name} WHERE id IN ({id_list}) ORDER BY id) "
                f"TO '{path}' (FORMAT PARQUET)")


def reduce_rows(con, directory, table_names, still_fails, budget=150):
    """Removes rows while `still_fails()`; returns {table: rows kept}."""
    paths = {t: os.path.join(directory, f"{t}.parquet") for t in table_names}
    keep = {}
    for t in table_names:
        con.execute(f"CREATE OR REPLACE TABLE full_{t} AS SELECT * FROM '{paths[t]}'")
        keep[t] = [r[0] for r in con.execute(f"SELECT id FROM full_{t} ORDER BY id").fetchall()]
    attempts = 0
    for t in table_names:
        ids = keep[t]
        chunk = max(1, len(ids) // 2)
        while ids and attempts < budget:
            removed_any = False
            i = 0
            while i < len(ids) and attempts < budget:
                cand = ids[:i] + ids[i + chunk:]
                _write(con, t, paths[t], cand)
                attempts += 1
                if still_fails():
                    ids = cand
                    removed_any = True
                else:
                    i += chunk
            if not removed_any:
                if chunk == 1:
                    break
                chunk = max(1, chunk // 2)
        _write(con, t, paths[t], ids)
        keep[t] = ids
    for t in table_names:
        con.execute(f"COPY (SELECT * FROM '{paths[t]}') TO '{os.path.join(directory, t + '.csv')}' "
                    "(FORMAT CSV, HEADER)")
        con.execute(f"DROP TABLE full_{t}")
    return {t: len(ids) for t, ids in keep.items()}
