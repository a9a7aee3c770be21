"""Processed dossiers (kho.processed.dossiers): dossier, procedure and agency on generated TTHC data.

The raw tables are built the way the LGSP connector would deliver them, without running the
API server: the generated SQLite (``kho.sources.dossiers.db_path``) read directly, typed as
the registry declares, plus the loader's ingestion columns. The pending status changes of
``ho_so_cap_nhat`` are appended as later versions of their dossiers (what the API reveals
while a client pages), so one batch holds two versions of some ids, as a real pull does.
Expected outcomes come from the generator's fault counters and its catalogue.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kho import reference
from kho.ingest.loader import _ingest_columns, with_record_hash
from kho.ingest.registry import load_registry
from kho.ingest.types import table_from_rows
from kho.processed import dossiers as d
from kho.processed.base import RULE_COLUMNS
from kho.settings import get_settings
from kho.sources import dossiers as gen
from kho.standardise.reasons import REASONS, SEVERITY

SEED = 7
SF = 0.2
AS_OF = date(2026, 11, 27)
CURRENT = set(reference.admin_unit_by_code())


# -- the raw tables -------------------------------------------------------------------------------

def _raw(db, obj_name: str, sql_table: str, *, versions: bool = False) -> pa.Table:
    """The SQLite table as raw holds it: registry types, record hash, ingestion columns."""
    source = load_registry().get("dossiers")
    obj = source.object(obj_name)
    names = [c.name for c in obj.expected_schema]
    con = sqlite3.connect(db)
    try:
        rows = con.execute(f"SELECT {', '.join(names)} FROM {sql_table} ORDER BY rowid").fetchall()
        if versions:
            by_id = {r[0]: dict(zip(names, r)) for r in rows}
            for ho_so_id, status, returned, updated in con.execute(
                    "SELECT ho_so_id, trang_thai, ngay_tra_ket_qua, cap_nhat_luc FROM ho_so_cap_nhat ORDER BY seq"):
                version = {**by_id[ho_so_id], "trang_thai": status, "ngay_tra_ket_qua": returned,
                           "cap_nhat_luc": updated}
                rows.append(tuple(version[c] for c in names))
    finally:
        con.close()
    table = table_from_rows(names, rows, {c.name: c.type for c in obj.expected_schema}, obj_name)
    with duckdb.connect() as duck:
        hashed = with_record_hash(duck, table, names)
    hashed = hashed.append_column("_op", pa.repeat(pa.scalar("U"), hashed.num_rows))
    return _ingest_columns(hashed, source=source, obj=obj, batch=f"dossiers.{obj_name}.test", day=AS_OF)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("dossiers")
    with pytest.MonkeyPatch.context() as mp:       # generators may cache citizens under the state dir
        mp.setenv("KHO_STATE_DIR", str(root / "gen_state"))
        mp.setenv("KHO_CITIZEN_CACHE_DIR", str(root / "gen_cache"))
        get_settings.cache_clear()
        stats = gen.generate(root, seed=SEED, sf=SF)
    get_settings.cache_clear()
    db = gen.db_path(root)
    return {"db": db, "stats": stats,
            "dossier": _raw(db, "dossier", "ho_so", versions=True),
            "procedure": _raw(db, "procedure", "thu_tuc"),
            "agency": _raw(db, "agency", "co_quan")}


@pytest.fixture(scope="module")
def dossiers(source):
    return d.clean_dossiers(source["dossier"], AS_OF)


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def _joined(raw: pa.Table, out: pa.Table) -> list[tuple[dict, dict]]:
    return list(zip(_rows(raw), _rows(out)))


def _check_contract(raw: pa.Table, out: pa.Table, spec) -> None:
    assert out.num_rows == raw.num_rows
    assert out.schema.names == spec.schema.names + list(RULE_COLUMNS)
    for field in spec.schema:
        assert out.schema.field(field.name).type == field.type, field.name
    assert out.schema.field("_completeness").type == pa.int32()
    assert out["record_id"].null_count == 0
    assert len(set(out["record_id"].to_pylist())) == out.num_rows, "record_id must be unique in a batch"
    reasons = [r for r in out["_reject_reason"].to_pylist() if r is not None]
    assert set(reasons) <= set(REASONS)
    valid = out.filter(pc.is_null(out["_reject_reason"]))
    assert valid["_reject_detail"].null_count == valid.num_rows
    rejected = out.filter(pc.is_valid(out["_reject_reason"]))
    assert rejected["_reject_detail"].null_count == 0
    for flags in out["quality_flags"].drop_null().to_pylist():
        assert set(flags.split(",")) <= set(REASONS) and len(flags.split(",")) == len(set(flags.split(",")))


def _survivors(out: pa.Table) -> dict[str, dict]:
    """The job's survivorship on valid rows: latest updated_at, then completeness, then record id."""
    best: dict[str, dict] = {}
    for row in _rows(out.filter(pc.is_null(out["_reject_reason"]))):
        rank = (row["updated_at"] or datetime.min.astimezone(), row["_completeness"], row["record_id"])
        key = row["receipt_code"]
        if key not in best or rank > best[key]["_rank"]:
            best[key] = {**row, "_rank": rank}
    return best


