"""Registry-driven ingestion against real servers: PostgreSQL, MariaDB, the LGSP API and file drops.

Full, incremental and snapshot-diff loads, reruns, backfills, deletes, schema drift under
both policies, and a load killed in the middle of its Delta write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pyarrow.compute as pc
import pymysql
import pytest
from deltalake import DeltaTable

from kho.ingest import runner
from kho.ingest.connectors.base import SourceSchemaError
from kho.ingest.loader import Interval, day_interval, load_object
from kho.ingest.registry import ColumnSpec, load_registry
from kho.ingest.schema import SchemaPolicyError
from kho.settings import get_settings
from kho.sources import civil_status, dossiers, enterprise, insurance, population
from tests.integration.lgsp_server import serve

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 27)
REGISTRY = load_registry()


@pytest.fixture
def lake(isolated_settings, monkeypatch):
    """Isolated settings; returns a function pointing a source's connection at a URI."""
    def connect(system: str, uri: str) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{REGISTRY.get(system).connection_id.upper()}", uri)
    return connect


def _raw(system: str, name: str):
    return DeltaTable(f"{get_settings().lake_root}/raw/{system}/{name}")


def _raw_rows(system: str, name: str) -> list[dict]:
    return _raw(system, name).to_pyarrow_table().to_pylist()


def _current(system: str, name: str, key: str) -> Counter:
    """The source state raw describes: +1 per upsert, -1 per tombstone, per (key, record hash)."""
    state: Counter = Counter()
    for row in _raw_rows(system, name):
        state[(row[key], row["_record_hash"])] += -1 if row["_op"] == "D" else 1
    return +state


def _load(system: str, name: str, interval: Interval, **kw):
    source = REGISTRY.get(system)
    return load_object(get_settings(), source, source.object(name), interval, **kw)


def _with(system: str, name: str, **changes):
    """A registry source whose one object is changed (what a data engineer's edit would do)."""
    source = REGISTRY.get(system)
    obj = source.object(name).model_copy(update=changes)
    return source.model_copy(update={"objects": [obj]}), obj


# -- PostgreSQL: incremental ------------------------------------------------------------------

@pytest.fixture
def civil_pg(pg_dsn, lake):
    civil_status.generate(pg_dsn, seed=11, sf=0.05)
    lake("civil_status", pg_dsn)
    return pg_dsn


def _pg(dsn: str, sql: str, params=()) -> list[tuple]:
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def test_incremental_first_load_rerun_and_late_update(civil_pg):
    interval = day_interval(DAY)
    upper = datetime(2026, 11, 28)
    [(expected,)] = _pg(civil_pg, "SELECT count(*) FROM khai_sinh WHERE ngay_cap_nhat < %s", (upper,))
    [first] = _load("civil_status", "birth_registration", interval)
    assert first.rows_read == first.rows_written == expected > 0
    assert _raw("civil_status", "birth_registration").to_pyarrow_dataset().count_rows() == expected

    [again] = _load("civil_status", "birth_registration", interval)  # rerun of the same interval
    assert again.rows_written == 0 and again.skipped == "no changes"
    assert _raw("civil_status", "birth_registration").version() == first.delta_version

    # A late correction inside the 7-day lookback is caught the next day; one older than it is not.
    [(recent, ), (old, )] = _pg(civil_pg, "SELECT id FROM khai_sinh WHERE ngay_cap_nhat < %s "
                                          "ORDER BY ngay_cap_nhat DESC LIMIT 2", (upper,))
    _pg(civil_pg, "UPDATE khai_sinh SET ho_ten_tre = 'Nguyễn Văn Sửa', ngay_cap_nhat = %s WHERE id = %s",
        (datetime(2026, 11, 27, 23, 0), recent))
    _pg(civil_pg, "UPDATE khai_sinh SET ho_ten_tre = 'Quá Hạn', ngay_cap_nhat = %s WHERE id = %s",
        (datetime(2026, 10, 1), old))
    [late] = _load("civil_status", "birth_registration", day_interval(DAY + timedelta(days=1)))
    assert late.rows_written == 1
    versions = [r for r in _raw_rows("civil_status", "birth_registration") if r["id"] == recent]
    assert sorted(r["ho_ten_tre"] == "Nguyễn Văn Sửa" for r in versions) == [False, True]
    assert not [r for r in _raw_rows("civil_status", "birth_registration") if r["ho_ten_tre"] == "Quá Hạn"]


