"""The IOC exchange (kho/exchange.py): immutable, verifiable, versioned KPI exports.

Tables are built in tmp_path with delta-rs exactly as ``kho.marts.publish`` commits them: the
IOC KPI contract's columns and the ``kho.*`` commit metadata (logical date, run, data version,
quality verdict). Every check reads the files back independently (hashlib, csv, pyarrow).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kho import exchange as ex

COMMUNES = ["31", "31001", "31004", "31112"]


def ioc_rows(day: date, *, scale: float = 1.0, shuffle_seed: int = 1) -> pa.Table:
    """An IOC KPI table (common contract, in its column order), rows deliberately out of key order."""
    rows = []
    for code, name, name_en, unit in (("CIT_POP", "Dân số", "Population", "người"),
                                      ("ADM_ONTIME", "Tỷ lệ hồ sơ đúng hạn, \"TTHC\"", "On-time dossier rate", "%")):
        for i, unit_code in enumerate(COMMUNES):
            value = None if (code, unit_code) == ("ADM_ONTIME", "31112") else round((i + 1) * 1234.5 * scale, 3)
            rows.append({
                "indicator_code": code, "indicator_name": name, "indicator_name_en": name_en, "unit": unit,
                "period_type": "day", "period": day.isoformat(), "period_start": day, "period_end": day,
                "admin_unit_code": unit_code, "admin_unit_name": "Thành phố Hải Phòng" if unit_code == "31" else f"Xã {i}",
                "value": value, "target": 95.0 if code == "ADM_ONTIME" else None,
                "status": "no_target" if value is None or code == "CIT_POP" else ("met" if value >= 95 else "not_met"),
                "source_system": "population" if code == "CIT_POP" else "dossiers", "data_version": f"dv-{day}",
                "freshness_ts": datetime.combine(day, datetime.min.time()) + timedelta(hours=2, minutes=i, microseconds=7),
            })
    random.Random(shuffle_seed).shuffle(rows)
    schema = pa.schema([("indicator_code", pa.string(), False), ("indicator_name", pa.string()),
                        ("indicator_name_en", pa.string()), ("unit", pa.string()), ("period_type", pa.string()),
                        ("period", pa.string()), ("period_start", pa.date32()), ("period_end", pa.date32()),
                        ("admin_unit_code", pa.string(), False), ("admin_unit_name", pa.string()),
                        ("value", pa.float64()), ("target", pa.float64()), ("status", pa.string()),
                        ("source_system", pa.string()), ("data_version", pa.string()),
                        ("freshness_ts", pa.timestamp("us"))])
    return pa.Table.from_pylist(rows, schema=schema)


def publish(path: str, table: pa.Table, day: date, *, verdict: str | None = "passed", run_id: str = "run-1",
            suites: dict[str, bool] | None = None) -> int:
    """Commit a table version the way kho.marts.publish does; returns the Delta version."""
    from deltalake import CommitProperties, DeltaTable, write_deltalake

    meta = {"kho.logical_date": day.isoformat(), "kho.run_id": run_id, "kho.data_version": f"dv-{day}"}
    if verdict is not None:
        meta["kho.quality"] = json.dumps({"verdict": verdict, "suites": suites or {"topic_ioc_suite": verdict == "passed"},
                                          "warnings": 2})
    write_deltalake(path, table, mode="overwrite", schema_mode="overwrite",
                    commit_properties=CommitProperties(custom_metadata=meta))
    return DeltaTable(path).version()


@pytest.fixture
def settings(tmp_path):
    from kho.settings import get_settings

    return dataclasses.replace(get_settings(), lake_root=str(tmp_path / "lake"))


@pytest.fixture
def citizen(settings):
    """topic/ioc/ioc_citizen with one passed version (v0) published."""
    path = ex.topic_table_path(settings, "ioc_citizen")
    publish(path, ioc_rows(date(2026, 11, 27)), date(2026, 11, 27))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ioc_dir(settings) -> Path:
    return Path(settings.lake_root) / "exchange" / "ioc"


# -- export and manifest ---------------------------------------------------------------------------

def test_export_writes_csv_parquet_and_a_manifest_that_verifies(settings, citizen):
    result = ex.export_table(settings, citizen, name="ioc_citizen")
    folder = ioc_dir(settings) / "ioc_citizen" / "v0"
    assert result.status == "exported" and result.folder == folder and result.delta_version == 0
    assert sorted(p.name for p in folder.iterdir()) == ["ioc_citizen.csv", "ioc_citizen.parquet", "manifest.json"]
    assert ex.verify(folder) == []

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    source = ioc_rows(date(2026, 11, 27))
    assert manifest["table"] == "ioc_citizen" and manifest["source_table"] == "topic/ioc/ioc_citizen"
    assert (manifest["delta_version"], manifest["logical_date"], manifest["run_id"], manifest["data_version"]) == \
        (0, "2026-11-27", "run-1", "dv-2026-11-27")
    assert manifest["row_count"] == source.num_rows == 8
    assert [c["name"] for c in manifest["schema"]] == source.column_names
    assert {c["name"]: c["type"] for c in manifest["schema"]}["freshness_ts"] == "timestamp[us]"
    assert manifest["quality"] == {"verdict": "passed", "suites": {"topic_ioc_suite": True}, "warnings": 2}
    newest = max(source["freshness_ts"].to_pylist())
    assert manifest["freshness"] == {"column": "freshness_ts", "max": newest.isoformat(timespec="microseconds")}
    assert manifest["exported_at"].endswith("Z") and manifest["delta_commit_timestamp"].endswith("Z")
    for entry in manifest["files"]:  # checksums and sizes equal the bytes on disk, computed independently
        path = folder / entry["name"]
        assert (entry["bytes"], entry["sha256"], entry["rows"]) == (path.stat().st_size, sha256(path), 8)


def test_csv_and_parquet_hold_the_delta_rows_in_key_order_with_iso_dates(settings, citizen):
    ex.export_table(settings, citizen, name="ioc_citizen")
    folder = ioc_dir(settings) / "ioc_citizen" / "v0"
    expected = sorted(ioc_rows(date(2026, 11, 27)).to_pylist(), key=lambda r: tuple(r[k] for k in ex.IOC_KEY))

    parquet = pq.read_table(folder / "ioc_citizen.parquet")
    assert parquet.to_pylist() == expected

    raw = (folder / "ioc_citizen.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "Thành phố Hải Phòng".encode() in raw  # UTF-8, no BOM
    with (folder / "ioc_citizen.csv").open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    assert [tuple(r[k] for k in ex.IOC_KEY) for r in records] == [tuple(r[k] for k in ex.IOC_KEY) for r in expected]
    first = records[0]
    assert first["period_start"] == "2026-11-27"
    assert first["freshness_ts"] == expected[0]["freshness_ts"].isoformat(timespec="microseconds")
    assert "T" in first["freshness_ts"]
    assert [float(r["value"]) if r["value"] else None for r in records] == [r["value"] for r in expected]
    assert any(r["value"] == "" for r in records)  # a null value is an empty field
    assert records[0]["indicator_name"] in {"Dân số", "Tỷ lệ hồ sơ đúng hạn, \"TTHC\""}  # quoted comma survives


def test_the_same_data_exports_to_the_same_csv_bytes(settings, tmp_path):
    """Row order depends on the key, not on how the Delta files happen to be laid out."""
    paths = []
    for seed in (1, 2):
        other = dataclasses.replace(settings, lake_root=str(tmp_path / f"lake{seed}"))
        table = ex.topic_table_path(other, "ioc_citizen")
        publish(table, ioc_rows(date(2026, 11, 27), shuffle_seed=seed), date(2026, 11, 27))
        paths.append(ex.export_table(other, table, name="ioc_citizen").folder / "ioc_citizen.csv")
    assert paths[0].read_bytes() == paths[1].read_bytes()


# -- verification detects tampering ------------------------------------------------------------------

def _writable(path: Path) -> None:
    path.chmod(0o644)


def test_a_flipped_byte_is_detected(settings, citizen):
    folder = ex.export_table(settings, citizen, name="ioc_citizen").folder
    target = folder / "ioc_citizen.parquet"
    _writable(target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    problems = ex.verify(folder)
    assert any("ioc_citizen.parquet: sha256" in p for p in problems)


def test_a_removed_or_edited_csv_row_is_detected(settings, citizen):
    folder = ex.export_table(settings, citizen, name="ioc_citizen").folder
    target = folder / "ioc_citizen.csv"
    _writable(target)
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[:-1]), encoding="utf-8")
    problems = ex.verify(folder)
    assert any("ioc_citizen.csv: 7 rows, manifest says 8" in p for p in problems)
    assert any("bytes, manifest says" in p for p in problems) and any("sha256" in p for p in problems)

    # same size, one digit changed: only the checksum can tell
    target.write_text("".join(lines).replace("2026-11-27T02:01", "2026-11-27T02:09", 1), encoding="utf-8")
    problems = ex.verify(folder)
    assert len(problems) == 1 and "ioc_citizen.csv: sha256" in problems[0]


def test_missing_and_unlisted_files_and_a_broken_manifest_are_reported(settings, citizen):
    folder = ex.export_table(settings, citizen, name="ioc_citizen").folder
    (folder / "ioc_citizen.parquet").unlink()
    (folder / "notes.txt").write_text("hello")
    problems = ex.verify(folder)
    assert "ioc_citizen.parquet: missing" in problems
    assert any("files not in the manifest: notes.txt" in p for p in problems)
    _writable(folder / "manifest.json")
    (folder / "manifest.json").write_text("{not json")
    assert ex.verify(folder)[0].endswith("unreadable manifest (JSONDecodeError: Expecting property name enclosed in "
                                          "double quotes: line 1 column 2 (char 1))")
    assert ex.verify(folder.parent) == [f"{folder.parent}: no manifest.json"]


# -- immutability, versions and the latest pointer -----------------------------------------------------

def test_reexporting_the_same_version_changes_nothing(settings, citizen):
    first = ex.export_table(settings, citizen, name="ioc_citizen")
    table_dir = ioc_dir(settings) / "ioc_citizen"
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.folder.iterdir()}
    latest_before = (table_dir / "latest.json").read_bytes()

    again = ex.export_table(settings, citizen, name="ioc_citizen")
    assert again.status == "unchanged" and again.manifest == first.manifest
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.folder.iterdir()} == before
    assert (table_dir / "latest.json").read_bytes() == latest_before
    assert [p.name for p in table_dir.iterdir() if p.name.startswith(".")] == []  # no temp folders left


def test_reexport_of_a_tampered_version_is_an_error_and_does_not_repair_it(settings, citizen):
    folder = ex.export_table(settings, citizen, name="ioc_citizen").folder
    target = folder / "ioc_citizen.csv"
    _writable(target)
    target.write_text(target.read_text(encoding="utf-8").replace("Dân số", "Dan so"), encoding="utf-8")
    tampered = target.read_bytes()
    with pytest.raises(ex.ExportMismatch, match="does not verify; versions are immutable"):
        ex.export_table(settings, citizen, name="ioc_citizen")
    assert target.read_bytes() == tampered


def test_a_folder_for_a_different_table_state_is_a_mismatch(settings, tmp_path):
    """A table dropped and re-created restarts at v0: its new v0 must not pass for the old export."""
    path = ex.topic_table_path(settings, "ioc_citizen")
    publish(path, ioc_rows(date(2026, 11, 27)), date(2026, 11, 27))
    ex.export_table(settings, path, name="ioc_citizen")
    import shutil

    shutil.rmtree(path)
    publish(path, ioc_rows(date(2026, 11, 28)), date(2026, 11, 28), run_id="run-9")
    with pytest.raises(ex.ExportMismatch, match="logical_date: folder has '2026-11-27', Delta version has '2026-11-28'"):
        ex.export_table(settings, path, name="ioc_citizen")


def test_a_new_delta_version_makes_a_new_folder_and_moves_latest(settings, citizen):
    ex.export_table(settings, citizen, name="ioc_citizen")
    v0 = ioc_dir(settings) / "ioc_citizen" / "v0"
    v0_hashes = {p.name: sha256(p) for p in v0.iterdir()}
    assert publish(citizen, ioc_rows(date(2026, 11, 28), scale=2), date(2026, 11, 28), run_id="run-2") == 1

    result = ex.export_table(settings, citizen, name="ioc_citizen")
    assert result.status == "exported" and result.folder.name == "v1"
    assert {p.name: sha256(p) for p in v0.iterdir()} == v0_hashes  # the old version is untouched

    latest = json.loads((ioc_dir(settings) / "ioc_citizen" / "latest.json").read_text())
    assert (latest["delta_version"], latest["path"], latest["logical_date"]) == (1, "v1", "2026-11-28")
    assert latest["manifest_sha256"] == sha256(result.folder / "manifest.json")
    assert latest["files"] == {"csv": "v1/ioc_citizen.csv", "parquet": "v1/ioc_citizen.parquet"}

    index = json.loads((ioc_dir(settings) / "index.json").read_text())
    entry = index["tables"]["ioc_citizen"]
    assert entry["latest"] == 1 and [v["delta_version"] for v in entry["versions"]] == [0, 1]
    assert [v["logical_date"] for v in entry["versions"]] == ["2026-11-27", "2026-11-28"]


def test_a_failed_quality_version_is_refused_and_latest_stays(settings, citizen):
    ex.export_table(settings, citizen, name="ioc_citizen")
    publish(citizen, ioc_rows(date(2026, 11, 28)), date(2026, 11, 28), verdict="failed",
            suites={"topic_ioc_ioc_citizen": False, "other": True})
    with pytest.raises(ex.ExportRefused, match=r"version 1 of .* has quality verdict 'failed' "
                                               r"\(failed suites: topic_ioc_ioc_citizen\); only versions that passed"):
        ex.export_table(settings, citizen, name="ioc_citizen")
    table_dir = ioc_dir(settings) / "ioc_citizen"
    assert sorted(p.name for p in table_dir.iterdir()) == ["latest.json", "v0"]
    assert json.loads((table_dir / "latest.json").read_text())["delta_version"] == 0


def test_a_version_without_a_verdict_is_refused(settings):
    path = ex.topic_table_path(settings, "ioc_land_urban")
    publish(path, ioc_rows(date(2026, 11, 27)), date(2026, 11, 27), verdict=None)
    with pytest.raises(ex.ExportRefused, match="carries no kho.quality commit metadata"):
        ex.export_table(settings, path, name="ioc_land_urban")
    assert not (ioc_dir(settings) / "ioc_land_urban").exists()


def test_a_pinned_version_exports_that_version_and_never_moves_latest_back(settings, citizen):
    publish(citizen, ioc_rows(date(2026, 11, 28), scale=2), date(2026, 11, 28), run_id="run-2")
    publish(citizen, ioc_rows(date(2026, 11, 29), scale=3), date(2026, 11, 29), run_id="run-3")
    assert ex.export_table(settings, citizen, name="ioc_citizen").folder.name == "v2"

    pinned = ex.export_table(settings, citizen, name="ioc_citizen", version=0)
    assert pinned.folder.name == "v0" and pinned.manifest["run_id"] == "run-1"
    assert pq.read_table(pinned.folder / "ioc_citizen.parquet").column("period").unique().to_pylist() == ["2026-11-27"]
    latest = json.loads((ioc_dir(settings) / "ioc_citizen" / "latest.json").read_text())
    assert latest["delta_version"] == 2

    with pytest.raises(ex.ExportError, match="has Delta versions 0..2; there is no version 7"):
        ex.export_table(settings, citizen, name="ioc_citizen", version=7)


def test_a_failed_write_leaves_no_version_and_no_temp_folder(settings, citizen, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        ex.export_table(settings, citizen, name="ioc_citizen")
    table_dir = ioc_dir(settings) / "ioc_citizen"
    assert list(table_dir.iterdir()) == []


def test_keep_versions_removes_the_oldest_folders_only(settings, citizen):
    for day in (28, 29):
        publish(citizen, ioc_rows(date(2026, 11, day)), date(2026, 11, day))
    results = [ex.export_table(settings, citizen, name="ioc_citizen", version=v, keep_versions=2) for v in (0, 1, 2)]
    assert results[-1].pruned == (0,)
    table_dir = ioc_dir(settings) / "ioc_citizen"
    assert sorted(p.name for p in table_dir.iterdir()) == ["latest.json", "v1", "v2"]


def test_only_csv_when_configured(settings, citizen):
    result = ex.export_table(settings, citizen, name="ioc_citizen", formats=("csv",))
    assert [f["format"] for f in result.manifest["files"]] == ["csv"] and ex.verify(result.folder) == []
    with pytest.raises(ex.ExportMismatch, match="a version folder is never extended"):
        ex.export_table(settings, citizen, name="ioc_citizen", formats=("csv", "parquet"))



def test_an_empty_version_exports_a_header_only_csv(settings):
    path = ex.topic_table_path(settings, "ioc_public_service")
    publish(path, ioc_rows(date(2026, 11, 27)).slice(0, 0), date(2026, 11, 27))
    result = ex.export_table(settings, path, name="ioc_public_service")
    assert result.row_count == 0 and result.manifest["freshness"] == {"column": "freshness_ts", "max": None}
    assert (result.folder / "ioc_public_service.csv").read_text(encoding="utf-8").splitlines() == [
        ",".join(ioc_rows(date(2026, 11, 27)).column_names)]
    assert pq.read_metadata(result.folder / "ioc_public_service.parquet").num_rows == 0
    assert ex.verify(result.folder) == []

# -- whole runs -----------------------------------------------------------------------------------------

def test_export_all_discovers_tables_and_one_refusal_does_not_stop_the_others(settings, citizen):
    publish(ex.topic_table_path(settings, "ioc_enterprise"), ioc_rows(date(2026, 11, 27)), date(2026, 11, 27),
            verdict="failed")
    publish(ex.topic_table_path(settings, "ioc_socioeconomic"), ioc_rows(date(2026, 11, 27)), date(2026, 11, 27))
    assert ex.discover_tables(settings) == ["ioc_citizen", "ioc_enterprise", "ioc_socioeconomic"]

    run = ex.export_all(settings, ex.ExportConfig())
    assert [r.name for r in run.results] == ["ioc_citizen", "ioc_socioeconomic"]
    assert list(run.failures) == ["ioc_enterprise"] and "quality verdict 'failed'" in run.failures["ioc_enterprise"]
    index = json.loads((ioc_dir(settings) / "index.json").read_text())
    assert sorted(index["tables"]) == ["ioc_citizen", "ioc_socioeconomic"]

    with pytest.raises(ex.ExportError, match="lists ioc_public_service, not published under topic/ioc"):
        ex.tables_to_export(settings, ex.ExportConfig(tables=("ioc_citizen", "ioc_public_service")))


def test_an_object_storage_exchange_is_written_through_a_local_mirror(settings):
    s3 = dataclasses.replace(settings, lake_root="s3://{zone}/city")
    assert ex.remote_exchange_root(s3) == "s3://exchange/city"
    assert ex.exchange_root(s3) == s3.state_dir / "exchange-mirror" / "exchange" / "city"
    assert ex.remote_exchange_root(settings) is None  # local disk: no mirror
    with pytest.raises(ex.ExportError, match="neither a local folder nor s3://"):
        ex.exchange_root(dataclasses.replace(settings, lake_root="hdfs://namenode/lake"))


def test_the_mirror_sync_publishes_manifests_last_and_never_reuploads_a_version(tmp_path):
    """kho.exchange_store against pyarrow's local file system standing in for the bucket."""
    from pyarrow import fs

    from kho import exchange_store as store

    local_fs = fs.LocalFileSystem()
    uploads: list[str] = []
    real_open = local_fs.open_output_stream

    class Spy:
        def __getattr__(self, name):
            return getattr(local_fs, name)

        def open_output_stream(self, path, *args, **kwargs):
            uploads.append(path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1])
            return real_open(path, *args, **kwargs)

    bucket = tmp_path / "bucket" / "ioc"
    bucket.mkdir(parents=True)
    mirror = tmp_path / "mirror"
    (mirror / "ioc_citizen" / "v0").mkdir(parents=True)
    for name in ("ioc_citizen.parquet", "manifest.json", "ioc_citizen.csv"):
        (mirror / "ioc_citizen" / "v0" / name).write_text(name)
    (mirror / "ioc_citizen" / "latest.json").write_text('{"delta_version": 0}')
    (mirror / "index.json").write_text("{}")
    spy = Spy()

    first = store.push(spy, mirror, str(bucket))
    assert uploads[:3] == ["v0/ioc_citizen.csv", "v0/ioc_citizen.parquet", "v0/manifest.json"]  # manifest last
    assert set(first.copied) == {"ioc_citizen/v0/ioc_citizen.csv", "ioc_citizen/v0/ioc_citizen.parquet",
                                 "ioc_citizen/v0/manifest.json", "ioc_citizen/latest.json", "index.json"}
    uploads.clear()
    assert store.push(spy, mirror, str(bucket)).copied == [] and uploads == []  # nothing new: nothing moves

    # another machine's mirror starts empty and pulls everything; a pruned version leaves both
    other = tmp_path / "other"
    assert len(store.pull(local_fs, str(bucket), other).copied) == 5
    assert (other / "ioc_citizen" / "v0" / "manifest.json").read_text() == "manifest.json"
    for f in (mirror / "ioc_citizen" / "v0").iterdir():
        f.unlink()
    (mirror / "ioc_citizen" / "v0").rmdir()
    gone = store.push(spy, mirror, str(bucket))
    assert gone.deleted[0] == "ioc_citizen/v0/manifest.json" and len(gone.deleted) == 3  # uncommit first
    assert store.pull(local_fs, str(bucket), other).deleted == sorted(
        f"ioc_citizen/v0/{n}" for n in ("ioc_citizen.csv", "ioc_citizen.parquet", "manifest.json"))
    assert not (other / "ioc_citizen" / "v0").exists()


