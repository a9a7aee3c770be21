"""kho.standardise.population.clean_population against the row-at-a-time clean_record.

The generated population (kho.sources.population, small scale factor, fault rates raised so
every fault kind occurs hundreds of times) is cleaned both ways; every output value, reject
reason and detail must be equal. ``spark_jobs.population_processed`` imports pyspark at module
level; no Spark session is started.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pytest

from kho import reference
from kho.sources.population import AS_OF, COLUMNS, DEFAULT_FAULT_RATES, PopulationGenerator
from kho.standardise import clean_population
from kho.standardise.population import OUTPUT_SCHEMA
from kho.standardise.reasons import REASONS
from spark_jobs.population_processed import CLEAN_SCHEMA, clean_record

HIGH_RATES = {fault: min(0.05, rate * 10) for fault, rate in DEFAULT_FAULT_RATES.items()}


def _rows(sf: float, rates: dict[str, float] | None = None, seed: int = 7) -> list[dict[str, Any]]:
    gen = PopulationGenerator(seed=seed, sf=sf, fault_rates=rates)
    return [{**dict(zip(COLUMNS, row)), "_batch_id": "population-cong_dan-20261101", "_record_hash": f"h{i}"}
            for i, row in enumerate(gen.rows())]


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([("id", pa.int64())] + [(c, pa.string()) for c in COLUMNS[1:]]
                       + [("_batch_id", pa.string()), ("_record_hash", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def _compare(rows: list[dict[str, Any]], as_of: date = AS_OF) -> list[dict[str, Any]]:
    got = clean_population(_table(rows), as_of, timestamp_tz=None).drop_columns(["_raw"]).to_pylist()
    mismatches = []
    for rec, out in zip(rows, got):
        want = clean_record(dict(rec), as_of)
        if out != want:
            mismatches.append({"raw": rec, "diff": {k: (out[k], want[k]) for k in want if out[k] != want[k]}})
    return mismatches


@pytest.fixture(scope="module")
def faulty_rows() -> list[dict[str, Any]]:
    return _rows(0.06, HIGH_RATES)


def test_generated_batch_equals_clean_record(faulty_rows: list[dict[str, Any]]) -> None:
    assert len(faulty_rows) > 5_000
    mismatches = _compare(faulty_rows)
    assert not mismatches, mismatches[:5]


def test_generated_batch_exercises_every_reason(faulty_rows: list[dict[str, Any]]) -> None:
    out = clean_population(_table(faulty_rows), AS_OF)
    seen = set(out["_reject_reason"].drop_null().to_pylist())
    # ADMIN_UNIT_SPLIT needs a split unit's code with its own old address: rare, but present at this size
    assert {"CCCD_MISSING", "CCCD_MALFORMED", "CCCD_BAD_PROVINCE", "CCCD_MISMATCH", "BIRTH_DATE_INVALID",
            "ADMIN_UNIT_UNKNOWN", "ADMIN_UNIT_SPLIT"} <= seen
    assert seen <= set(REASONS)
    sources = set(out["commune_code_source"].drop_null().to_pylist())
    assert {"current", "crosswalk"} <= sources


def test_clean_generated_batch_without_faults() -> None:
    rows = _rows(0.01, {f: 0.0 for f in DEFAULT_FAULT_RATES})
    out = clean_population(_table(rows), AS_OF)
    assert out["_reject_reason"].null_count == out.num_rows
    assert not _compare(rows)


CURRENT = reference.admin_units()[0]


def _raw(**overrides: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "id": 7, "so_dinh_danh": "031090123456", "ho_ten": "Nguyễn Văn An", "ngay_sinh": "17/05/1990",
        "gioi_tinh": "Nam", "ma_dvhc": CURRENT.unit_code,
        "dia_chi": f"Số 12 Lạch Tray, {CURRENT.unit_full_name}, Thành phố Hải Phòng",
        "ngay_cap_nhat": "2025-08-01 10:15:00", "_batch_id": "b", "_record_hash": "h",
    }
    rec.update(overrides)
    return rec


def _old_split() -> reference.CrosswalkEntry:
    current = reference.admin_unit_by_code()
    return next(e for e in sorted(reference.crosswalk().values(), key=lambda e: e.old_unit_code)
                if e.split and e.old_unit_code not in current)


EDGE_CASES = [
    {}, {"so_dinh_danh": None}, {"so_dinh_danh": "   "}, {"so_dinh_danh": "03109012345"},
    {"so_dinh_danh": "03109O123456"}, {"so_dinh_danh": "065090123456"}, {"so_dinh_danh": "031190123456"},
    {"so_dinh_danh": " 031090123456\t"}, {"so_dinh_danh": "\u00a0031090123456"}, {"so_dinh_danh": "031\u00b290123456"},
    {"gioi_tinh": "Nữ"}, {"gioi_tinh": unicodedata.normalize("NFD", "nữ")}, {"gioi_tinh": "X"}, {"gioi_tinh": None},
    {"ngay_sinh": "17/05/1991"}, {"ngay_sinh": "31/02/1990"}, {"ngay_sinh": "1985-13-01"}, {"ngay_sinh": ""},
    {"ngay_sinh": None}, {"ngay_sinh": "không rõ"}, {"ngay_sinh": "1899-12-31", "so_dinh_danh": "031099123456"},
    {"ngay_sinh": "2026-11-02", "so_dinh_danh": "031226123456"}, {"ngay_sinh": "2026-11-01", "so_dinh_danh": "031226000001"},
    {"ngay_sinh": "1990-05-17T08:00:00"}, {"ngay_sinh": "17.5.1990"}, {"ngay_sinh": "19900517"},
    {"ho_ten": None}, {"ho_ten": "  "}, {"ho_ten": "  nguyễn   văn AN "}, {"ho_ten": unicodedata.normalize("NFD", "lê thị hồng")},
    {"ho_ten": "NGUYEN VAN AN"}, {"ho_ten": "Nguyễn-văn an"}, {"ho_ten": "o'brien 2nd"}, {"ho_ten": "ΣΟΦΙΑ"},
    {"ma_dvhc": "99999"}, {"ma_dvhc": ""}, {"ma_dvhc": None}, {"ma_dvhc": _old_split().old_unit_code},
    {"ma_dvhc": f" {CURRENT.unit_code} "}, {"dia_chi": None}, {"dia_chi": "  Thôn 3,\u00a0 Xã   Cũ "},
    {"ngay_cap_nhat": "không rõ"}, {"ngay_cap_nhat": None}, {"ngay_cap_nhat": "2025-08-01T10:15:00"},
    {"ngay_cap_nhat": "2025-02-30 10:15:00"}, {"ngay_cap_nhat": "2025-08-01"}, {"ngay_cap_nhat": " 2025-08-01 10:15:00 "},
    {"id": "8"},
]


def test_hand_written_edge_cases_equal_clean_record() -> None:
    rows = [_raw(**case) for case in EDGE_CASES]
    for row in rows:
        row["id"] = int(row["id"])        # the Arrow table types id as int64, as the raw zone does
    assert not _compare(rows)


def test_split_unit_is_resolved_from_a_current_address() -> None:
    entry = _old_split()
    target = reference.admin_unit_by_code()[entry.candidate_unit_codes[-1]]
    rows = [_raw(ma_dvhc=entry.old_unit_code, dia_chi=f"Số 5 Lê Lợi, {target.unit_full_name}, Thành phố Hải Phòng"),
            _raw(ma_dvhc=entry.old_unit_code,
                 dia_chi=f"Thôn 1, Xã {entry.old_unit_name}, {entry.old_district}, Tỉnh Hải Dương")]
    out = clean_population(_table(rows), AS_OF).to_pylist()
    assert (out[0]["commune_code"], out[0]["commune_code_source"], out[0]["_reject_reason"]) == (
        target.unit_code, "address", None)
    assert out[1]["_reject_reason"] == "ADMIN_UNIT_SPLIT"       # a pre-2025 address cannot decide
    off = clean_population(_table(rows[:1]), AS_OF, resolve_split_from_address=False).to_pylist()
    assert off[0]["_reject_reason"] == "ADMIN_UNIT_SPLIT"


@pytest.mark.parametrize("kind", ["record_batch", "pandas", "chunked"])
def test_accepts_record_batches_pandas_and_chunked_tables(kind: str) -> None:
    rows = [_raw(), _raw(id=9, gioi_tinh="X"), _raw(id=10, ho_ten=None)]
    table = _table(rows)
    batch: Any = table
    if kind == "record_batch":
        batch = table.to_batches()[0]
    elif kind == "pandas":
        batch = table.to_pandas()
    else:
        batch = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    out = clean_population(batch, AS_OF)
    assert out.schema == OUTPUT_SCHEMA
    assert out["updated_at"].to_pylist()[0] == datetime(2025, 8, 1, 10, 15, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert out["_reject_reason"].to_pylist() == [None, "SEX_INVALID", "NAME_MISSING"]


def test_empty_batch() -> None:
    out = clean_population(_table([]), AS_OF)
    assert out.num_rows == 0 and out.schema == OUTPUT_SCHEMA


def test_output_schema_matches_the_spark_job() -> None:
    assert OUTPUT_SCHEMA.names == CLEAN_SCHEMA.fieldNames()


def test_raw_json_only_for_rejected_rows_and_as_the_job_writes_it() -> None:
    rows = [_raw(), _raw(id=9, gioi_tinh="X", ho_ten="Lê  Thị Hồng")]
    out = clean_population(_table(rows), AS_OF, include_raw=True)
    raw = out["_raw"].to_pylist()
    assert raw[0] is None
    source_columns = list(COLUMNS)
    expected = json.dumps({c: rows[1][c] for c in source_columns}, ensure_ascii=False, default=str)
    assert raw[1] == expected
    assert json.loads(raw[1])["gioi_tinh"] == "X"


def test_pandas_input_with_nan_like_nulls() -> None:
    frame = pd.DataFrame([_raw(), _raw(id=9, so_dinh_danh=None)])
    out = clean_population(frame, AS_OF)
    assert out["_reject_reason"].to_pylist() == [None, "CCCD_MISSING"]


def test_local_instants_fast_shift_equals_the_time_zone_database() -> None:
    import pyarrow.compute as pc

    from kho.standardise.population import _local_instants

    recent = pa.array([datetime(2025, 8, 1, 10, 15), None, datetime(1976, 1, 1)], pa.timestamp("us"))
    old = pa.array([datetime(1960, 1, 1, 12), datetime(2025, 8, 1)], pa.timestamp("us"))
    for values in (recent, old):
        assert _local_instants(values, "Asia/Ho_Chi_Minh").equals(pc.assume_timezone(values, "Asia/Ho_Chi_Minh"))
