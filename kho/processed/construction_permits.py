"""Construction permits (cấp phép xây dựng) -> processed/construction_permits/construction_permit.

One row per application dossier (``ma_ho_so``, docs/sources.md §2.9). A dossier changes state
in place (dang_xu_ly -> da_cap / tu_choi / thu_hoi); an older copy still ``dang_xu_ly`` (a near
duplicate) carries an older ``ngay_cap_nhat``, so survivorship on the dossier code keeps the
latest state. The parcel key (unit + map sheet + parcel number) is cleaned as the land database's
(:func:`kho.processed.land.parcel_key`); a pre-2025 unit code is resolved through the crosswalk,
or from the site address when the old unit was split. The investor is a citizen (CCCD) or an
enterprise (tax code) according to ``loai_chu_dau_tu``; an invalid id is a broken link to
another register: nulled and flagged, the permit is kept. A floor area or floor count <= 0
rejects; a parcel key that points at no parcel is a cross-table check for the integrated zone.

The issuing agency's code is read from the dossier code (``<agency code>-<yymmdd>-<nnnn>``,
the codes of kho/reference/agencies.csv), the way the TTHC system's dossier codes work.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.processed.business_registration import (TIMESTAMP, Check, assemble, code_table, codes, column,
                                                 completeness, decimals, docs_of, integers, party_ids, party_names,
                                                 positive, quality_flags, record_dates, record_ids, rejections,
                                                 source_table, text, update_stamps)
from kho.processed.land import parcel_key
from kho.standardise import Cleaned
from kho.standardise._arrow import as_strings, reason_where, valid_mask

__all__ = ["TABLES", "clean_construction_permit"]

DOMAIN = "construction_permits"
OWNER = "Sở Xây dựng (Department of Construction); commune People's Committees for individual houses"

# -- code tables (edit here) -------------------------------------------------------------------
WORKS_TYPES = code_table({"nha_o_rieng_le": "individual_house", "cong_trinh_dan_dung": "civil_works",
                          "cong_nghiep": "industrial", "ha_tang": "infrastructure",
                          "ha_tang_ky_thuat": "infrastructure"})
INVESTOR_KINDS = code_table({"ca_nhan": "person", "ho_gia_dinh": "person", "to_chuc": "organisation"})
PERMIT_STATUS = code_table({"da_cap": "issued", "dang_xu_ly": "in_progress", "tu_choi": "refused",
                            "thu_hoi": "revoked", "da_thu_hoi": "revoked"})
ISSUED_STATUSES = ("issued", "revoked")          # a permit was issued: an issue date is expected
# "000.00.09.H31-210615-0001": agency code, submission day (yymmdd), sequence of the day.
DOSSIER_PATTERN = r"^(?P<agency>.+)-(?P<day>[0-9]{6})-(?P<seq>[0-9]{4})$"


def dossier_codes(values: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(dossier code, issuing agency code, reason): trimmed, spaces removed; KEY_MISSING when
    empty. The agency code is null when the code does not have the documented shape (the
    shape is not enforced: it is the receipt system's, not a legal format)."""
    texts = pc.replace_substring_regex(as_strings(values), r"\s", "")
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    agency = pc.struct_field(pc.extract_regex(texts, DOSSIER_PATTERN), "agency")
    return texts, agency, reason_where(~valid_mask(texts), "KEY_MISSING")


def issue_date_flags(issued: pa.Array, issued_flag: pa.Array, status: pa.Array) -> pa.Array:
    """DATE_MISSING only where a permit was issued (issued or revoked) and has no issue date:
    a dossier in progress or refused has none by nature."""
    expected = pc.is_in(status, value_set=pa.array(ISSUED_STATUSES)).fill_null(False)
    return pc.if_else(pc.and_(expected, pc.is_valid(issued_flag)), issued_flag, pa.scalar(None, pa.string()))


