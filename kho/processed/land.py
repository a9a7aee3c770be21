"""Land database (cơ sở dữ liệu đất đai) -> processed/land: parcels, certificates, transactions.

Three tables from the ViLIS-like land database (docs/sources.md §2.8):

* ``land_parcel`` (thua_dat): one row per parcel; the key is unit + map sheet + parcel number,
  with the unit code through the crosswalk (a pre-2025 code "also breaks the parcel key":
  resolved, it is whole again). Area as float64 m², land-use codes checked against
  kho/reference (land_use) after upper-casing, WKT geometry repaired where the repair is
  certain (a ring left open is closed, X/Y written northing-first are swapped back) and
  nulled and flagged where it is not (empty, truncated).
* ``land_certificate`` (giay_chung_nhan): one row per certificate serial ("DC 118383"); a
  serial typed without its space, in lower case or with a dash is repaired, a serial missing
  a digit rejects (it would be another certificate's number).
* ``land_transaction`` (giao_dich): registered transfers, mortgages, inheritances and gifts; a
  registration keyed in twice (another id, same content) shares the business key.

Reject or flag follows :mod:`kho.processed.business_registration`: the record's key, an
impossible date, an area or value <= 0 (or a 1-dong price), an unknown land-use code reject;
holders' and parties' ids (links to the population and business registers) are validated,
nulled when invalid, and flagged. A transaction whose parcel key points at no parcel
(``link_broken``) is a cross-table check left to the integrated zone.

Land-use codes are kept as recorded: records last updated before August 2024 carry the 2014-era
codes (BHK, SKK) and later ones the Circular 08/2024 codes (HNK, SKC); both are valid codes of the
reference, and ``land_use_group`` (from the reference) is comparable across the two.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.processed.business_registration import (TIMESTAMP, Check, assemble, code_table, codes, column,
                                                 completeness, decimals, docs_of, integers, keep_valid,
                                                 party_ids, party_names, positive, quality_flags, record_dates,
                                                 record_ids, rejections, source_table, text, units, update_stamps)
from kho.reference import land_use
from kho.standardise import Cleaned, parse_vnd
from kho.standardise._arrow import as_strings, reason_where, valid_mask

__all__ = ["TABLES", "clean_land_parcel", "clean_land_certificate", "clean_land_transaction", "land_use_codes",
           "geometries", "parcel_key"]

DOMAIN = "land"
OWNER = "Sở Nông nghiệp và Môi trường, Văn phòng Đăng ký đất đai (Land Registration Office)"

# -- code tables (edit here) -------------------------------------------------------------------
HOLDER_KINDS = code_table({"ca_nhan": "person", "ho_gia_dinh": "person", "to_chuc": "organisation"})
CERTIFICATE_STATUS = code_table({"hieu_luc": "valid", "con_hieu_luc": "valid", "da_thu_hoi": "withdrawn",
                                 "thu_hoi": "withdrawn"})
TRANSACTION_TYPES = code_table({"chuyen_nhuong": "transfer", "the_chap": "mortgage", "thua_ke": "inheritance",
                                "tang_cho": "gift"})
VALUED_TRANSACTIONS = ("transfer", "mortgage")       # a registered value is expected
MIN_TRANSACTION_VALUE_VND = 1_000_000                # below: a placeholder ("1"), not a price
# Certificate serial: two series letters and six digits, "DC 118383".
SERIAL_PATTERN = r"^([A-Z]{2})[\s\-]?([0-9]{6})$"
# TM-3 / VN-2000-like grid of the city (kho.sources.land: CM 105°45', false easting 500 km):
# the first vertex must fall in this box, easting first.
EASTING_RANGE = (300_000.0, 800_000.0)
NORTHING_RANGE = (2_100_000.0, 2_500_000.0)
_NUM = r"-?[0-9]+(?:\.[0-9]+)?"
_PAIR = rf"{_NUM} {_NUM}"


# -- rules ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _land_use_tables() -> tuple[pa.Array, dict[str, str]]:
    types = land_use.land_use_types()
    return pa.array(sorted(t.code for t in types)), {t.code: t.land_group for t in types}


def land_use_codes(values: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Land-use codes -> (code, land group, reason). Trimmed, upper case, spaces around "+"
    removed ("odt" -> "ODT", "ONT + CLN" -> "ONT+CLN"); every part of a combined code must be
    a code of kho/reference/land_use_types.csv, else CODE_INVALID ("ONT1", "ĐÔT", "NN", "Đất ở").
    The group is the first part's (ONT+CLN: residential land with a garden -> non_agricultural)."""
    known, groups = _land_use_tables()
    texts = pc.utf8_upper(pc.utf8_trim_whitespace(as_strings(values)))
    texts = pc.replace_substring_regex(texts, r"\s*\+\s*", "+")
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    parts = pc.split_pattern(texts, "+")
    flat = pc.list_flatten(parts)
    ok_flat = pc.is_in(flat, value_set=known).fill_null(False)
    parents = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    bad_rows = np.zeros(len(texts), dtype=bool)
    bad_rows[parents[~np.asarray(ok_flat.to_numpy(zero_copy_only=False), dtype=bool)]] = True
    first = pc.list_element(parts, 0)
    group_table = pa.array([groups[c] for c in known.to_pylist()])
    group = pc.take(group_table, pc.index_in(first, value_set=known))
    bad = bad_rows & valid_mask(texts)
    return texts, keep_valid(group, reason_where(bad, "CODE_INVALID")), reason_where(bad, "CODE_INVALID")