# -- dossier ----------------------------------------------------------------------------------------

def test_dossier_contract_and_reject_share(source, dossiers):
    raw = source["dossier"]
    _check_contract(raw, dossiers, d.DOSSIER)
    rejected = dossiers["_reject_reason"].drop_null().to_pylist()
    assert 0 < len(rejected) < 0.01 * dossiers.num_rows        # only unfixable applicant ids at default rates
    assert set(rejected) <= {"CCCD_MALFORMED", "TAX_CODE_MALFORMED", "TAX_CODE_BAD_CHECK"}
    assert all(SEVERITY[c] == "warn" or c.startswith("ADMIN_UNIT") or c == "CODE_INVALID"
               for flags in dossiers["quality_flags"].drop_null().to_pylist() for c in flags.split(","))
    assert dossiers["_completeness"].null_count == 0 and pc.min(dossiers["_completeness"]).as_py() > 0


def test_duplicates_and_versions_merge_on_the_receipt_code(source, dossiers):
    stats = source["stats"]
    ho_so = stats.rows["ho_so"]
    copies = stats.faults["exact_duplicate"] + stats.faults["near_duplicate"]
    assert copies > 0 and stats.rows["ho_so_cap_nhat"] > 0
    assert dossiers.num_rows == ho_so + stats.rows["ho_so_cap_nhat"]
    assert len(set(dossiers["receipt_code"].to_pylist())) == ho_so - copies
    # near duplicates differ only in how they are written: after cleaning, every copy of one
    # version (same receipt code and update time) says the same thing
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in _rows(dossiers.filter(pc.is_null(dossiers["_reject_reason"]))):
        groups[(row["receipt_code"], row["updated_at"])].append(row)
    copied = [rows for rows in groups.values() if len(rows) > 1]
    assert len(copied) >= copies - 5                     # a copy of a rejected dossier is rejected too
    for rows in copied:
        for column in ("channel", "status", "agency_name", "received_at", "due_at", "returned_at", "commune_code",
                       "applicant_id"):
            assert len({r[column] for r in rows}) == 1, (column, rows)
        sure_names = {r["applicant_name"] for r in rows
                      if r["applicant_name_has_diacritics"] and "NAME_UNACCENTED" not in (r["quality_flags"] or "")}
        assert len(sure_names) <= 1
    # the latest version wins: the revealed status of every pending change
    con = sqlite3.connect(source["db"])
    pending = con.execute("SELECT h.ma_ho_so, c.trang_thai FROM ho_so_cap_nhat c JOIN ho_so h ON h.id = c.ho_so_id"
                          ).fetchall()
    con.close()
    survivors = _survivors(dossiers)
    for receipt, status in pending:
        if receipt in survivors:
            assert survivors[receipt]["status"] == d.STATUS_CODES[status]
    # a copy whose name is unaccented (or only partly restored) never beats its accented original
    def sure(row: dict) -> bool:
        return row["applicant_name_has_diacritics"] and "NAME_UNACCENTED" not in (row["quality_flags"] or "")

    for rows in copied:
        winner = max(rows, key=lambda r: (r["_completeness"], r["record_id"]))
        assert sure(winner) or not any(sure(r) for r in rows)