def test_every_batch_writes_a_run_log_row_with_checksums(civil_pg):
    [result] = _load("civil_status", "death_registration", day_interval(DAY), run_id="t1")
    log = DeltaTable(f"{get_settings().lake_root}/_system/pipeline/run_log").to_pyarrow_table().to_pylist()
    [row] = [r for r in log if r["run_id"] == "t1"]
    details = json.loads(row["details"])
    assert (row["step"], row["status"], row["batch_id"]) == ("ingest", "success", result.batch_id)
    assert row["rows_in"] == row["rows_out"] == result.rows_read > 0 and row["delta_version"] == result.delta_version
    assert details["object"] == "death_registration" and details["interval"]["start"].startswith("2026-11-27")
    assert details["bytes"] > 0 and all(len(f["sha256"]) == 64 for f in details["files"])
    cursors = DeltaTable(f"{get_settings().lake_root}/_system/ingest/cursors").to_pyarrow_table().to_pylist()
    assert [c["object"] for c in cursors] == ["death_registration"]  # the watermark, in the _system zone


def test_backfill_loads_each_interval_once(civil_pg):
    first, last = date(2026, 9, 1), date(2026, 9, 10)
    source = REGISTRY.get("civil_status")
    plan = runner.backfill_plan(source, source.object("marriage_registration"), first, last)
    assert len(plan) == 9  # cadence 02:00 local: nine whole intervals in ten days
    lower = plan[0].start.astimezone(TZ).replace(tzinfo=None) - timedelta(days=7)
    upper = plan[-1].end.astimezone(TZ).replace(tzinfo=None)
    [(expected,)] = _pg(civil_pg, "SELECT count(*) FROM ket_hon WHERE ngay_cap_nhat >= %s AND ngay_cap_nhat < %s",
                        (lower, upper))
    results = runner.backfill(get_settings(), REGISTRY, "civil_status", first, last, objects=["marriage_registration"])
    assert len(results) == 9 and sum(r.rows_written for r in results) == expected > 0
    again = runner.backfill(get_settings(), REGISTRY, "civil_status", first, last, objects=["marriage_registration"])
    assert sum(r.rows_written for r in again) == 0
    rows = _raw_rows("civil_status", "marriage_registration")
    assert len(rows) == len({(r["id"], r["_record_hash"]) for r in rows}) == expected


def test_schema_drift_on_postgres(civil_pg):
    interval = day_interval(DAY)
    _load("civil_status", "death_registration", interval)
    version = _raw("civil_status", "death_registration").version()
    _pg(civil_pg, "ALTER TABLE khai_tu ADD COLUMN ghi_chu VARCHAR(200) DEFAULT 'x'")
    with pytest.raises(SchemaPolicyError) as err:  # freeze: any change stops the batch
        _load("civil_status", "death_registration", day_interval(DAY + timedelta(days=1)))
    assert "ghi_chu" in str(err.value) and "'freeze'" in str(err.value)
    assert _raw("civil_status", "death_registration").version() == version

    source, obj = _with("civil_status", "death_registration", schema_policy="evolve")
    [evolved] = load_object(get_settings(), source, obj, day_interval(DAY + timedelta(days=1)))
    assert evolved.rows_written == evolved.rows_read  # every row gained a value: a new version of each
    table = _raw("civil_status", "death_registration").to_pyarrow_table()
    assert "ghi_chu" in table.column_names
    new = pc.equal(table["_batch_id"], evolved.batch_id)
    assert set(table.filter(new)["ghi_chu"].to_pylist()) == {"x"}
    assert set(table.filter(pc.invert(new))["ghi_chu"].to_pylist()) == {None}

    _pg(civil_pg, "ALTER TABLE khai_tu RENAME COLUMN ma_dvhc TO ma_xa")  # a rename fails under evolve too
    with pytest.raises(SchemaPolicyError) as err:
        load_object(get_settings(), source, obj, day_interval(DAY + timedelta(days=2)))
    assert "ma_dvhc" in str(err.value) and "'evolve'" in str(err.value) and "ma_xa" in str(err.value)

    _pg(civil_pg, "ALTER TABLE ket_hon ALTER COLUMN ngay_dang_ky TYPE VARCHAR(20)")  # a retype fails by name
    with pytest.raises(SourceSchemaError, match="ngay_dang_ky"):
        _load("civil_status", "marriage_registration", interval)
    assert not Path(f"{get_settings().lake_root}/raw/civil_status/marriage_registration").exists()


# -- MariaDB: snapshot diff, deletes, an accepted rename --------------------------------------

