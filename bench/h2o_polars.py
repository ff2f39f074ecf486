"""The H2O db-benchmark group-by questions in native lazy Polars (as in db-benchmark's
polars/groupby-polars.py), run by bench/polars_worker.py for bench/h2o.py.

Each function takes {"x": LazyFrame} and returns a LazyFrame. The output columns are named as
in the DuckDB solution's SQL (db-benchmark's Polars script names them v1_sum etc.), so that the
answers compare column for column.
"""

import polars as pl


def q1(t):
    return t["x"].group_by("id1").agg(pl.sum("v1").alias("v1"))


def q2(t):
    return t["x"].group_by(["id1", "id2"]).agg(pl.sum("v1").alias("v1"))


def q3(t):
    return t["x"].group_by("id3").agg(pl.sum("v1").alias("v1"), pl.mean("v3").alias("v3"))


def q4(t):
    return t["x"].group_by("id4").agg(pl.mean("v1").alias("v1"), pl.mean("v2").alias("v2"),
                                      pl.mean("v3").alias("v3"))


def q5(t):
    return t["x"].group_by("id6").agg(pl.sum("v1").alias("v1"), pl.sum("v2").alias("v2"),
                                      pl.sum("v3").alias("v3"))


def q6(t):
    return t["x"].group_by(["id4", "id5"]).agg(pl.median("v3").alias("median_v3"),
                                               pl.std("v3").alias("sd_v3"))


def q7(t):
    return t["x"].group_by("id3").agg((pl.max("v1") - pl.min("v2")).alias("range_v1_v2"))


def q8(t):
    return (t["x"].drop_nulls("v3").group_by("id6")
            .agg(pl.col("v3").top_k(2).alias("largest2_v3")).explode("largest2_v3"))


def q9(t):
    return t["x"].group_by(["id2", "id4"]).agg((pl.corr("v1", "v2", method="pearson") ** 2).alias("r2"))


def q10(t):
    return (t["x"].group_by(["id1", "id2", "id3", "id4", "id5", "id6"])
            .agg(pl.sum("v3").alias("v3"), pl.count("v1").alias("count")))