PERMIT_SCHEMA = pa.schema([
    ("dossier_code", pa.string()), ("permit_no", pa.string()), ("issuing_agency_code", pa.string()),
    ("issuing_agency_name", pa.string()), ("works_type", pa.string()), ("works_name", pa.string()),
    ("investor_kind", pa.string()), ("investor_cccd", pa.string()), ("investor_tax_code", pa.string()),
    ("investor_name", pa.string()), ("commune_code", pa.string()), ("map_sheet", pa.int64()),
    ("parcel_no", pa.int64()), ("site_address", pa.string()), ("footprint_m2", pa.float64()),
    ("floor_area_m2", pa.float64()), ("floors", pa.int64()), ("submitted_date", pa.date32()),
    ("due_date", pa.date32()), ("issued_date", pa.date32()), ("status", pa.string()),
    ("updated_at", TIMESTAMP), ("commune_code_source", pa.string()), ("quality_flags", pa.string()),
])
PERMIT_COMPLETENESS = ("permit_no", "works_name", "investor_cccd", "investor_tax_code", "investor_name",
                       "site_address", "footprint_m2", "floor_area_m2", "floors", "submitted_date", "due_date",
                       "issued_date", "updated_at")


def _positive_number(parsed: Cleaned) -> pa.Array:
    return pc.coalesce(parsed.reasons, positive(parsed.values))


