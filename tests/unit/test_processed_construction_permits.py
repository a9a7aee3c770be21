"""The processed rule of construction permits (giay_phep_xay_dung -> construction_permit).

Generated into SQLite, loaded with the real loader, cleaned from raw; faults are checked with
the generator's counts and its true dossiers (``permits.true_permits``) and true parcels.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pyarrow as pa
import pytest

from kho.processed import construction_permits as cp
from kho.reference import fold
from kho.sources import land, permits
from tests.unit.test_processed_business_registration import (DAY, REGISTRY, SEED, cached_loader, check_cases,
                                                              check_contract, check_declarations, flag_counts,
                                                              reasons_of, survivors, valid_rows, zero_faults)

SF = 1.0
ROW_FAULTS = {"bad_date": 0.05, "vn_date_format": 0.05, "old_admin_unit": 0.08, "unaccented_name": 0.05,
              "area_invalid": 0.05}
DUPLICATE_AND_LINK_FAULTS = {"exact_duplicate": 0.05, "near_duplicate": 0.08, "missing_value": 0.05,
                             "link_broken": 0.1, "link_name_mismatch": 0.05}
PERMIT = cp.TABLES[0]
STATUS = {"da_cap": "issued", "dang_xu_ly": "in_progress", "tu_choi": "refused", "thu_hoi": "revoked"}

_GENERATIONS: dict = {}


@pytest.fixture
def generated(isolated_settings, tmp_path, monkeypatch):
    return cached_loader(_GENERATIONS, tmp_path, monkeypatch, "construction_permits", permits.generate)


def _truth() -> dict[str, permits.Permit]:
    return {p.dossier: p for p in permits.true_permits(SEED, SF)}


def _parcel_key(row) -> tuple:
    return (row["commune_code"], row["map_sheet"], row["parcel_no"])


def test_default_faults_keep_every_row_with_a_plausible_reject_share(generated):
    loaded = generated(SF)
    raw = loaded.raw["construction_permit"]
    out = PERMIT.clean(raw, DAY)
    check_contract(PERMIT, raw, out)
    assert reasons_of(out)


def test_row_faults(generated):
    loaded = generated(SF, {**zero_faults(permits), **ROW_FAULTS})
    raw = loaded.raw["construction_permit"]
    out = PERMIT.clean(raw, DAY)
    check_contract(PERMIT, raw, out, max_reject_share=0.25)
    count = {f: loaded.stats.faults[f"giay_phep_xay_dung.{f}"] for f in ROW_FAULTS}
    assert all(count.values())
    reasons, flags = reasons_of(out), flag_counts(out)
    assert reasons["DATE_UNPARSEABLE"] + flags["DATE_MISSING"] == count["bad_date"]
    assert reasons["VALUE_OUT_OF_RANGE"] == count["area_invalid"]
    rows, raws = out.to_pylist(), raw.to_pylist()
    crosswalked = sum(1 for r in rows if r["commune_code_source"] in ("crosswalk", "address_old_unit"))
    assert crosswalked > 0 and crosswalked + reasons["ADMIN_UNIT_SPLIT"] == count["old_admin_unit"]
    assert sum(reasons.values()) == (count["bad_date"] - flags["DATE_MISSING"] + count["area_invalid"]
                                     + reasons["ADMIN_UNIT_SPLIT"])
    truth = _truth()
    vn = 0
    for s, r in zip(raws, rows):
        if r["_reject_reason"] is not None:
            continue
        p = truth[r["dossier_code"]]
        assert _parcel_key(r) == p.parcel.key                # the old unit code no longer breaks the key
        assert (r["submitted_date"], r["due_date"]) in ((p.submitted, p.due), (None, p.due), (p.submitted, None))
        assert r["issued_date"] == (p.decided if p.status in ("da_cap", "thu_hoi") else None)
        assert (r["status"], r["floors"], r["footprint_m2"]) == (STATUS[p.status], p.floors, p.footprint)
        assert r["investor_name"] == p.holder.name or (r["quality_flags"] == "NAME_UNACCENTED"
                                                       and fold(r["investor_name"]) == fold(p.holder.name))
        assert (r["investor_cccd"] or r["investor_tax_code"]) == p.holder.id
        vn += "/" in s["ngay_nop_ho_so"] and r["submitted_date"] is not None
    assert vn == count["vn_date_format"]
    restored = sum(1 for s, r in zip(raws, rows) if fold(s["ten_chu_dau_tu"]) == s["ten_chu_dau_tu"].lower()
                   and r["investor_kind"] == "person" and r["quality_flags"] is None)
    assert restored > 0                                      # unaccented names the dictionary is sure of


def test_duplicates_merge_on_the_dossier_and_links_are_flagged(generated):
    loaded = generated(SF, {**zero_faults(permits), **DUPLICATE_AND_LINK_FAULTS})
    raw = loaded.raw["construction_permit"]
    out = PERMIT.clean(raw, DAY)
    check_contract(PERMIT, raw, out)
    faults, links = loaded.stats.faults, loaded.stats.links
    truth = _truth()
    assert raw.num_rows == len(truth) + faults["giay_phep_xay_dung.exact_duplicate"] + \
        faults["giay_phep_xay_dung.near_duplicate"]
    assert not reasons_of(out)                         # missing values and broken links: kept
    rows = valid_rows(out)
    best = survivors(rows, PERMIT)
    assert {k[0] for k in best} == set(truth)
    for (dossier,), r in best.items():                 # an older copy still 'in progress' never wins
        assert r["status"] == STATUS[truth[dossier].status]
    raw_broken = {s["ma_ho_so"] for s in raw.to_pylist() if s["chu_dau_tu"] != truth[s["ma_ho_so"]].holder.id}
    assert len(raw_broken) == links["giay_phep_xay_dung.citizen_broken"] + links["giay_phep_xay_dung.enterprise_broken"]
    for r in rows:
        if r["quality_flags"] and ("CCCD_" in r["quality_flags"] or "TAX_CODE_" in r["quality_flags"]):
            assert r["investor_cccd"] is None and r["investor_tax_code"] is None
            assert r["dossier_code"] in raw_broken
    parcels = {p.key for p in land.true_parcels(SEED, SF)}
    unknown = {r["dossier_code"] for r in rows if _parcel_key(r) not in parcels}
    assert len(unknown) == links["giay_phep_xay_dung.parcel_broken"] > 0   # left to the integrated zone
    assert Counter(r["due_date"] is None for r in rows)[True] == flag_counts(out)["DATE_MISSING"]


BASE = {"ma_ho_so": "000.00.09.H31-250820-0001", "so_giay_phep": "5/GPXD", "co_quan_cap": "Sở Xây dựng",
        "loai_cong_trinh": "cong_nghiep", "ten_cong_trinh": "Xưởng cơ khí", "chu_dau_tu": "0202576251",
        "loai_chu_dau_tu": "to_chuc", "ten_chu_dau_tu": "Công ty TNHH Thực phẩm An Khánh", "ma_dvhc": "10537",
        "so_to_ban_do": "24", "so_thua": "13", "dia_diem_xay_dung": "Số 393 Trần Hưng Đạo, Phường Tân Hưng, Hải Phòng",
        "dien_tich_xay_dung": "4486.6", "dien_tich_san": "4486.6", "so_tang": "1", "ngay_nop_ho_so": "2025-08-20",
        "han_tra_ket_qua": "2025-09-09", "ngay_cap": "2025-08-26", "trang_thai": "da_cap",
        "ngay_cap_nhat": "2025-08-26 08:15:52", "_record_hash": "h"}
PERSON = {"loai_chu_dau_tu": "ca_nhan", "chu_dau_tu": "031080996417", "ten_chu_dau_tu": "Đỗ Đức Việt"}
CASES = [
    ({}, "issuing_agency_code", "000.00.09.H31", None, None),
    ({"ma_ho_so": " 000.00.09.H31-250820-0001 "}, "dossier_code", "000.00.09.H31-250820-0001", None, None),
    ({"ma_ho_so": "HS-1"}, "issuing_agency_code", None, None, None),
    ({"ma_ho_so": None}, "dossier_code", None, "KEY_MISSING", None),
    ({"so_giay_phep": "5 / GPXD"}, "permit_no", "5/GPXD", None, None),
    ({"loai_cong_trinh": "nha_o_rieng_le"}, "works_type", "individual_house", None, None),
    ({"loai_cong_trinh": "nha_tam"}, "works_type", None, "CODE_INVALID", None),
    ({"chu_dau_tu": "0202576252"}, "investor_tax_code", None, None, "TAX_CODE_BAD_CHECK"),
    (PERSON, "investor_cccd", "031080996417", None, None),
    ({**PERSON, "chu_dau_tu": "0202576251"}, "investor_cccd", None, None, "CCCD_MALFORMED"),
    ({**PERSON, "ten_chu_dau_tu": "Do Duc Viet"}, "investor_name", "Đỗ Đức Việt", None, None),
    ({"loai_chu_dau_tu": "doanh_nghiep"}, "investor_kind", None, "CODE_INVALID", None),
    ({"so_tang": "0"}, "floors", 0, "VALUE_OUT_OF_RANGE", None),
    ({"dien_tich_san": "-4486.6"}, "floor_area_m2", -4486.6, "VALUE_OUT_OF_RANGE", None),
    ({"dien_tich_xay_dung": "abc"}, "footprint_m2", None, "NUMBER_MALFORMED", None),
    ({"dien_tich_san": None, "so_tang": None}, "floors", None, None, None),
    ({"ngay_nop_ho_so": "20/08/2025"}, "submitted_date", date(2025, 8, 20), None, None),
    ({"ngay_nop_ho_so": "31/02/2019"}, "submitted_date", None, "DATE_UNPARSEABLE", None),
    ({"han_tra_ket_qua": ""}, "due_date", None, None, "DATE_MISSING"),
    ({"ngay_cap": None}, "issued_date", None, None, "DATE_MISSING"),
    ({"ngay_cap": None, "trang_thai": "dang_xu_ly", "so_giay_phep": None}, "status", "in_progress", None, None),
    ({"trang_thai": "Đã cấp"}, "status", "issued", None, None),
    ({"ma_dvhc": "10510", "dia_diem_xay_dung": "Số 1, Phường Bình Hàn, Thành phố Hải Dương, Tỉnh Hải Dương"},
     "commune_code", "10507", None, None),
    ({"ma_dvhc": "10528"}, "commune_code", "10537", None, None),           # split unit decided by the address
    ({"so_thua": None}, "parcel_no", None, "KEY_MISSING", None),
]


def test_edge_cases():
    check_cases(cp.clean_construction_permit, BASE, CASES)


def test_empty_batch():
    source = REGISTRY.get("construction_permits").object("construction_permit")
    empty = pa.schema([(c.name, pa.string()) for c in source.expected_schema] + [("_record_hash", pa.string())])
    out = PERMIT.clean(empty.empty_table(), DAY)
    assert out.num_rows == 0
    assert out.schema.names == PERMIT.schema.names + ["record_id", "_reject_reason", "_reject_detail", "_completeness"]


def test_declarations_follow_the_registry():
    check_declarations(cp, "construction_permits")
    assert PERMIT.business_key == ("dossier_code",) and PERMIT.source_timestamp == "updated_at"
    assert {"investor_cccd", "investor_name"} <= set(PERMIT.pii_columns)