def test_missing_dates_are_recovered_or_fall_back_to_the_status(source, dossiers):
    pairs = _joined(source["dossier"], dossiers)
    no_receipt = [(r, o) for r, o in pairs if not r["ngay_tiep_nhan"]]
    no_due = [(r, o) for r, o in pairs if not r["han_giai_quyet"]]
    assert no_receipt and no_due
    assert len({r["ma_ho_so"] for r, _ in no_receipt + no_due}) == source["stats"].faults["missing_dates"]
    for r, o in no_receipt:
        yymmdd = r["ma_ho_so"].split("-")[1]
        assert o["received_date"] == date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
        assert o["received_at"] is None and "TIMESTAMP_MISSING" in o["quality_flags"]
        assert o["_reject_reason"] is None or o["_reject_reason"] not in ("DATE_MISSING", "DATE_UNPARSEABLE")
    for r, o in no_due:
        assert o["due_at"] is None and "TIMESTAMP_MISSING" in o["quality_flags"]
    # on_time is "returned by the due date"; without a date, the status the system recorded
    resolved = [(r, o) for r, o in pairs if o["status"] in d.RESOLVED]
    assert resolved
    for r, o in resolved:
        assert o["on_time"] == (o["status"] == "resolved_on_time"), r
        if o["returned_at"] is not None and o["due_at"] is not None:
            assert o["on_time"] == (o["returned_at"] <= o["due_at"])
    without_return = [o for r, o in resolved if r["ngay_tra_ket_qua"] is None]
    assert len({o["receipt_code"] for o in without_return}) >= source["stats"].faults["resolved_without_return_date"]
    assert all("TIMESTAMP_MISSING" in o["quality_flags"] and o["processing_days"] is None for o in without_return)
    assert all(o["on_time"] is None for r, o in pairs if o["status"] in ("in_progress", "returned"))
    days = [o["processing_days"] for _, o in resolved if o["processing_days"] is not None]
    assert min(days) >= 0 and max(days) < 120


def test_rates_match_the_seed_for_2024(dossiers):
    """Seed §VI.1.2: 58,45 % of 2024 dossiers online, 95,59 % of the resolved on time."""
    survivors = [r for r in _survivors(dossiers).values() if r["received_date"].year == 2024]
    online = sum(r["submitted_online"] for r in survivors) / len(survivors)
    resolved = [r for r in survivors if r["status"] in d.RESOLVED]
    on_time = sum(r["on_time"] for r in resolved) / len(resolved)
    assert abs(online - 0.5845) < 0.01
    assert abs(on_time - 0.9559) < 0.012


def test_unit_codes_go_through_the_versioned_crosswalk(source, dossiers):
    pairs = _joined(source["dossier"], dossiers)
    crosswalk = reference.crosswalk()
    post_old = set()
    for r, o in pairs:
        assert o["commune_code"] is None or o["commune_code"] in CURRENT
        pre = o["received_date"] < date(2025, 7, 1)
        flags = (o["quality_flags"] or "").split(",")
        if pre:                    # history, not a fault: never flagged, read as a pre-2025 code
            assert not {"ADMIN_UNIT_SPLIT", "ADMIN_UNIT_UNKNOWN"} & set(flags)
            entry = crosswalk.get(r["ma_dvhc"])
            if entry is None:      # a unit created by the reform (Bạch Long Vĩ 11948) has only its new code
                assert o["commune_code"] == r["ma_dvhc"] and o["commune_code_source"] == "current"
            elif entry.split:
                assert o["commune_code"] is None
            else:
                assert o["commune_code"] == entry.new_unit_code and o["commune_code_source"] == "crosswalk"
        elif r["ma_dvhc"] not in CURRENT:
            post_old.add(o["receipt_code"])
            assert o["commune_code"] is not None or "ADMIN_UNIT_SPLIT" in flags
        else:
            assert o["commune_code"] == r["ma_dvhc"] and o["commune_code_source"] == "current"
    # old_admin_unit writes a pre-2025 code; some of them were reused by the current units (then unseen)
    assert 0 < len(post_old) <= source["stats"].faults["old_admin_unit"]


def test_applicant_ids_are_validated_by_applicant_type(source, dossiers):
    pairs = _joined(source["dossier"], dossiers)
    touched = {r["ma_ho_so"] for r, _ in pairs
               if r["so_giay_to"] != r["so_giay_to"].strip().replace(" ", "")
               or len(r["so_giay_to"]) != (12 if r["loai_chu_the"] == "cong_dan" else 10)}
    assert len(touched) == source["stats"].faults["applicant_id_malformed"]
    fixed = rejected = 0
    for r, o in pairs:
        plain = r["so_giay_to"].replace(" ", "")
        if o["_reject_reason"] is None:
            assert o["applicant_id"] == plain
            assert len(plain) == (12 if o["applicant_type"] == "citizen" else 10) and plain.isdigit()
            fixed += r["so_giay_to"] != plain
        else:
            rejected += 1
            expected = "CCCD_MALFORMED" if r["loai_chu_the"] == "cong_dan" else "TAX_CODE_MALFORMED"
            assert o["_reject_reason"] == expected and repr(r["so_giay_to"]) in o["_reject_detail"]
            assert "so_giay_to" in o["_reject_detail"]
    assert fixed > 0 and rejected > 0