def geometries(values: pa.Array) -> Cleaned:
    """WKT parcel polygons on the VN-2000-like grid, repaired where certain, else null + GEOMETRY_INVALID.

    Checked with Arrow regex kernels (no per-row Python): one ring of at least three vertices;
    a ring whose last vertex is not its first is closed (what an export that dropped the closing
    vertex leaves); a ring written northing-first (X/Y swapped, as surveyors write coordinates)
    is swapped back; the first vertex must then lie in the city's box. Empty, truncated or
    otherwise unreadable text is not guessed at. Topology (self-intersection) is not checked.
    """
    wkt = pc.utf8_trim_whitespace(as_strings(values))
    wkt = pc.replace_substring_regex(wkt, r"\s+", " ")
    wkt = pc.replace_substring_regex(wkt, r"(?i)^POLYGON ?\(\( ?", "POLYGON ((")
    wkt = pc.if_else(pc.equal(wkt, ""), pa.scalar(None, pa.string()), wkt)
    shaped = pc.match_substring_regex(wkt, rf"^POLYGON \(\({_PAIR}(, ?{_PAIR}){{2,}}\)\)$").fill_null(False)
    ends = pc.extract_regex(wkt, rf"^POLYGON \(\((?P<first>{_PAIR}),.*, ?(?P<last>{_PAIR})\)\)$")
    first, last = pc.struct_field(ends, "first"), pc.struct_field(ends, "last")
    open_ring = pc.and_(shaped, pc.not_equal(first, last).fill_null(False))
    closed = pc.if_else(open_ring, pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(wkt, 0, -2), pa.scalar(", "), first, pa.scalar("))"), ""), wkt)
    xy = pc.extract_regex(first, rf"^(?P<x>{_NUM}) (?P<y>{_NUM})$")
    x = pc.cast(pc.struct_field(xy, "x"), pa.float64())
    y = pc.cast(pc.struct_field(xy, "y"), pa.float64())
    swapped = pc.and_(shaped, pc.greater(x, y).fill_null(False))
    fixed = pc.if_else(swapped, pc.replace_substring_regex(closed, rf"({_NUM}) ({_NUM})", r"\2 \1"), closed)
    east = pc.if_else(swapped, y, x)
    north = pc.if_else(swapped, x, y)
    inside = pc.and_(pc.and_(pc.greater_equal(east, EASTING_RANGE[0]), pc.less_equal(east, EASTING_RANGE[1])),
                     pc.and_(pc.greater_equal(north, NORTHING_RANGE[0]), pc.less_equal(north, NORTHING_RANGE[1])))
    good = np.asarray(pc.and_(shaped, inside.fill_null(False)).to_numpy(zero_copy_only=False), dtype=bool)
    bad = valid_mask(wkt) & ~good
    reasons = reason_where(bad, "GEOMETRY_INVALID")
    return Cleaned(keep_valid(fixed, reasons), reasons)


