"""The file-drop connector (kho.ingest.files) and ingestion state (kho.ingest.state).

The drops are the project's own generators at SF 0.01 (insurance CSV with BOM and the 2026-05
schema change, labour CSV with ';', education XLSX with title rows, IoT JSONL). Expected row
counts come from the generators' manifests, not from the reader under test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kho.ingest import files as ingest_mod
from kho.ingest.files import SchemaPolicyError, batch_rows, ingest_files
from kho.ingest.state import CursorStore, FileLedger
from kho.lake import RUN_LOG, TableRef, Zone, delta_version
from kho.settings import get_settings

LOGICAL = date(2026, 11, 1)
CSV_BOM = {"encoding": "utf-8-sig"}


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kho.sources import education, insurance, iot, labour

    root = tmp_path_factory.mktemp("drops")
    with pytest.MonkeyPatch.context() as mp:  # generators may cache under the state dir: keep it in tmp
        mp.setenv("KHO_STATE_DIR", str(root / "gen_state"))
        mp.setenv("KHO_CITIZEN_CACHE_DIR", str(root / "gen_cache"))
        get_settings.cache_clear()
        for module in (insurance, labour, education):
            module.generate(root, seed=1, sf=0.01, workers=1)
        iot.generate(root, seed=1, sf=0.01, start="2026-10-25T00:00:00+07:00", end="2026-10-25T04:00:00+07:00")
    get_settings.cache_clear()
    return root


def _manifest(folder: Path) -> dict:
    return json.loads(next(folder.glob("*.manifest.json")).read_text())


def _copy(src: Path, names: list[str], dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(src / name, dest / name)
    return dest


def _insurance_v1(drops: Path) -> list[str]:
    """The extracts before the schema change (ma_dvhc, no phone)."""
    return sorted(n for n, f in _manifest(drops / "insurance")["files"].items() if "ma_dvhc" in f["columns"])


def _insurance(settings, folder: Path, policy: str = "evolve", pattern: str = "*.csv"):
    return ingest_files(settings, system="insurance", obj="bhxh_tham_gia", folder=folder, pattern=pattern,
                        fmt="csv", options=CSV_BOM, schema_policy=policy, expected_columns=None,
                        logical_date=LOGICAL)


def _raw(settings, system: str, obj: str) -> str:
    return TableRef(Zone.RAW, system, obj).path(settings)


def _read_raw(settings, system: str, obj: str):
    from deltalake import DeltaTable

    return DeltaTable(_raw(settings, system, obj)).to_pyarrow_table()


def _run_log(settings):
    from deltalake import DeltaTable

    return DeltaTable(RUN_LOG.path(settings)).to_pyarrow_table().to_pylist()


# -- loading ----------------------------------------------------------------------------------

def test_first_load_loads_every_file_with_its_rows_and_rerun_loads_nothing(isolated_settings, drops, tmp_path):
    settings = get_settings()
    names = _insurance_v1(drops)
    folder = _copy(drops / "insurance", names, tmp_path / "in")
    results = _insurance(settings, folder)
    expected = {f"insurance.bhxh_tham_gia.{Path(n).stem}": _manifest(drops / "insurance")["files"][n]["rows"]
                for n in names}
    assert [r.batch_id for r in results] == sorted(expected)  # one batch per file, by name order
    for r in results:
        assert r.rows_read == r.rows_written == expected[r.batch_id] > 0
        assert r.bytes == (folder / Path(r.file).name).stat().st_size and len(r.sha256) == 64
    assert [r.delta_version for r in results] == list(range(len(names)))  # one commit per file
    raw = _read_raw(settings, "insurance", "bhxh_tham_gia")
    assert raw.num_rows == sum(expected.values())
    for col in ("_batch_id", "_ingested_at", "_source_system", "_source_object", "_record_hash", "_source_file",
                "_ingest_date"):
        assert col in raw.column_names
    row = raw.slice(0, 1).to_pylist()[0]
    assert row["_source_system"] == "insurance" and row["_ingest_date"] == LOGICAL
    assert len(row["_record_hash"]) == 64
    source_types = {str(raw.schema.field(c).type) for c in _manifest(drops / "insurance")["files"][names[0]]["columns"]}
    assert source_types == {"string"}  # raw keeps data as received
    ledger = FileLedger(settings)
    assert len(ledger.loads("insurance", "bhxh_tham_gia")) == len(names)

    assert _insurance(settings, folder) == []  # rerun: the ledger knows every file
    assert _read_raw(settings, "insurance", "bhxh_tham_gia").num_rows == raw.num_rows
    assert len(ledger.loads("insurance", "bhxh_tham_gia")) == len(names)


def test_renamed_copy_of_a_loaded_file_is_skipped(isolated_settings, drops, tmp_path):
    settings = get_settings()
    name = _insurance_v1(drops)[0]
    folder = _copy(drops / "insurance", [name], tmp_path / "in")
    [first] = _insurance(settings, folder)
    shutil.copy(folder / name, folder / "bhxh_tham_gia_resent_copy.csv")
    assert _insurance(settings, folder) == []
    assert FileLedger(settings).seen(first.sha256)
    assert FileLedger(settings).seen(first.sha256, system="insurance", obj="bhxh_tham_gia")
    assert not FileLedger(settings).seen(first.sha256, system="insurance", obj="other_object")
    assert _read_raw(settings, "insurance", "bhxh_tham_gia").num_rows == first.rows_written


def test_bom_is_stripped_from_the_first_header(isolated_settings, drops, tmp_path):
    settings = get_settings()
    name = _insurance_v1(drops)[0]
    assert (drops / "insurance" / name).read_bytes()[:3] == b"\xef\xbb\xbf"
    _insurance(settings, _copy(drops / "insurance", [name], tmp_path / "in"))
    names = _read_raw(settings, "insurance", "bhxh_tham_gia").column_names
    assert names[0] == "ma_so_bhxh"
    assert not any("\ufeff" in n for n in names)


def test_labour_semicolon_csv(isolated_settings, drops):
    settings = get_settings()
    files = _manifest(drops / "labour")["files"]
    results = ingest_files(settings, system="labour", obj="lao_dong_viec_lam", folder=drops / "labour",
                           pattern="lao_dong_viec_lam_*.csv", fmt="csv", options={"delimiter": ";"},
                           schema_policy="freeze", expected_columns=None, logical_date=LOGICAL)
    assert {Path(r.file).name: r.rows_written for r in results} == {
        n: f["rows"] for n, f in files.items() if n.startswith("lao_dong")}
    raw = _read_raw(settings, "labour", "lao_dong_viec_lam")
    assert raw.column_names[:3] == ["so_cccd", "ho_ten", "ngay_sinh"]


def test_xlsx_title_rows_are_skipped(isolated_settings, drops):
    settings = get_settings()
    files = _manifest(drops / "education")["files"]
    results = ingest_files(settings, system="education", obj="truong", folder=drops / "education",
                           pattern="truong_hoc_*.xlsx", fmt="xlsx", options={"sheet": "Truong", "header_row": 8},
                           schema_policy="freeze",
                           expected_columns=["STT", "ma_truong", "ten_truong", "cap_hoc", "loai_hinh", "ma_dvhc"],
                           logical_date=LOGICAL)
    assert {Path(r.file).name: r.rows_written for r in results} == {n: f["Truong"] for n, f in files.items()}
    raw = _read_raw(settings, "education", "truong")
    first = raw.filter(pc.equal(raw["_batch_id"], results[0].batch_id)).slice(0, 1).to_pylist()[0]
    assert first["STT"] == "1"  # the merged STT header cell names column A; data starts at row 9
    assert len(first["ma_truong"]) == 8 and first["ma_truong"].isdigit()
    titles = ("UBND", "SỞ GIÁO DỤC", "DANH SÁCH", "Số liệu tại")
    assert not any(str(v).startswith(titles) for v in raw.column("STT").to_pylist())
    # The same workbook feeds a second object (another sheet): the ledger is per object.
    siso = ingest_files(settings, system="education", obj="si_so", folder=drops / "education",
                        pattern="truong_hoc_*.xlsx", fmt="xlsx", options={"sheet": "SiSo", "header_row": 8},
                        schema_policy="freeze", expected_columns=None, logical_date=LOGICAL)
    assert [r.rows_written for r in siso] == [f["SiSo"] for _, f in sorted(files.items())]


def test_iot_jsonl_keeps_nested_values_as_json_text(isolated_settings, drops):
    settings = get_settings()
    folder = drops / "iot"
    results = ingest_files(settings, system="iot", obj="events", folder=folder, pattern="iot_*.jsonl", fmt="jsonl",
                           options=None, schema_policy="evolve", expected_columns=None, logical_date=LOGICAL)
    lines = {p.name: sum(1 for line in p.read_text().splitlines() if line.strip()) for p in folder.glob("iot_*.jsonl")}
    assert {Path(r.file).name: r.rows_written for r in results} == lines
    row = _read_raw(settings, "iot", "events").slice(0, 1).to_pylist()[0]
    assert isinstance(json.loads(row["measurements"]), dict)


# -- schema policy ------------------------------------------------------------------------------

def _phone_only_variant(drops: Path, dest: Path) -> str:
    """The 2026-05 extract with ma_xa named back to ma_dvhc: only the added phone column differs."""
    name = "bhxh_tham_gia_202605.csv"
    text = (drops / "insurance" / name).read_bytes().decode("utf-8-sig")
    header, rest = text.split("\r\n", 1)
    assert "ma_xa" in header.split(",") and "so_dien_thoai" in header.split(",")
    out = "bhxh_tham_gia_202605a.csv"
    (dest / out).write_bytes(("\ufeff" + header.replace("ma_xa", "ma_dvhc") + "\r\n" + rest).encode("utf-8"))
    return out


def test_evolve_adds_a_new_column_but_a_renamed_column_fails(isolated_settings, drops, tmp_path):
    settings = get_settings()
    v1 = _insurance_v1(drops)
    folder = _copy(drops / "insurance", v1, tmp_path / "in")
    _insurance(settings, folder)
    before = _read_raw(settings, "insurance", "bhxh_tham_gia").num_rows

    added = _phone_only_variant(drops, folder)
    [res] = _insurance(settings, folder, pattern="bhxh_tham_gia_202605a.csv")
    raw = _read_raw(settings, "insurance", "bhxh_tham_gia")
    assert "so_dien_thoai" in raw.column_names and raw.num_rows == before + res.rows_written
    old = raw.filter(pc.not_equal(raw["_batch_id"], res.batch_id))
    assert old.column("so_dien_thoai").null_count == old.num_rows  # older rows read null
    assert added  # (the helper asserted the real file carries both changes)

    real = "bhxh_tham_gia_202605.csv"
    shutil.copy(drops / "insurance" / real, folder / real)
    with pytest.raises(SchemaPolicyError) as err:
        _insurance(settings, folder)
    message = str(err.value)
    assert "ma_dvhc" in message and "evolve" in message and real in message and "ma_xa" in message
    raw = _read_raw(settings, "insurance", "bhxh_tham_gia")
    assert raw.num_rows == before + res.rows_written
    assert batch_rows(_raw(settings, "insurance", "bhxh_tham_gia"), "insurance.bhxh_tham_gia.bhxh_tham_gia_202605") == 0
    assert "ma_xa" not in raw.column_names
    assert not FileLedger(settings).seen(ingest_mod.file_sha256(folder / real))
    failed = [r for r in _run_log(settings) if r["status"] == "failed"]
    assert [r["batch_id"] for r in failed] == ["insurance.bhxh_tham_gia.bhxh_tham_gia_202605"]
    assert "ma_dvhc" in json.loads(failed[0]["details"])["error"]


def test_freeze_rejects_an_added_column(isolated_settings, drops, tmp_path):
    settings = get_settings()
    folder = _copy(drops / "insurance", _insurance_v1(drops)[:2], tmp_path / "in")
    _insurance(settings, folder, policy="freeze")
    version = delta_version(_raw(settings, "insurance", "bhxh_tham_gia"))
    _phone_only_variant(drops, folder)
    with pytest.raises(SchemaPolicyError) as err:
        _insurance(settings, folder, policy="freeze")
    assert "so_dien_thoai" in str(err.value) and "freeze" in str(err.value)
    assert delta_version(_raw(settings, "insurance", "bhxh_tham_gia")) == version
    assert "so_dien_thoai" not in _read_raw(settings, "insurance", "bhxh_tham_gia").column_names


def test_expected_columns_are_checked_before_the_first_load(isolated_settings, drops, tmp_path):
    settings = get_settings()
    folder = _copy(drops / "insurance", _insurance_v1(drops)[:1], tmp_path / "in")
    declared = _manifest(drops / "insurance")["files"][_insurance_v1(drops)[0]]["columns"] + ["so_dien_thoai"]
    with pytest.raises(SchemaPolicyError, match="so_dien_thoai"):
        ingest_files(settings, system="insurance", obj="bhxh_tham_gia", folder=folder, pattern="*.csv", fmt="csv",
                     options=CSV_BOM, schema_policy="freeze", expected_columns=declared, logical_date=LOGICAL)
    assert not Path(_raw(settings, "insurance", "bhxh_tham_gia")).exists() or \
        batch_rows(_raw(settings, "insurance", "bhxh_tham_gia"), "x") == 0


# -- failures mid-load ------------------------------------------------------------------------

def test_load_killed_mid_write_leaves_no_partial_batch(isolated_settings, drops, tmp_path, monkeypatch):
    import deltalake
    import pyarrow.parquet as pq

    settings = get_settings()
    names = _insurance_v1(drops)[:3]
    folder = _copy(drops / "insurance", names, tmp_path / "in")
    target = _raw(settings, "insurance", "bhxh_tham_gia")
    real_write = deltalake.write_deltalake
    calls = {"n": 0}

    def dying_write(path, data, **kwargs):
        calls["n"] += str(path) == target
        if str(path) == target and calls["n"] == 2:  # second file: its Parquet data lands in the table folder, the commit never does
            part = Path(path) / f"_ingest_date={LOGICAL}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(data.drop_columns(["_ingest_date"]), part / "part-orphan-killed.parquet")
            raise KeyboardInterrupt("killed before commit")
        return real_write(path, data, **kwargs)

    monkeypatch.setattr(deltalake, "write_deltalake", dying_write)
    with pytest.raises(KeyboardInterrupt):
        _insurance(settings, folder)
    monkeypatch.setattr(deltalake, "write_deltalake", real_write)

    rows = {n: _manifest(drops / "insurance")["files"][n]["rows"] for n in names}
    assert _read_raw(settings, "insurance", "bhxh_tham_gia").num_rows == rows[names[0]]
    assert batch_rows(target, f"insurance.bhxh_tham_gia.{Path(names[1]).stem}") == 0
    assert len(FileLedger(settings).loads()) == 1
    results = _insurance(settings, folder)  # the next run completes
    assert [Path(r.file).name for r in results] == names[1:]
    raw = _read_raw(settings, "insurance", "bhxh_tham_gia")
    assert raw.num_rows == sum(rows.values())
    assert raw.group_by("_batch_id").aggregate([("_batch_id", "count")]).num_rows == 3


def test_crash_between_commit_and_ledger_does_not_load_twice(isolated_settings, drops, tmp_path, monkeypatch):
    settings = get_settings()
    names = _insurance_v1(drops)[:2]
    folder = _copy(drops / "insurance", names, tmp_path / "in")

    def boom(self, **kwargs):
        raise SystemExit("killed after the raw commit")

    monkeypatch.setattr(FileLedger, "record", boom)
    with pytest.raises(SystemExit):
        _insurance(settings, folder)
    monkeypatch.undo()
    rows = {n: _manifest(drops / "insurance")["files"][n]["rows"] for n in names}
    assert _read_raw(settings, "insurance", "bhxh_tham_gia").num_rows == rows[names[0]]  # committed, unrecorded
    results = _insurance(settings, folder)
    assert [Path(r.file).name for r in results] == names[1:]  # the first is recognised, not reloaded
    assert _read_raw(settings, "insurance", "bhxh_tham_gia").num_rows == sum(rows.values())
    assert {load.file_name for load in FileLedger(settings).loads()} == set(names)


_CHILD = """
import sys
import time
from datetime import date
from kho.settings import get_settings
from kho.ingest import files
from kho.ingest.files import ingest_files