def test_names_channels_and_agencies_are_standardised(source, dossiers):
    pairs = _joined(source["dossier"], dossiers)
    assert set(dossiers["channel"].to_pylist()) == {"online", "in_person", "postal"}
    assert set(dossiers["status"].to_pylist()) <= set(d.STATUS_CODES.values())
    in_words = [(r, o) for r, o in pairs if r["hinh_thuc_nop"] not in gen.CHANNELS]
    assert in_words and all(o["channel"] is not None for _, o in in_words)
    catalogue = {a.code: a.name_vi for a in reference.agencies.agencies()}
    for r, o in pairs:
        if o["agency_code"] in catalogue:
            assert o["agency_name"] == r["ten_co_quan"] or o["agency_name"] in {
                a.name_vi for a in reference.agencies.agencies_by_code()[o["agency_code"]]}
            assert o["agency_name"] != reference.fold(o["agency_name"]) or not r["ten_co_quan"]
    # near duplicates write the citizen's name in unaccented capitals: restored to the original's
    # spelling, or flagged where the dictionary is not sure
    original = {r["ma_ho_so"]: r["ten_chu_the"] for r, _ in pairs if r["ten_chu_the"] != r["ten_chu_the"].upper()}
    shouted = [(r, o) for r, o in pairs if r["loai_chu_the"] == "cong_dan" and r["ten_chu_the"].isupper()
               and r["ten_chu_the"].isascii()]
    assert shouted
    for r, o in shouted:
        assert o["applicant_name"] == original[r["ma_ho_so"]] or "NAME_UNACCENTED" in (o["quality_flags"] or "")
    assert sum(o["applicant_name"] == original[r["ma_ho_so"]] for r, o in shouted) >= 0.5 * len(shouted)


def test_hand_built_edge_cases():
    base = {"id": 1, "ma_ho_so": "000.00.09.H31-250812-0001", "ma_thu_tuc": "1.000501", "ten_thu_tuc": "Cấp, đổi "
            "giấy phép lái xe", "linh_vuc": "Đường bộ", "co_quan": "000.00.09.H31", "ten_co_quan": "Sở Xây dựng",
            "ma_dvhc": "11311", "hinh_thuc_nop": "truc_tuyen", "ngay_tiep_nhan": "2025-08-12 09:00:00",
            "han_giai_quyet": "2025-08-19 17:00:00", "ngay_tra_ket_qua": "2025-08-18 10:00:00",
            "trang_thai": "da_giai_quyet_dung_han", "loai_chu_the": "cong_dan", "so_giay_to": "031190123456",
            "ten_chu_the": "Nguyễn Thị Lan", "cap_nhat_luc": "2025-08-18 10:30:00"}
    cases = [
        {},                                                                          # 0 valid
        {"trang_thai": "da_huy"},                                                    # 1 unknown status
        {"ma_ho_so": "HS-0001"},                                                     # 2 malformed key
        {"ngay_tiep_nhan": "12/08/2025 09:00:00", "hinh_thuc_nop": "Trực tuyến"},    # 3 day-first, channel in words
        {"ten_co_quan": "So Xay dung", "ten_chu_the": "NGUYEN THI LAN"},             # 4 unaccented: restored
        {"loai_chu_the": "doanh_nghiep", "so_giay_to": "0200123456"},                # 5 tax code check digit
        {"so_giay_to": "999090123456"},                                              # 6 CCCD province
        {"ngay_tiep_nhan": "2027-01-01 08:00:00", "ma_ho_so": "000.00.09.H31-270101-0001"},   # 7 future
        {"ma_dvhc": "10528"},                                                        # 8 post-merger split old unit
        {"ngay_tra_ket_qua": "2025-08-10 10:00:00"},                                 # 9 returned before received
        {"loai_chu_the": "doanh_nghiep", "so_giay_to": "0200 123 457"},              # 10 spaced tax code
        {"ngay_tiep_nhan": "", "han_giai_quyet": None},                              # 11 dates from the code
        {"trang_thai": "Đã giải quyết quá hạn", "ngay_tra_ket_qua": "2025-08-20 10:00:00"},   # 12 status in words
    ]
    rows = [{**base, **change, "id": i} for i, change in enumerate(cases)]
    raw = pa.Table.from_pylist(rows)
    out = _rows(d.clean_dossiers(raw, AS_OF))
    assert out[0]["_reject_reason"] is None and out[0]["on_time"] is True and out[0]["submitted_online"] is True
    assert out[0]["received_at"] == datetime.fromisoformat("2025-08-12T02:00:00+00:00")
    assert out[0]["processing_days"] == pytest.approx((6 * 24 + 1) / 24)
    assert out[1]["_reject_reason"] == "CODE_INVALID" and "trang_thai 'da_huy'" in out[1]["_reject_detail"]
    assert out[2]["_reject_reason"] == "CODE_INVALID" and "ma_ho_so" in out[2]["_reject_detail"]
    assert out[3]["received_at"] == out[0]["received_at"] and out[3]["channel"] == "online"
    assert out[4]["agency_name"] == "Sở Xây dựng" and out[4]["applicant_name"] == "Nguyễn Thị Lan"
    assert out[5]["_reject_reason"] == "TAX_CODE_BAD_CHECK"
    assert out[6]["_reject_reason"] == "CCCD_BAD_PROVINCE"
    assert out[7]["_reject_reason"] == "DATE_OUT_OF_RANGE"
    assert out[8]["_reject_reason"] is None and out[8]["commune_code"] is None
    assert "ADMIN_UNIT_SPLIT" in out[8]["quality_flags"]
    assert out[9]["processing_days"] is None and "TIMESTAMP_OUT_OF_RANGE" in out[9]["quality_flags"]
    assert out[10]["_reject_reason"] is None and out[10]["applicant_id"] == "0200123457"
    assert out[11]["received_date"] == date(2025, 8, 12) and out[11]["due_at"] is None
    assert out[11]["on_time"] is True and out[11]["quality_flags"] == "TIMESTAMP_MISSING"
    assert out[12]["status"] == "resolved_late" and out[12]["on_time"] is False