def serials(values: pa.Array) -> Cleaned:
    """Certificate serials -> "DC 118383": upper case, one space between series and number
    (a missing space or a dash repaired); KEY_MISSING when empty, IDENTIFIER_MALFORMED otherwise."""
    texts = pc.utf8_upper(pc.utf8_trim_whitespace(as_strings(values)))
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    ok = pc.match_substring_regex(texts, SERIAL_PATTERN).fill_null(False)
    fixed = pc.if_else(ok, pc.replace_substring_regex(texts, SERIAL_PATTERN, r"\1 \2"), texts)
    missing = ~valid_mask(texts)
    malformed = ~missing & ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    return Cleaned(fixed, pc.coalesce(reason_where(missing, "KEY_MISSING"),
                                      reason_where(malformed, "IDENTIFIER_MALFORMED")))


class ParcelKey:
    """The parcel key of a row: current commune code, map sheet and parcel number, and its checks."""

    def __init__(self, table: pa.Table, address: pa.Array | None) -> None:
        self.unit = units(column(table, "ma_dvhc"), address)
        sheet, number = integers(column(table, "so_to_ban_do")), integers(column(table, "so_thua"))
        self.map_sheet, self.parcel_no = sheet.values, number.values
        self.checks = [Check("ma_dvhc", self.unit.reasons, column(table, "ma_dvhc"))]
        for name, parsed in (("so_to_ban_do", sheet), ("so_thua", number)):
            missing = reason_where(~valid_mask(parsed.values) & ~valid_mask(parsed.reasons), "KEY_MISSING")
            self.checks.append(Check(name, pc.coalesce(parsed.reasons, missing, positive(parsed.values)),
                                     column(table, name)))


def parcel_key(table: pa.Table, address: pa.Array | None = None) -> ParcelKey:
    """See :class:`ParcelKey` (shared with construction permits)."""
    return ParcelKey(table, address)


# -- land_parcel (thua_dat) ------------------------------------------------------------------------
PARCEL_SCHEMA = pa.schema([
    ("commune_code", pa.string()), ("map_sheet", pa.int64()), ("parcel_no", pa.int64()),
    ("area_m2", pa.float64()), ("land_use_code", pa.string()), ("land_use_group", pa.string()),
    ("geometry_wkt", pa.string()), ("address", pa.string()), ("updated_at", TIMESTAMP),
    ("commune_code_source", pa.string()), ("quality_flags", pa.string()),
])
PARCEL_COMPLETENESS = ("area_m2", "land_use_code", "geometry_wkt", "address", "updated_at")