# -- configuration -----------------------------------------------------------------------------------

def test_the_shipped_config_is_daily_at_six_in_hai_phong_exporting_everything():
    config = ex.load_export_config(env={})
    assert config == ex.ExportConfig(schedule="0 6 * * *", timezone="Asia/Ho_Chi_Minh", tables=None,
                                      formats=("csv", "parquet"), keep_versions=None)
    assert config.cron == "0 6 * * *"


@pytest.mark.parametrize(("raw", "field", "message"), [
    ({"schedule": "0 25 * * *"}, "schedule", "is not a valid cron expression"),
    ({"schedule": "0 6 * *"}, "schedule", "is not a 5-field cron expression"),
    ({"schedule": "@fortnightly"}, "schedule", "unknown preset '@fortnightly'"),
    ({"schedule": 6}, "schedule", "must be a cron expression"),
    ({"timezone": "Asia/Hai_Phong"}, "timezone", "unknown time zone 'Asia/Hai_Phong'"),
    ({"tables": "ioc_citizen"}, "tables", "must be 'all' or a non-empty list"),
    ({"tables": []}, "tables", "must be 'all' or a non-empty list"),
    ({"tables": ["IOC Citizen"]}, "tables", "'IOC Citizen' not a table name"),
    ({"tables": ["ioc_citizen", "ioc_citizen"]}, "tables", "lists ioc_citizen more than once"),
    ({"formats": ["csv", "xlsx"]}, "formats", "unknown format(s) 'xlsx'"),
    ({"formats": []}, "formats", "must be a non-empty list"),
    ({"keep_versions": 0}, "keep_versions", "a whole number >= 1"),
    ({"keep_versions": True}, "keep_versions", "a whole number >= 1"),
    ({"keep": 3}, "keep", "unknown field; known fields: schedule, timezone, tables, formats, keep_versions"),
])
def test_config_errors_name_the_field(raw, field, message):
    with pytest.raises(ex.ExportConfigError) as err:
        ex.parse_export_config(raw, env={})
    assert err.value.problems[0][0] == field and message in err.value.problems[0][1]
    assert str(err.value).startswith(f"kho/exports.yaml: {field}: ")