def clean_construction_permit(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``giay_phep_xay_dung`` batch."""
    table = source_table(batch)
    n = table.num_rows
    dossier, agency, dossier_bad = dossier_codes(column(table, "ma_ho_so"))
    site = text(table, "dia_diem_xay_dung")
    key = parcel_key(table, site)
    works = codes(column(table, "loai_cong_trinh"), WORKS_TYPES, required=True)
    kind = codes(column(table, "loai_chu_dau_tu"), INVESTOR_KINDS, required=True)
    is_person = pc.equal(kind.values, "person")
    investor = party_ids(column(table, "chu_dau_tu"), is_person)
    investor_name = party_names(column(table, "ten_chu_dau_tu"),
                                pc.if_else(is_person.is_valid(), is_person,
                                           pc.is_valid(investor.cccd)).fill_null(True))
    footprint = decimals(column(table, "dien_tich_xay_dung"))
    floor_area = decimals(column(table, "dien_tich_san"))
    floors = integers(column(table, "so_tang"))
    submitted, submitted_bad, submitted_flag = record_dates(column(table, "ngay_nop_ho_so"), as_of)
    due, due_bad, due_flag = record_dates(column(table, "han_tra_ket_qua"), date(as_of.year + 1, 12, 31))
    issued, issued_bad, issued_flag = record_dates(column(table, "ngay_cap"), as_of)
    status = codes(column(table, "trang_thai"), PERMIT_STATUS, required=True)
    updated = update_stamps(column(table, "ngay_cap_nhat"), as_of)
    reason, detail = rejections([
        Check("ma_ho_so", dossier_bad, column(table, "ma_ho_so")),
        *key.checks,
        Check("trang_thai", status.reasons, column(table, "trang_thai")),
        Check("loai_cong_trinh", works.reasons, column(table, "loai_cong_trinh")),
        Check("loai_chu_dau_tu", kind.reasons, column(table, "loai_chu_dau_tu")),
        Check("dien_tich_xay_dung", _positive_number(footprint), column(table, "dien_tich_xay_dung")),
        Check("dien_tich_san", _positive_number(floor_area), column(table, "dien_tich_san")),
        Check("so_tang", _positive_number(floors), column(table, "so_tang")),
        Check("ngay_nop_ho_so", submitted_bad, column(table, "ngay_nop_ho_so")),
        Check("han_tra_ket_qua", due_bad, column(table, "han_tra_ket_qua")),
        Check("ngay_cap", issued_bad, column(table, "ngay_cap")),
    ], n)
    columns = {
        "dossier_code": dossier, "permit_no": pc.replace_substring_regex(text(table, "so_giay_phep"), r"\s*/\s*", "/"),
        "issuing_agency_code": agency, "issuing_agency_name": text(table, "co_quan_cap"), "works_type": works.values,
        "works_name": text(table, "ten_cong_trinh"), "investor_kind": kind.values, "investor_cccd": investor.cccd,
        "investor_tax_code": investor.tax_code, "investor_name": investor_name.values,
        "commune_code": key.unit.codes, "map_sheet": key.map_sheet, "parcel_no": key.parcel_no,
        "site_address": site, "footprint_m2": footprint.values, "floor_area_m2": floor_area.values,
        "floors": floors.values, "submitted_date": submitted, "due_date": due, "issued_date": issued,
        "status": status.values, "updated_at": updated.values, "commune_code_source": key.unit.how,
        "quality_flags": quality_flags([investor.reasons, investor_name.reasons, key.unit.flags, submitted_flag,
                                        due_flag, issue_date_flags(issued, issued_flag, status.values),
                                        updated.reasons], n),
    }
    return assemble(PERMIT_SCHEMA, columns, record_ids(table, PERMIT_RECORD_KEY), reason, detail,
                    completeness(columns, PERMIT_COMPLETENESS))


# snapshot_diff on a key the source does not keep unique (an older copy of a dossier): the
# record is (key, row hash), the version the diff tracks and tombstones.
PERMIT_RECORD_KEY = ("ma_ho_so", "_record_hash")

TABLES = [
    ProcessedTable(
        domain=DOMAIN, name="construction_permit", raw=TableRef(Zone.RAW, DOMAIN, "construction_permit"),
        record_key=PERMIT_RECORD_KEY, clean=clean_construction_permit, schema=PERMIT_SCHEMA,
        business_key=("dossier_code",), source_timestamp="updated_at",
        description="Construction permit applications and their outcome, one row per dossier",
        term_vi="giấy phép xây dựng (hồ sơ cấp phép)", owner=OWNER,
        # an individual house's site is the investor's home: personal with the investor, as the registry
        # treats a household business's place of business
        pii_columns=("investor_cccd", "investor_tax_code", "investor_name", "site_address"),
        column_docs=docs_of(PERMIT_SCHEMA, {
            "dossier_code": "dossier code <agency code>-<yymmdd>-<nnnn> (mã hồ sơ)",
            "permit_no": "permit number, e.g. 125/GPXD; unique only with the issuer and the year of issue_date "
                         "(số giấy phép)",
            "issuing_agency_code": "issuing agency's code (kho/reference/agencies.csv), from the dossier code",
            "issuing_agency_name": "issuing agency as written (cơ quan cấp)",
            "works_type": "individual_house | civil_works | industrial | infrastructure (loại công trình: nhà ở riêng "
                          "lẻ / công trình dân dụng / công nghiệp / hạ tầng)",
            "works_name": "works name, NFC (tên công trình)",
            "investor_kind": "person | organisation (loại chủ đầu tư: cá nhân / tổ chức)",
            "investor_cccd": "investor's CCCD (people), null when invalid (chủ đầu tư)",
            "investor_tax_code": "investor's enterprise code (organisations), null when invalid (chủ đầu tư)",
            "investor_name": "investor's name: people standardised, organisations as registered (tên chủ đầu tư)",
            "commune_code": "current commune-level unit code of the parcel, through the pre-2025 crosswalk (ma_dvhc)",
            "map_sheet": "cadastral map sheet of the parcel (số tờ bản đồ)",
            "parcel_no": "parcel number (số thửa)",
            "site_address": "site address, NFC (địa điểm xây dựng)",
            "footprint_m2": "building footprint, m² (diện tích xây dựng)",
            "floor_area_m2": "total floor area, m² (diện tích sàn)",
            "floors": "number of floors (số tầng)",
            "submitted_date": "dossier submitted (ngày nộp hồ sơ)",
            "due_date": "legal due date of the result: 15 days for a house, 20 otherwise (hạn trả kết quả)",
            "issued_date": "permit issued; null unless issued or revoked (ngày cấp)",
            "status": "issued | in_progress | refused | revoked (trạng thái: đã cấp / đang xử lý / từ chối / thu hồi)",
            "updated_at": "last update in the permit register, Vietnam time (ngày cập nhật)",
            "commune_code_source": "how commune_code was found: current | crosswalk | address | address_old_unit",
            "quality_flags": "comma-separated warning codes (kho.standardise.reasons) of a row that was kept",
        })),
]