def test_dossier_empty_batch(source):
    out = d.clean_dossiers(source["dossier"].slice(0, 0), AS_OF)
    assert out.num_rows == 0 and out.schema.names == d.DOSSIER_SCHEMA.names + list(RULE_COLUMNS)


# -- procedure and agency -------------------------------------------------------------------------------

def test_procedures(source):
    raw = source["procedure"]
    out = d.clean_procedures(raw, AS_OF)
    _check_contract(raw, out, d.PROCEDURE)
    assert out.num_rows == len(gen.PROCEDURES) and out["_reject_reason"].null_count == out.num_rows
    by_code = {r["procedure_code"]: r for r in _rows(out)}
    for p in gen.PROCEDURES:
        row = by_code[p.code]
        assert row["level"] == d.LEVEL_CODES[p.level] and row["time_limit_working_days"] == p.days
        assert row["fee_vnd"] == p.fee and row["online_level"] == d.ONLINE_LEVELS[p.online]
        assert row["lead_agency_code"] == (gen.department_code(p.dept) if p.dept else None)
    assert d.clean_procedures(raw.slice(0, 0), AS_OF).num_rows == 0


def test_agencies(source):
    raw = source["agency"]
    out = d.clean_agencies(raw, AS_OF)
    _check_contract(raw, out, d.AGENCY)
    assert out.num_rows == source["stats"].rows["co_quan"] and out["_reject_reason"].null_count == out.num_rows
    crosswalk = reference.crosswalk()
    for r, o in _joined(raw, out):
        if o["level"] == "city":
            assert o["reported_unit_code"] is None and o["commune_code"] is None
            continue
        assert o["reported_unit_code"] == r["ma_dvhc"]
        if o["valid_from"] >= date(2025, 7, 1):
            assert o["commune_code"] == r["ma_dvhc"] in CURRENT and o["commune_code_source"] == "current"
        else:
            entry = crosswalk[r["ma_dvhc"]]
            assert o["commune_code"] == (None if entry.split else entry.new_unit_code)
            assert o["quality_flags"] is None                   # history, not a fault
        if o["valid_to"] is not None:
            assert o["valid_to"] >= o["valid_from"]
    assert d.clean_agencies(raw.slice(0, 0), AS_OF).num_rows == 0


def test_declarations():
    assert [t.name for t in d.TABLES] == ["dossier", "procedure", "agency"]
    registry = load_registry().get("dossiers")
    for table in d.TABLES:
        assert table.raw.domain == "dossiers" and registry.object(table.raw.name)
        assert set(table.column_docs) == set(table.schema.names)
        assert set(table.pii_columns) <= set(table.schema.names)
        assert set(table.business_key) <= set(table.schema.names)
        assert table.source_timestamp is None or table.source_timestamp in table.schema.names
        declared = {c.name for c in registry.object(table.raw.name).expected_schema}
        assert set(table.record_key) <= declared
        assert table.owner == registry.owner
