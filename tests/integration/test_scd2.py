"""SCD2 history on Delta (spark_jobs/scd2.py) over a sequence of changes, a delete and a return."""

from __future__ import annotations

from datetime import datetime

import pytest

from spark_jobs.scd2 import as_of_history, merge_scd2

pytestmark = [pytest.mark.integration, pytest.mark.spark]

T = [datetime(2026, 11, d, 1, 0) for d in range(20, 26)]


@pytest.fixture(scope="module")
def spark():
    from kho.settings import get_settings
    from kho.spark import get_spark

    return get_spark(get_settings(), app_name="kho-tests-scd2")


def _apply(spark, path, rows, when, deleted=()):
    incoming = spark.createDataFrame(rows, "key string, name string, commune string")
    gone = spark.createDataFrame([(k,) for k in deleted], "key string") if deleted else None
    return merge_scd2(spark, path, incoming, key="key", attributes=["name", "commune"], as_of=when,
                      batch=f"b{when:%d}", deleted_keys=gone)


def _history(spark, path, key):
    rows = spark.read.format("delta").load(path).where(f"key = '{key}'").orderBy("valid_from").collect()
    return [(r["name"], r["valid_from"], r["valid_to"], r["is_current"], r["is_deleted"]) for r in rows]


def test_history_over_changes_a_delete_and_a_return(spark, tmp_path):
    path = str(tmp_path / "entity")
    assert _apply(spark, path, [("a", "An", "31001"), ("b", "Bình", "31002"), ("c", "Chi", "31003")], T[0])["inserted"] == 3
    counts = _apply(spark, path, [("a", "An", "31001"), ("b", "Bình", "31099"), ("c", "Chi", "31003")], T[1])
    assert counts == {"inserted": 0, "changed": 1, "deleted": 0, "unchanged": 2}
    assert _apply(spark, path, [], T[2], deleted=["c", "zz"])["deleted"] == 1       # an unknown key is no change
    assert _apply(spark, path, [("c", "Chi", "31004")], T[3])["changed"] == 1       # back, in a new commune
    again = _apply(spark, path, [("c", "Chi", "31004")], T[4])                     # rerun: nothing new
    assert again == {"inserted": 0, "changed": 0, "deleted": 0, "unchanged": 1}

    assert _history(spark, path, "b") == [("Bình", T[0], T[1], False, False), ("Bình", T[1], None, True, False)]
    assert _history(spark, path, "c") == [("Chi", T[0], T[2], False, False), (None, T[2], T[3], False, True),
                                          ("Chi", T[3], None, True, False)]
    table = spark.read.format("delta").load(path)
    assert table.where("is_current").groupBy("key").count().where("count > 1").count() == 0   # one current each
    on_22nd = {r["key"]: r["commune"] for r in as_of_history(table, datetime(2026, 11, 22, 12)).collect()}
    assert on_22nd == {"a": "31001", "b": "31099"}                                  # c was deleted that day