def test_config_reports_every_problem_and_accepts_presets_and_manual(tmp_path):
    with pytest.raises(ex.ExportConfigError) as err:
        ex.parse_export_config({"schedule": "daily", "formats": "csv", "keep_versions": -1}, env={})
    assert [f for f, _ in err.value.problems] == ["schedule", "formats", "keep_versions"]
    assert ex.parse_export_config({"schedule": "@quarterly"}, env={}).cron == "0 0 1 */3 *"
    assert ex.parse_export_config({"schedule": None}, env={}).cron is None
    assert ex.parse_export_config({"tables": ["ioc_citizen"], "keep_versions": 30}, env={}).tables == ("ioc_citizen",)

    bad_yaml = tmp_path / "exports.yaml"
    bad_yaml.write_text("schedule: [0 6\n")
    with pytest.raises(ex.ExportConfigError, match=r"exports.yaml: \(yaml\): "):
        ex.load_export_config(bad_yaml, env={})


def test_the_schedule_environment_override_is_validated_too():
    env = {ex.SCHEDULE_ENV: "30 5 * * 1-5"}
    assert ex.parse_export_config({"schedule": "0 6 * * *"}, env=env).schedule == "30 5 * * 1-5"
    assert ex.parse_export_config({}, env={ex.SCHEDULE_ENV: "none"}).schedule is None
    with pytest.raises(ex.ExportConfigError, match="KHO_KPI_EXPORT_SCHEDULE: \\(environment\\) '61 5 \\* \\* \\*' is not "
                                                  "a valid cron"):
        ex.parse_export_config({}, env={ex.SCHEDULE_ENV: "61 5 * * *"})