_read = files.read_file


def slow_read(*args, **kwargs):
    # Each file takes at least 0.6 s, so the kill lands mid-load on any machine, whatever its speed.
    time.sleep(0.6)
    return _read(*args, **kwargs)


files.read_file = slow_read
print("start", flush=True)
ingest_files(get_settings(), system="insurance", obj="bhxh_tham_gia", folder=sys.argv[1], pattern="*.csv",
             fmt="csv", options={"encoding": "utf-8-sig"}, schema_policy="evolve", expected_columns=None,
             logical_date=date(2026, 11, 1))
print("done", flush=True)
"""


@pytest.mark.parametrize("delay", [0.35, 1.5])
def test_child_process_killed_during_load_then_next_run_completes(isolated_settings, drops, tmp_path, delay):
    """A real SIGKILL of a spawned interpreter (no fork) at some point of the load: every batch in
    raw is whole, and the next run brings raw to exactly one copy of each file."""
    settings = get_settings()
    names = _insurance_v1(drops)
    folder = _copy(drops / "insurance", names, tmp_path / "in")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)], stdout=subprocess.PIPE, text=True,
                             env=os.environ.copy())
    assert child.stdout.readline().strip() == "start"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL  # killed mid-load, not finished
    rows = {f"insurance.bhxh_tham_gia.{Path(n).stem}": _manifest(drops / "insurance")["files"][n]["rows"]
            for n in names}
    target = _raw(settings, "insurance", "bhxh_tham_gia")
    if Path(target, "_delta_log").exists():
        raw = _read_raw(settings, "insurance", "bhxh_tham_gia")
        counts = {r["_batch_id"]: r["_batch_id_count"]
                  for r in raw.group_by("_batch_id").aggregate([("_batch_id", "count")]).to_pylist()}
        assert all(counts[b] == rows[b] for b in counts)  # no partial batch visible
    _insurance(settings, folder)
    raw = _read_raw(settings, "insurance", "bhxh_tham_gia")
    counts = {r["_batch_id"]: r["_batch_id_count"]
              for r in raw.group_by("_batch_id").aggregate([("_batch_id", "count")]).to_pylist()}
    assert counts == rows


# -- run log and state ------------------------------------------------------------------------

def test_run_log_has_a_row_per_batch(isolated_settings, drops, tmp_path):
    settings = get_settings()
    folder = _copy(drops / "insurance", _insurance_v1(drops)[:2], tmp_path / "in")
    results = _insurance(settings, folder)
    log_rows = [r for r in _run_log(settings) if r["step"] == "ingest_files"]
    assert sorted(r["batch_id"] for r in log_rows) == sorted(r.batch_id for r in results)
    for row in log_rows:
        res = next(r for r in results if r.batch_id == row["batch_id"])
        assert row["status"] == "success" and row["target"] == "raw/insurance/bhxh_tham_gia"
        assert row["rows_in"] == row["rows_out"] == res.rows_written
        assert row["delta_version"] == res.delta_version and row["logical_date"] == LOGICAL
        assert json.loads(row["details"])["sha256"] == res.sha256


def test_cursor_store_latest_wins(isolated_settings):
    settings = get_settings()
    store = CursorStore(settings)
    assert store.get("dossiers", "ho_so") is None
    store.set("dossiers", "ho_so", "2026-10-01T00:00:00", batch_id="b1")
    store.set("dossiers", "ho_so", "2026-10-02T00:00:00", batch_id="b2")
    store.set("dossiers", "thu_tuc", "7")
    assert store.get("dossiers", "ho_so") == "2026-10-02T00:00:00"
    assert store.get("dossiers", "thu_tuc") == "7"
    assert [r["batch_id"] for r in store.history("dossiers", "ho_so")] == ["b1", "b2"]  # history is kept