def clean_land_parcel(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``thua_dat`` batch."""
    table = source_table(batch)
    n = table.num_rows
    address = text(table, "dia_chi")
    key = parcel_key(table, address)
    area = decimals(column(table, "dien_tich"))
    use, group, use_bad = land_use_codes(column(table, "loai_dat"))
    geometry = geometries(column(table, "hinh_hoc"))
    updated = update_stamps(column(table, "ngay_cap_nhat"), as_of)
    reason, detail = rejections([
        *key.checks,
        Check("dien_tich", pc.coalesce(area.reasons, positive(area.values)), column(table, "dien_tich")),
        Check("loai_dat", use_bad, column(table, "loai_dat")),
    ], n)
    columns = {
        "commune_code": key.unit.codes, "map_sheet": key.map_sheet, "parcel_no": key.parcel_no,
        "area_m2": area.values, "land_use_code": use, "land_use_group": group, "geometry_wkt": geometry.values,
        "address": address, "updated_at": updated.values, "commune_code_source": key.unit.how,
        "quality_flags": quality_flags([geometry.reasons, key.unit.flags, updated.reasons], n),
    }
    return assemble(PARCEL_SCHEMA, columns, record_ids(table, PARCEL_RECORD_KEY), reason, detail,
                    completeness(columns, PARCEL_COMPLETENESS))


# -- land_certificate (giay_chung_nhan) ----------------------------------------------------------
CERTIFICATE_SCHEMA = pa.schema([
    ("serial_no", pa.string()), ("register_entry", pa.string()), ("commune_code", pa.string()),
    ("map_sheet", pa.int64()), ("parcel_no", pa.int64()), ("holder_kind", pa.string()),
    ("holder_cccd", pa.string()), ("holder_tax_code", pa.string()), ("holder_name", pa.string()),
    ("area_m2", pa.float64()), ("land_use_code", pa.string()), ("land_use_group", pa.string()),
    ("issue_date", pa.date32()), ("status", pa.string()), ("commune_code_source", pa.string()),
    ("quality_flags", pa.string()),
])
CERTIFICATE_COMPLETENESS = ("register_entry", "holder_cccd", "holder_tax_code", "holder_name", "area_m2",
                            "land_use_code", "issue_date")


def clean_land_certificate(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``giay_chung_nhan`` batch. The certificate has no address, so a split
    pre-2025 unit code cannot be decided and rejects (ADMIN_UNIT_SPLIT)."""
    table = source_table(batch)
    n = table.num_rows
    serial = serials(column(table, "so_phat_hanh"))
    key = parcel_key(table, None)
    kind = codes(column(table, "loai_chu_su_dung"), HOLDER_KINDS, required=True)
    is_person = pc.equal(kind.values, "person")
    person = party_ids(column(table, "so_cccd"), pa.array(np.ones(n, dtype=bool)), required=False)
    organisation = party_ids(column(table, "ma_so_doanh_nghiep"), pa.array(np.zeros(n, dtype=bool)), required=False)
    holder_missing = pc.and_(pc.invert(pc.is_valid(pc.coalesce(person.cccd, organisation.tax_code))),
                             pc.and_(pc.invert(pc.is_valid(person.reasons)),
                                     pc.invert(pc.is_valid(organisation.reasons))))
    holder_flag = pc.if_else(holder_missing, pc.if_else(is_person.fill_null(True), pa.scalar("CCCD_MISSING"),
                                                        pa.scalar("TAX_CODE_MISSING")), pa.scalar(None, pa.string()))
    name = party_names(column(table, "ten_chu_su_dung"), is_person.fill_null(True))
    area = decimals(column(table, "dien_tich"))
    use, group, use_bad = land_use_codes(column(table, "muc_dich_su_dung"))
    issued, issued_bad, issued_flag = record_dates(column(table, "ngay_cap"), as_of)
    status = codes(column(table, "trang_thai"), CERTIFICATE_STATUS, required=True)
    reason, detail = rejections([
        Check("so_phat_hanh", serial.reasons, column(table, "so_phat_hanh")),
        *key.checks,
        Check("loai_chu_su_dung", kind.reasons, column(table, "loai_chu_su_dung")),
        Check("trang_thai", status.reasons, column(table, "trang_thai")),
        Check("dien_tich", pc.coalesce(area.reasons, positive(area.values)), column(table, "dien_tich")),
        Check("muc_dich_su_dung", use_bad, column(table, "muc_dich_su_dung")),
        Check("ngay_cap", issued_bad, column(table, "ngay_cap")),
    ], n)
    columns = {
        "serial_no": serial.values, "register_entry": pc.utf8_upper(text(table, "so_vao_so")),
        "commune_code": key.unit.codes, "map_sheet": key.map_sheet, "parcel_no": key.parcel_no,
        "holder_kind": kind.values, "holder_cccd": person.cccd, "holder_tax_code": organisation.tax_code,
        "holder_name": name.values, "area_m2": area.values, "land_use_code": use, "land_use_group": group,
        "issue_date": issued, "status": status.values, "commune_code_source": key.unit.how,
        "quality_flags": quality_flags([person.reasons, organisation.reasons, holder_flag, name.reasons,
                                        issued_flag], n),
    }
    return assemble(CERTIFICATE_SCHEMA, columns, record_ids(table, CERTIFICATE_RECORD_KEY), reason, detail,
                    completeness(columns, CERTIFICATE_COMPLETENESS))


# -- land_transaction (giao_dich) ------------------------------------------------------------------
TRANSACTION_SCHEMA = pa.schema([
    ("transaction_id", pa.int64()), ("commune_code", pa.string()), ("map_sheet", pa.int64()),
    ("parcel_no", pa.int64()), ("transaction_type", pa.string()),
    ("transferor_cccd", pa.string()), ("transferor_tax_code", pa.string()), ("transferor_name", pa.string()),
    ("transferee_cccd", pa.string()), ("transferee_tax_code", pa.string()), ("transferee_name", pa.string()),
    ("registration_date", pa.date32()), ("value_vnd", pa.int64()), ("commune_code_source", pa.string()),
    ("quality_flags", pa.string()),
])
TRANSACTION_COMPLETENESS = ("transaction_type", "transferor_cccd", "transferor_tax_code", "transferor_name",
                            "transferee_cccd", "transferee_tax_code", "transferee_name", "registration_date",
                            "value_vnd")


def transaction_values(values: pa.Array, kinds: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(value VND, reject reasons, flags): MONEY_NOT_POSITIVE for 0 or less, VALUE_OUT_OF_RANGE
    for a token amount below :data:`MIN_TRANSACTION_VALUE_VND`; an empty value is normal for an
    inheritance or a gift and flagged MONEY_MISSING for a transfer or a mortgage."""
    money = parse_vnd(values, positive=True, required=True)
    missing = pc.equal(money.reasons, "MONEY_MISSING").fill_null(False)
    bad = pc.if_else(missing, pa.scalar(None, pa.string()), money.reasons)
    token = pc.less(money.values, MIN_TRANSACTION_VALUE_VND).fill_null(False)
    bad = pc.coalesce(bad, reason_where(np.asarray(token.to_numpy(zero_copy_only=False), dtype=bool),
                                        "VALUE_OUT_OF_RANGE"))
    expected = pc.is_in(kinds, value_set=pa.array(VALUED_TRANSACTIONS)).fill_null(False)
    absent = pc.invert(pc.is_valid(money.values))
    flag_missing = pc.and_(pc.and_(absent, expected), pc.invert(pc.is_valid(bad)))
    flags = pc.if_else(flag_missing, pa.scalar("MONEY_MISSING"), pa.scalar(None, pa.string()))
    return keep_valid(money.values, bad), bad, flags


def clean_land_transaction(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``giao_dich`` batch. Parties are a CCCD, a tax code or a bank branch's tax
    code (``NNNNNNNNNN-BBB``), told apart by their shape; names follow the party's kind."""
    table = source_table(batch)
    n = table.num_rows
    tx_id = integers(column(table, "id"))
    key = parcel_key(table, None)
    kind = codes(column(table, "loai_giao_dich"), TRANSACTION_TYPES, required=True)
    parties = {}
    for side, role in (("ben_chuyen", "transferor"), ("ben_nhan", "transferee")):
        ids = party_ids(column(table, side))
        person = pc.is_valid(pc.coalesce(ids.cccd, pc.if_else(pc.starts_with(ids.reasons, "CCCD").fill_null(False),
                                                              pa.scalar("x"), pa.scalar(None, pa.string()))))
        parties[role] = (ids, party_names(column(table, f"ten_{side}"), person))
    registered, registered_bad, registered_flag = record_dates(column(table, "ngay_dang_ky"), as_of)
    value, value_bad, value_flag = transaction_values(column(table, "gia_tri"), kind.values)
    id_missing = reason_where(~valid_mask(tx_id.values) & ~valid_mask(tx_id.reasons), "KEY_MISSING")
    reason, detail = rejections([
        Check("id", pc.coalesce(tx_id.reasons, id_missing), column(table, "id")),
        *key.checks,
        Check("loai_giao_dich", kind.reasons, column(table, "loai_giao_dich")),
        Check("ngay_dang_ky", registered_bad, column(table, "ngay_dang_ky")),
        Check("gia_tri", value_bad, column(table, "gia_tri")),
    ], n)
    (from_ids, from_names), (to_ids, to_names) = parties["transferor"], parties["transferee"]
    columns = {
        "transaction_id": tx_id.values, "commune_code": key.unit.codes, "map_sheet": key.map_sheet,
        "parcel_no": key.parcel_no, "transaction_type": kind.values,
        "transferor_cccd": from_ids.cccd, "transferor_tax_code": from_ids.tax_code,
        "transferor_name": from_names.values,
        "transferee_cccd": to_ids.cccd, "transferee_tax_code": to_ids.tax_code, "transferee_name": to_names.values,
        "registration_date": registered, "value_vnd": value, "commune_code_source": key.unit.how,
        "quality_flags": quality_flags([from_ids.reasons, from_names.reasons, to_ids.reasons, to_names.reasons,
                                        registered_flag, value_flag], n),
    }
    return assemble(TRANSACTION_SCHEMA, columns, record_ids(table, TRANSACTION_RECORD_KEY), reason, detail,
                    completeness(columns, TRANSACTION_COMPLETENESS))


# -- declarations ------------------------------------------------------------------------------------
# snapshot_diff on keys the source does not keep unique (re-digitised parcels, duplicate
# certificate rows): the record is (key, row hash), the version the diff tracks and tombstones.
PARCEL_RECORD_KEY = ("ma_dvhc", "so_to_ban_do", "so_thua", "_record_hash")
CERTIFICATE_RECORD_KEY = ("so_phat_hanh", "_record_hash")
TRANSACTION_RECORD_KEY = ("id",)
PARCEL_BUSINESS_KEY = ("commune_code", "map_sheet", "parcel_no")

_KEY_DOCS = {
    "commune_code": "current commune-level unit code of the parcel, through the pre-2025 crosswalk "
                    "(mã đơn vị hành chính, ma_dvhc)",
    "map_sheet": "cadastral map sheet number (số tờ bản đồ)",
    "parcel_no": "parcel number on the sheet (số thửa)",
    "commune_code_source": "how commune_code was found: current | crosswalk | address | address_old_unit",
    "quality_flags": "comma-separated warning codes (kho.standardise.reasons) of a row that was kept",
    "land_use_code": "land-use code(s) of kho/reference/land_use_types.csv, as recorded: 2014-era (BHK, SKK) "
                     "before Aug 2024, Circular 08/2024 after; 'ONT+CLN' = two uses (loại đất / mục đích sử dụng)",
    "land_use_group": "agricultural | non_agricultural | unused, of the first code (nhóm đất)",
    "area_m2": "area, m² (diện tích)",
}

TABLES = [
    ProcessedTable(
        domain=DOMAIN, name="land_parcel", raw=TableRef(Zone.RAW, DOMAIN, "land_parcel"),
        record_key=PARCEL_RECORD_KEY, clean=clean_land_parcel, schema=PARCEL_SCHEMA,
        business_key=PARCEL_BUSINESS_KEY, source_timestamp="updated_at",
        description="Cadastral parcels, one row per unit + map sheet + parcel number",
        term_vi="thửa đất", owner=OWNER, pii_columns=(),
        column_docs=docs_of(PARCEL_SCHEMA, {
            **_KEY_DOCS,
            "geometry_wkt": "WKT POLYGON in metres, VN-2000-like TM-3 (CM 105°45', false easting 500 km), easting "
                            "first; repaired (closed, X/Y order) or null when invalid (hình học)",
            "address": "parcel address, NFC (địa chỉ thửa đất)",
            "updated_at": "last update in the land database, Vietnam time (ngày cập nhật)",
        })),
    ProcessedTable(
        domain=DOMAIN, name="land_certificate", raw=TableRef(Zone.RAW, DOMAIN, "land_certificate"),
        record_key=CERTIFICATE_RECORD_KEY, clean=clean_land_certificate, schema=CERTIFICATE_SCHEMA,
        business_key=("serial_no",), source_timestamp=None,
        description="Land-use-right certificates with their holder, one row per certificate serial",
        term_vi="giấy chứng nhận quyền sử dụng đất", owner=OWNER,
        pii_columns=("holder_cccd", "holder_name"),
        column_docs=docs_of(CERTIFICATE_SCHEMA, {
            **_KEY_DOCS,
            "serial_no": "certificate serial 'AA 123456'; the first letter marks the period of issue (số phát hành)",
            "register_entry": "register entry, CH (individual) / CS (organisation) + 5 digits (số vào sổ)",
            "holder_kind": "person | organisation (loại chủ sử dụng: cá nhân / tổ chức)",
            "holder_cccd": "holder's CCCD (people), null when invalid (số CCCD chủ sử dụng)",
            "holder_tax_code": "holder's enterprise code (organisations), null when invalid (mã số doanh nghiệp)",
            "holder_name": "holder's name: people standardised, organisations as registered (tên chủ sử dụng)",
            "issue_date": "issue date (ngày cấp)",
            "status": "valid | withdrawn (trạng thái: hiệu lực / đã thu hồi)",
        })),
    ProcessedTable(
        domain=DOMAIN, name="land_transaction", raw=TableRef(Zone.RAW, DOMAIN, "land_transaction"),
        record_key=TRANSACTION_RECORD_KEY, clean=clean_land_transaction, schema=TRANSACTION_SCHEMA,
        business_key=(*PARCEL_BUSINESS_KEY, "transaction_type", "registration_date", "transferor_cccd",
                      "transferor_tax_code", "transferee_cccd", "transferee_tax_code"),
        source_timestamp=None,
        description="Registered land transactions; a registration keyed in twice is one transaction",
        term_vi="giao dịch đất đai (đăng ký biến động)", owner=OWNER,
        pii_columns=("transferor_cccd", "transferor_tax_code", "transferor_name", "transferee_cccd",
                     "transferee_tax_code", "transferee_name"),
        column_docs=docs_of(TRANSACTION_SCHEMA, {
            **_KEY_DOCS,
            "transaction_id": "transaction id in the land database (id)",
            "transaction_type": "transfer | mortgage | inheritance | gift (loại giao dịch: chuyển nhượng / thế chấp / "
                                "thừa kế / tặng cho)",
            "transferor_cccd": "transferor's CCCD (people), null when invalid (bên chuyển)",
            "transferor_tax_code": "transferor's tax code (organisations) (bên chuyển)",
            "transferor_name": "transferor's name (tên bên chuyển)",
            "transferee_cccd": "transferee's CCCD (people), null when invalid (bên nhận)",
            "transferee_tax_code": "transferee's tax code: an enterprise, or a mortgagee bank branch NNNNNNNNNN-BBB "
                                   "(bên nhận)",
            "transferee_name": "transferee's name (tên bên nhận)",
            "registration_date": "registration date (ngày đăng ký)",
            "value_vnd": "declared value, VND; null for inheritances and gifts (giá trị)",
        })),
]