# -- CLI -------------------------------------------------------------------------------------------

def test_cli_exports_lists_and_verifies(settings, citizen, monkeypatch):
    from click.testing import CliRunner

    from kho.cli import main
    from kho.settings import get_settings

    monkeypatch.setenv("KHO_LAKE_ROOT", settings.lake_root)
    monkeypatch.delenv(ex.SCHEDULE_ENV, raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        for command in (["export"], ["export", "kpis"], ["export", "verify"], ["export", "list"]):
            assert runner.invoke(main, [*command, "--help"]).exit_code == 0
        out = runner.invoke(main, ["export", "kpis"])
        assert out.exit_code == 0, out.output
        assert "ioc_citizen" in out.output and "exported" in out.output
        assert "unchanged" in runner.invoke(main, ["export", "kpis", "--table", "ioc_citizen"]).output
        listed = runner.invoke(main, ["export", "list"])
        assert listed.exit_code == 0 and "0 6 * * * (Asia/Ho_Chi_Minh)" in listed.output and "v0" in listed.output
        pinned = runner.invoke(main, ["export", "kpis", "--version", "0"])
        assert pinned.exit_code == 1 and "exactly one --table" in pinned.output

        folder = ioc_dir(settings) / "ioc_citizen" / "v0"
        ok = runner.invoke(main, ["export", "verify", str(ioc_dir(settings))])
        assert ok.exit_code == 0 and "1 of 1 version folder(s) verify" in ok.output
        target = folder / "ioc_citizen.csv"
        _writable(target)
        target.write_text(target.read_text(encoding="utf-8") + "extra,row\n", encoding="utf-8")
        bad = runner.invoke(main, ["export", "verify", str(folder)])
        assert bad.exit_code == 1 and "ioc_citizen.csv: 9 rows, manifest says 8" in bad.output
    finally:
        get_settings.cache_clear()