def _my(dsn: str, sql: str) -> list[tuple]:
    from urllib.parse import unquote, urlparse

    u = urlparse(dsn)
    con = pymysql.connect(host=u.hostname, port=u.port or 3306, user=unquote(u.username or ""),
                          password=unquote(u.password or ""), database=u.path.lstrip("/"), charset="utf8mb4")
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        con.close()


def test_snapshot_diff_writes_changes_and_tombstones(mysql_dsn, lake):
    lake("business_registration", mysql_dsn)
    enterprise.generate_snapshot(mysql_dsn, seed=5, sf=0.05, snapshot=1)
    ids_1 = {r[0] for r in _my(mysql_dsn, "SELECT id FROM thay_doi_dang_ky")}
    for name in ("enterprise", "household_business", "registration_change"):
        [res] = _load("business_registration", name, day_interval(DAY))
        assert res.rows_read == res.rows_written > 0 and res.tombstones == 0
    assert sum(_current("business_registration", "registration_change", "id").values()) == len(ids_1)

    enterprise.generate_snapshot(mysql_dsn, seed=5, sf=0.05, snapshot=2)  # one month later
    ids_2 = {r[0] for r in _my(mysql_dsn, "SELECT id FROM thay_doi_dang_ky")}
    assert ids_1 - ids_2 and ids_2 - ids_1
    [diff] = _load("business_registration", "registration_change", day_interval(DAY + timedelta(days=1)))
    assert diff.tombstones == len(ids_1 - ids_2)
    assert diff.rows_written - diff.tombstones == len(ids_2 - ids_1) + (diff.rows_read - diff.rows_unchanged
                                                                        - len(ids_2 - ids_1))
    assert Counter(k for k, _ in _current("business_registration", "registration_change", "id").elements()) == \
        Counter(r[0] for r in _my(mysql_dsn, "SELECT id FROM thay_doi_dang_ky"))
    [same] = _load("business_registration", "registration_change", day_interval(DAY + timedelta(days=2)))
    assert same.rows_written == 0  # unchanged source: nothing new

    # doanh_nghiep renamed dia_chi_tru_so -> dia_chi and added email: freeze stops it by name ...
    with pytest.raises(SchemaPolicyError) as err:
        _load("business_registration", "enterprise", day_interval(DAY + timedelta(days=1)))
    assert "dia_chi_tru_so" in str(err.value) and "dia_chi" in str(err.value) and "'freeze'" in str(err.value)
    # ... until a data engineer records the decision: dia_chi with its old name as alias, email declared.
    declared = [ColumnSpec(name="dia_chi", type="string", aliases=["dia_chi_tru_so"]) if c.name == "dia_chi_tru_so"
                else c for c in REGISTRY.get("business_registration").object("enterprise").expected_schema]
    declared.append(ColumnSpec(name="email", type="string"))
    source, obj = _with("business_registration", "enterprise", expected_schema=declared)
    [accepted] = load_object(get_settings(), source, obj, day_interval(DAY + timedelta(days=1)))
    assert accepted.rows_written > 0
    raw = _raw("business_registration", "enterprise").to_pyarrow_table()
    assert {"dia_chi", "email", "dia_chi_tru_so"} <= set(raw.column_names)
    current = _current("business_registration", "enterprise", "ma_so_doanh_nghiep")
    assert sum(current.values()) == _my(mysql_dsn, "SELECT count(*) FROM doanh_nghiep")[0][0]


# -- the LGSP API and file drops through the registry -----------------------------------------

def test_api_objects_load_through_the_registry(tmp_path, lake, monkeypatch):
    monkeypatch.setenv("KHO_LGSP_LATE_UPDATES", "0")
    dossiers.generate(tmp_path, sf=0.05, seed=3)
    with serve(tmp_path) as server:
        lake("dossiers", f"http://kho-dev:kho-dev-secret@127.0.0.1:{server.port}")
        import sqlite3

        with sqlite3.connect(dossiers.db_path(tmp_path)) as con:
            expected = con.execute("SELECT count(*) FROM ho_so WHERE cap_nhat_luc < '2026-11-28 00:00:00'").fetchone()[0]
            procedures = con.execute("SELECT count(*) FROM thu_tuc").fetchone()[0]
        [res] = _load("dossiers", "dossier", day_interval(DAY))
        assert res.rows_read == res.rows_written == expected > 0
        [again] = _load("dossiers", "dossier", day_interval(DAY))
        assert again.rows_written == 0
        [cat] = _load("dossiers", "procedure", day_interval(DAY))
        assert cat.rows_written == procedures
        [cat_again] = _load("dossiers", "procedure", day_interval(DAY))
        assert cat_again.skipped == "interval already loaded"


def test_file_drops_through_the_registry_apply_the_recorded_rename(tmp_path, lake):
    insurance.generate(tmp_path, sf=0.02, seed=9)
    lake("insurance", f"file://{tmp_path / 'insurance'}")
    results = _load("insurance", "insurance_participant", day_interval(DAY))
    files = sorted((tmp_path / "insurance").glob("bhxh_tham_gia_*.csv"))
    assert [Path(r.files[0]["path"]).name for r in results] == [f.name for f in files]
    assert all(r.rows_read == r.rows_written for r in results)
    raw = _raw("insurance", "insurance_participant").to_pyarrow_table()
    assert "ma_dvhc" not in raw.column_names and raw["ma_xa"].null_count == 0
    before = raw.filter(pc.less(raw["_batch_id"], "insurance.insurance_participant.bhxh_tham_gia_202605"))
    assert before.num_rows and before["so_dien_thoai"].null_count == before.num_rows
    assert _load("insurance", "insurance_participant", day_interval(DAY))[0].skipped == "no new file"


# -- a load killed in the middle of its Delta write -------------------------------------------

_CHILD = r"""
import sys, time
from pathlib import Path
import deltalake, pyarrow.parquet as pq
real = deltalake.write_deltalake
def slow_write(path, data, *a, **k):
    # what a crash inside the writer leaves: data files in the table folder, no commit
    for i, batch in enumerate(data.to_batches(max_chunksize=500)):
        pq.write_table(__import__("pyarrow").Table.from_batches([batch]), f"{path}/part-orphan-{i}.parquet")
    Path(sys.argv[1]).write_text("writing")
    time.sleep(120)
    return real(path, data, *a, **k)
import kho.ingest.loader as loader
loader.write_deltalake = slow_write
deltalake.write_deltalake = slow_write
from datetime import date
from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.settings import get_settings
source = load_registry().get("population")
load_object(get_settings(), source, source.object("citizen"), day_interval(date(2026, 11, 28)))
"""


def test_load_killed_mid_write_leaves_no_partial_batch(tmp_path, lake):
    db = tmp_path / "population.sqlite"
    population.generate(f"sqlite:///{db}", seed=4, sf=0.02)
    lake("population", f"sqlite:///{db}")
    [first] = _load("population", "citizen", day_interval(DAY))
    import sqlite3

    with sqlite3.connect(db) as con:  # changes for the next day's batch
        con.execute("UPDATE cong_dan SET dia_chi = dia_chi || ' (cập nhật)' WHERE id % 10 = 0")
        con.execute("DELETE FROM cong_dan WHERE id % 50 = 1")
        expected_rows = con.execute("SELECT count(*) FROM cong_dan").fetchone()[0]
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(marker)], env=dict(os.environ),
                             cwd=get_settings().project_root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, child.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the child never reached the write"
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    table = _raw("population", "citizen")
    assert table.version() == first.delta_version                     # nothing committed
    assert table.to_pyarrow_dataset().count_rows() == first.rows_written  # orphan files are not read
    assert list(Path(table.table_uri.removeprefix("file://")).glob("part-orphan-*.parquet"))

    [retry] = _load("population", "citizen", day_interval(DAY + timedelta(days=1)))
    assert retry.rows_written > 0 and retry.tombstones > 0
    assert sum(_current("population", "citizen", "id").values()) == expected_rows


# -- Spark JDBC: the same load through parallel partitioned reads ------------------------------

@pytest.mark.spark
def test_spark_engine_loads_the_same_raw_as_the_python_engine(civil_pg):
    """engine: spark reads in parallel over JDBC; raw content equals the single-process load."""
    source, obj = _with("civil_status", "birth_registration", engine="spark", partition_column="id",
                        read_partitions=3)
    [spark] = load_object(get_settings(), source, obj, day_interval(DAY))
    assert spark.rows_read == spark.rows_written > 0
    rows = {(r["id"], r["_record_hash"]) for r in _raw_rows("civil_status", "birth_registration")}
    import shutil

    shutil.rmtree(f"{get_settings().lake_root}/raw/civil_status/birth_registration")
    shutil.rmtree(f"{get_settings().lake_root}/_system/ingest", ignore_errors=True)
    [python] = _load("civil_status", "birth_registration", day_interval(DAY))
    assert {(r["id"], r["_record_hash"]) for r in _raw_rows("civil_status", "birth_registration")} == rows
    assert python.rows_written == spark.rows_written
