"""Processed tables of the TTHC one-stop system (hồ sơ thủ tục hành chính): dossier, procedure, agency.

The raw dossier table is an event log: the LGSP API's incremental cursor delivers every
*version* of a dossier (a status change is a new row with the same ``id`` and a later
``cap_nhat_luc``), and the system re-syncs dossiers from the national portal as copies with a
new ``id`` (exact and near duplicates). So the identity of a dossier is its receipt code
``ma_ho_so`` (business key) and the latest ``cap_nhat_luc`` wins survivorship; a raw row is
identified by ``(id, cap_nhat_luc)`` because two versions of one ``id`` can arrive in the same
pull (the API reveals late changes while a client pages).

What the rule fixes rather than rejects, because the dossier still counts for the TTHC KPIs
(received, resolved on time, online share):

* a missing or unreadable receipt time: the receipt date is part of the receipt code
  (``<agency>-<yymmdd>-<seq>``), so ``received_date`` is recovered from it (flagged);
* a missing due date or return date: ``on_time`` falls back to the status the system
  recorded (flagged);
* the channel written in words ("Trực tuyến") and statuses in any spelling: code tables;
* an unaccented agency name: restored from the agency catalogue when it folds to the
  catalogue's name for that code; an unaccented applicant (citizen) name: restored where the
  name dictionary is sure;
* spaces typed into the applicant's CCCD or tax code;
* pre-2025 unit codes: read as pre-2025 codes on dossiers received before 1 July 2025 (that
  is history, not a fault) and on later dossiers where the code is not a current one, then
  mapped through the crosswalk. A split unit cannot be decided (no address): the commune is
  left empty and the dossier kept, flagged ADMIN_UNIT_SPLIT only when received from 1 July
  2025 on (before that, a split unit's code is simply how the dossier was filed).

Rejected (quarantined): a missing or malformed receipt code (the key), an unknown status or
applicant type, a malformed CCCD / tax code (the applicant link is what a person must fix),
no receipt date at all, or one outside [2000-01-01, as_of].
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed._kit import (  # the shared rule kit
    Check, _assemble, _col, _completeness, _flags, _record_id, _reject,
)
from kho.processed.base import ProcessedTable
from kho.reference import agencies as agency_catalogue
from kho.reference import fold
from kho.standardise import (check_cccd, check_tax_codes, has_diacritics, nfc, normalize_codes, parse_dates,
                             parse_timestamps, resolve_unit_codes, restore_diacritics, standardize_names)
from kho.standardise._arrow import as_strings, bool_numpy, map_unique, reason_where, replace_rows, valid_mask
from kho.standardise.population import LOCAL_TZ_NAME
from kho.standardise.units import REFORM_DATE

__all__ = ["TABLES", "DOSSIER", "PROCEDURE", "AGENCY", "clean_dossiers", "clean_procedures", "clean_agencies",
           "STATUS_CODES", "CHANNEL_CODES", "APPLICANT_TYPES"]

DOMAIN = "dossiers"
OWNER = "Văn phòng UBND thành phố (Office of the City People's Committee)"
EARLIEST_DATE = date(2000, 1, 1)     # a receipt date before this is a typing error, not history
LOCAL_TS = pa.timestamp("us", tz=LOCAL_TZ_NAME)

# -- code tables (keys are kho.reference.fold of the value; "_" and " " spellings both accepted) --


def _code_table(mapping: dict[str, str]) -> dict[str, str]:
    """``mapping`` plus each key with spaces for underscores: "da_giai_quyet" and "Đã giải quyết"."""
    return {**mapping, **{key.replace("_", " "): value for key, value in mapping.items()}}


STATUS_CODES = _code_table({
    "dang_xu_ly": "in_progress",                   # đang xử lý
    "da_giai_quyet_dung_han": "resolved_on_time",  # đã giải quyết đúng hạn
    "da_giai_quyet_qua_han": "resolved_late",      # đã giải quyết quá hạn
    "tra_lai": "returned",                         # trả lại (for supplement, or refused)
})
CHANNEL_CODES = _code_table({"truc_tuyen": "online", "truc_tiep": "in_person", "buu_chinh": "postal"})
APPLICANT_TYPES = _code_table({"cong_dan": "citizen", "doanh_nghiep": "enterprise"})
LEVEL_CODES = _code_table({"tinh": "city", "xa": "commune"})
ONLINE_LEVELS = _code_table({"toan_trinh": "full", "mot_phan": "partial"})
ELIGIBLE_APPLICANTS = _code_table({"cong_dan": "citizen", "doanh_nghiep": "enterprise", "ca_hai": "both"})
RESOLVED = ("resolved_on_time", "resolved_late")

# A raw dossier row is one version: two versions of one id can arrive in the same API pull.
DOSSIER_KEY = ("id", "cap_nhat_luc")
AGENCY_KEY = ("ma_co_quan", "hieu_luc_tu")

# QCVN 102-shaped agency code and the receipt code built on it (kho.reference.agencies).
AGENCY_CODE = r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.H[0-9]{2}"
RECEIPT_CODE = rf"^{AGENCY_CODE}-[0-9]{{6}}-[0-9]{{4}}$"


# -- the small rule kit every processed table of this module uses -------------------------------

def _table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    return batch


def _local_instants(naive: pa.Array) -> pa.Array:
    """Vietnam wall times (naive) -> instants tagged Asia/Ho_Chi_Minh (UTC+7, no DST since 1976),
    so ``mapInArrow`` does not read them as UTC (see kho.standardise.population)."""
    micros = pc.subtract(naive.cast(pa.int64()), 7 * 3600 * 1_000_000)
    return micros.cast(LOCAL_TS)


def _codes(values: pa.Array, table: dict[str, str], *, required: bool = True) -> tuple[pa.Array, pa.Array]:
    cleaned = normalize_codes(values, table, pa.string(), empty_is_fault=required)
    return cleaned.values, cleaned.reasons


def _shape(values: pa.Array, pattern: str, *, required: bool = True) -> pa.Array:
    """CODE_INVALID where a code does not match ``pattern`` (or is empty, when required)."""
    ok = bool_numpy(pc.match_substring_regex(values, pattern))
    bad = ~ok & (valid_mask(values) | required)
    return reason_where(bad, "CODE_INVALID")


def _unit_warnings(reasons: pa.Array, record_dates: pa.Array) -> pa.Array:
    """Unit reasons as warnings, only for rows dated on or after the reform (or undated).

    Before 1 July 2025 a pre-2025 code is history, not a fault: a split unit's commune cannot
    be decided, so ``commune_code`` stays empty, but the row is not worse for it.
    """
    before = bool_numpy(pc.less(record_dates, pa.scalar(REFORM_DATE, pa.date32())))
    return pc.if_else(pa.array(before), pa.scalar(None, pa.string()), reasons)


def _trimmed(values: pa.Array) -> pa.Array:
    """Code columns: NFC, outer spaces removed, empty -> null."""
    return nfc(values)


# -- dossier (hồ sơ) ----------------------------------------------------------------------------

DOSSIER_SCHEMA = pa.schema([
    ("receipt_code", pa.string()), ("source_id", pa.int64()),
    ("procedure_code", pa.string()), ("procedure_name", pa.string()), ("procedure_field", pa.string()),
    ("agency_code", pa.string()), ("agency_name", pa.string()),
    ("reported_unit_code", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("channel", pa.string()), ("submitted_online", pa.bool_()),
    ("received_at", LOCAL_TS), ("received_date", pa.date32()), ("due_at", LOCAL_TS), ("returned_at", LOCAL_TS),
    ("status", pa.string()), ("on_time", pa.bool_()), ("processing_days", pa.float64()),
    ("applicant_type", pa.string()), ("applicant_id", pa.string()), ("applicant_name", pa.string()),
    ("applicant_name_has_diacritics", pa.bool_()),
    ("updated_at", LOCAL_TS), ("quality_flags", pa.string()),
])

DOSSIER_DOCS = {
    "receipt_code": "mã hồ sơ: receipt code <agency code>-<yymmdd>-<4-digit sequence>; the dossier's identity",
    "source_id": "id: the source row id (receipt order; a re-synced copy has a new id)",
    "procedure_code": "mã thủ tục: procedure code (joins procedure)",
    "procedure_name": "tên thủ tục: procedure name (NFC)",
    "procedure_field": "lĩnh vực: field of the procedure (NFC)",
    "agency_code": "cơ quan: receiving agency code (QCVN 102 shape; joins agency with received_date)",
    "agency_name": "tên cơ quan: agency name; unaccented copies restored from the agency catalogue",
    "reported_unit_code": "mã đơn vị hành chính: unit code as the system wrote it (pre-2025 codes before 2025-07-01)",
    "commune_code": "the current (114-unit) commune code: reported_unit_code through the versioned crosswalk; "
                    "null for a split pre-2025 unit or an unknown code (flagged ADMIN_UNIT_SPLIT / _UNKNOWN on "
                    "dossiers received from 2025-07-01; before that a pre-2025 code is history)",
    "commune_code_source": "how commune_code was found: current | crosswalk",
    "channel": "hình thức nộp: online (trực tuyến) | in_person (trực tiếp) | postal (bưu chính)",
    "submitted_online": "nộp trực tuyến: channel = online",
    "received_at": "ngày tiếp nhận: receipt time (instant, Vietnam time zone); null when missing at the source",
    "received_date": "receipt date (local): from received_at, else from the receipt code (flag TIMESTAMP_MISSING "
                     "or TIMESTAMP_UNPARSEABLE)",
    "due_at": "hạn giải quyết: due time (17:00 of the due working day)",
    "returned_at": "ngày trả kết quả: time the result was returned",
    "status": "trạng thái: in_progress (đang xử lý) | resolved_on_time (đã giải quyết đúng hạn) | "
              "resolved_late (đã giải quyết quá hạn) | returned (trả lại)",
    "on_time": "giải quyết đúng hạn: for resolved dossiers, returned_at <= due_at; the recorded status when a "
               "date is missing; null for dossiers not resolved",
    "processing_days": "thời gian giải quyết: days from received_at to returned_at (calendar, fractional)",
    "applicant_type": "loại chủ thể: citizen (công dân) | enterprise (doanh nghiệp)",
    "applicant_id": "số giấy tờ: the applicant's CCCD (citizen) or tax code (enterprise), validated; personal data",
    "applicant_name": "tên chủ thể: applicant name; citizens' names standardised and diacritics restored where "
                      "sure; personal data",
    "applicant_name_has_diacritics": "whether applicant_name carries Vietnamese diacritics",
    "updated_at": "cập nhật lúc: time of this version (the survivorship timestamp: the latest version wins)",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}


def _receipt_dates(receipt: pa.Array) -> pa.Array:
    """The receipt date written in the receipt code (``...-yymmdd-nnnn``), as date32."""
    yymmdd = pc.struct_field(pc.extract_regex(receipt, r"-(?P<d>[0-9]{6})-[0-9]{4}$"), "d")
    return parse_dates(pc.binary_join_element_wise("20", yymmdd, ""), formats=("%Y%m%d",)).values


@lru_cache(maxsize=1)
def _agency_names() -> dict[str, tuple[str, ...]]:
    """Agency code -> its catalogue names (one per period), for restoring unaccented names."""
    return {code: tuple(dict.fromkeys(a.name_vi for a in rows))
            for code, rows in agency_catalogue.agencies_by_code().items()}


def _restore_agency_name(key: str | None) -> str | None:
    if key is None:
        return None
    code, _, name = key.partition("\x1f")
    wanted = fold(name)
    for candidate in _agency_names().get(code, ()):
        if fold(candidate) == wanted:
            return candidate
    return name


def restore_agency_names(codes: pa.Array, names: pa.Array) -> pa.Array:
    """NFC names; a name without diacritics that folds to the catalogue's name of its code is
    replaced by the catalogue's spelling (per distinct (code, name))."""
    names = nfc(names)
    rows = np.flatnonzero(~bool_numpy(has_diacritics(names)) & valid_mask(names) & valid_mask(codes))
    if len(rows) == 0:
        return names
    take = pa.array(rows)
    keys = pc.binary_join_element_wise(codes.take(take), names.take(take), "\x1f")
    return replace_rows(names, rows, map_unique(keys, _restore_agency_name, pa.string()))


def _applicants(kind: pa.Array, ids_raw: pa.Array, names_raw: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array,
                                                                                  pa.Array]:
    """(applicant_id, id reason, applicant_name, name warning) by applicant type.

    Whitespace typed into an identifier ("0312 34567890") is removed first; the CCCD rule
    then judges citizens, the tax-code rule enterprises. Citizens' names are standardised and
    restored with the sex the CCCD encodes (its 4th digit is even for men); enterprise names
    are only NFC'd (title case would damage "TNHH", "JSC" ...).
    """
    n = len(kind)
    ids = pc.replace_substring_regex(as_strings(ids_raw), r"\s+", "")
    ids = pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)
    citizen = bool_numpy(pc.equal(kind, "citizen"))
    enterprise = bool_numpy(pc.equal(kind, "enterprise"))
    cccd = check_cccd(ids)
    tax = check_tax_codes(ids, required=True)
    id_values = pc.if_else(pa.array(enterprise), tax.values, cccd.values)
    id_reason = pc.if_else(pa.array(citizen), cccd.reasons,
                           pc.if_else(pa.array(enterprise), tax.reasons, pa.scalar(None, pa.string())))
    names = nfc(names_raw)
    warning = pa.nulls(n, pa.string())
    rows = np.flatnonzero(citizen)
    if len(rows):
        take = pa.array(rows)
        person = standardize_names(names_raw.take(take)).values
        good_id = pc.is_null(cccd.reasons.take(take))
        digit = pc.utf8_slice_codeunits(cccd.values.take(take), 3, 4)
        even = pc.equal(pc.bit_wise_and(pc.cast(pc.if_else(good_id, digit, None), pa.int8()), 1), 0)
        sexes = pc.if_else(even, "M", "F")
        restored = restore_diacritics(person, sexes)
        names = replace_rows(names, rows, restored.values)
        warning = replace_rows(warning, rows, restored.reasons)
    return id_values, id_reason, names, warning


def clean_dossiers(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``dossier`` rows (ho_so columns as the registry types them) -> :data:`DOSSIER_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    raw = {c: _col(table, c) for c in ("ma_ho_so", "ma_thu_tuc", "ten_thu_tuc", "linh_vuc", "co_quan", "ten_co_quan",
                                      "ma_dvhc", "hinh_thuc_nop", "ngay_tiep_nhan", "han_giai_quyet",
                                      "ngay_tra_ket_qua", "trang_thai", "loai_chu_the", "so_giay_to", "ten_chu_the",
                                      "cap_nhat_luc")}
    receipt = _trimmed(raw["ma_ho_so"])
    agency = _trimmed(raw["co_quan"])
    status, status_reason = _codes(raw["trang_thai"], STATUS_CODES)
    channel, channel_reason = _codes(raw["hinh_thuc_nop"], CHANNEL_CODES, required=False)
    kind, kind_reason = _codes(raw["loai_chu_the"], APPLICANT_TYPES)
    applicant_id, id_reason, applicant_name, name_warning = _applicants(kind, raw["so_giay_to"], raw["ten_chu_the"])

    received = parse_timestamps(raw["ngay_tiep_nhan"])
    due = parse_timestamps(raw["han_giai_quyet"])
    returned = parse_timestamps(raw["ngay_tra_ket_qua"])
    updated = parse_timestamps(raw["cap_nhat_luc"])
    received_date = pc.coalesce(received.values.cast(pa.date32()), _receipt_dates(receipt))
    days = received_date.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
    out_of_range = valid_mask(received_date) & ((days < (EARLIEST_DATE - date(1970, 1, 1)).days)
                                                | (days > (as_of - date(1970, 1, 1)).days))
    date_reason = pc.coalesce(reason_where(~valid_mask(received_date), "DATE_MISSING"),
                              reason_where(out_of_range, "DATE_OUT_OF_RANGE"))

    units = resolve_unit_codes(raw["ma_dvhc"], record_dates=received_date)

    resolved = pc.is_in(status, pa.array(RESOLVED))
    by_dates = pc.less_equal(returned.values, due.values)
    on_time = pc.if_else(resolved, pc.coalesce(by_dates, pc.equal(status, "resolved_on_time")),
                         pa.scalar(None, pa.bool_()))
    elapsed = pc.subtract(returned.values.cast(pa.int64()), received.values.cast(pa.int64()))
    negative = bool_numpy(pc.less(elapsed, 0))
    processing = pc.divide(elapsed.cast(pa.float64()), 86_400e6)
    processing = pc.if_else(pa.array(negative), pa.scalar(None, pa.float64()), processing)
    missing_return = bool_numpy(resolved) & ~valid_mask(returned.values)

    reason, detail = _reject(n, [
        Check(_shape(receipt, RECEIPT_CODE), "ma_ho_so", raw["ma_ho_so"]),
        Check(status_reason, "trang_thai", raw["trang_thai"]),
        Check(kind_reason, "loai_chu_the", raw["loai_chu_the"]),
        Check(id_reason, "so_giay_to", raw["so_giay_to"]),
        Check(date_reason, "ngay_tiep_nhan", as_strings(raw["ngay_tiep_nhan"])),
        Check(channel_reason, "hinh_thuc_nop", raw["hinh_thuc_nop"]),
    ])
    agency_name = restore_agency_names(agency, raw["ten_co_quan"])
    name_accented = has_diacritics(applicant_name)
    flags = _flags(n, received.reasons, due.reasons,
                   reason_where(missing_return, "TIMESTAMP_MISSING"),
                   reason_where(negative, "TIMESTAMP_OUT_OF_RANGE"),
                   updated.reasons, _unit_warnings(units.reasons, received_date), name_warning,
                   reason_where(~valid_mask(applicant_name), "NAME_MISSING"))
    values = {
        "receipt_code": receipt, "source_id": _col(table, "id"),
        "procedure_code": _trimmed(raw["ma_thu_tuc"]), "procedure_name": nfc(raw["ten_thu_tuc"]),
        "procedure_field": nfc(raw["linh_vuc"]), "agency_code": agency, "agency_name": agency_name,
        "reported_unit_code": _trimmed(raw["ma_dvhc"]), "commune_code": units.codes, "commune_code_source": units.how,
        "channel": channel, "submitted_online": pc.equal(channel, "online"),
        "received_at": _local_instants(received.values), "received_date": received_date,
        "due_at": _local_instants(due.values), "returned_at": _local_instants(returned.values),
        "status": status, "on_time": on_time, "processing_days": processing,
        "applicant_type": kind, "applicant_id": applicant_id, "applicant_name": applicant_name,
        "applicant_name_has_diacritics": name_accented,
        "updated_at": _local_instants(updated.values), "quality_flags": flags,
    }
    completeness = _completeness(n, [values[c] for c in ("procedure_code", "agency_code", "commune_code", "channel",
                                                         "received_at", "due_at", "returned_at", "status",
                                                         "applicant_id", "applicant_name", "updated_at")],
                                 [pc.and_(name_accented, pc.is_null(name_warning)), has_diacritics(agency_name)])
    return _assemble(DOSSIER_SCHEMA, values, _record_id(table, DOSSIER_KEY), reason, detail, completeness)


# -- procedure (thủ tục) --------------------------------------------------------------------------

PROCEDURE_SCHEMA = pa.schema([
    ("procedure_code", pa.string()), ("procedure_name", pa.string()), ("procedure_field", pa.string()),
    ("level", pa.string()), ("lead_agency_code", pa.string()), ("time_limit_working_days", pa.int64()),
    ("online_level", pa.string()), ("eligible_applicants", pa.string()), ("fee_vnd", pa.int64()),
    ("quality_flags", pa.string()),
])
PROCEDURE_DOCS = {
    "procedure_code": "mã thủ tục: procedure code (illustrative codes in the generated system)",
    "procedure_name": "tên thủ tục: procedure name (NFC)",
    "procedure_field": "lĩnh vực: field",
    "level": "cấp thực hiện: city (tỉnh/thành phố) | commune (xã)",
    "lead_agency_code": "cơ quan chủ trì: lead agency code; null for commune-level procedures (\"UBND cấp xã\": the "
                        "commune People's Committee where the dossier is filed)",
    "time_limit_working_days": "thời hạn giải quyết: statutory time limit in working days",
    "online_level": "mức độ dịch vụ công trực tuyến: full (toàn trình) | partial (một phần)",
    "eligible_applicants": "đối tượng: citizen | enterprise | both (cả hai)",
    "fee_vnd": "lệ phí: fee in VND",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}


def clean_procedures(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``procedure`` rows (thu_tuc) -> :data:`PROCEDURE_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    code = _trimmed(_col(table, "ma_thu_tuc"))
    level, level_reason = _codes(_col(table, "cap_thuc_hien"), LEVEL_CODES)
    online, online_reason = _codes(_col(table, "muc_do"), ONLINE_LEVELS, required=False)
    eligible, eligible_reason = _codes(_col(table, "doi_tuong"), ELIGIBLE_APPLICANTS, required=False)
    lead = _trimmed(_col(table, "co_quan_chu_tri"))
    lead_code = pc.if_else(pc.match_substring_regex(lead, f"^{AGENCY_CODE}$"), lead, pa.scalar(None, pa.string()))
    limit = _col(table, "thoi_han_ngay").cast(pa.int64())
    fee = _col(table, "le_phi").cast(pa.int64())
    reason, detail = _reject(n, [
        Check(reason_where(~valid_mask(code), "CODE_INVALID"), "ma_thu_tuc", _col(table, "ma_thu_tuc")),
        Check(level_reason, "cap_thuc_hien", _col(table, "cap_thuc_hien")),
        Check(online_reason, "muc_do", _col(table, "muc_do")),
        Check(eligible_reason, "doi_tuong", _col(table, "doi_tuong")),
        Check(reason_where(bool_numpy(pc.less(fee, 0)), "MONEY_NOT_POSITIVE"), "le_phi", fee),
    ])
    values = {"procedure_code": code, "procedure_name": nfc(_col(table, "ten_thu_tuc")),
              "procedure_field": nfc(_col(table, "linh_vuc")), "level": level, "lead_agency_code": lead_code,
              "time_limit_working_days": limit, "online_level": online, "eligible_applicants": eligible,
              "fee_vnd": fee, "quality_flags": pa.nulls(n, pa.string())}
    completeness = _completeness(n, [values[c] for c in PROCEDURE_SCHEMA.names[1:-1]])
    return _assemble(PROCEDURE_SCHEMA, values, _record_id(table, ("ma_thu_tuc",)), reason, detail, completeness)


# -- agency (cơ quan) -----------------------------------------------------------------------------

AGENCY_SCHEMA = pa.schema([
    ("agency_code", pa.string()), ("agency_name", pa.string()), ("level", pa.string()),
    ("reported_unit_code", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("valid_from", pa.date32()), ("valid_to", pa.date32()), ("successor_code", pa.string()),
    ("quality_flags", pa.string()),
])
AGENCY_DOCS = {
    "agency_code": "mã cơ quan: QCVN 102-shaped code; with valid_from the key (a code names another agency "
                   "after a reform)",
    "agency_name": "tên cơ quan: name (NFC)",
    "level": "cấp: city (department) | commune (commune People's Committee)",
    "reported_unit_code": "mã đơn vị hành chính: the unit a commune People's Committee serves, as of its validity",
    "commune_code": "the current (114-unit) commune: reported_unit_code read as a pre-2025 code for agencies valid "
                    "from before 2025-07-01, through the crosswalk; null when split (flagged only for agencies valid "
                    "from 2025-07-01)",
    "commune_code_source": "how commune_code was found: current | crosswalk",
    "valid_from": "hiệu lực từ: first day of validity",
    "valid_to": "hiệu lực đến: last day of validity; null while the agency exists",
    "successor_code": "cơ quan kế thừa: the agency that took over",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}


def clean_agencies(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``agency`` rows (co_quan) -> :data:`AGENCY_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    code = _trimmed(_col(table, "ma_co_quan"))
    level, level_reason = _codes(_col(table, "cap"), LEVEL_CODES)
    valid_from = parse_dates(_col(table, "hieu_luc_tu"))
    valid_to = parse_dates(_col(table, "hieu_luc_den"))
    to_missing = pc.equal(valid_to.reasons, "DATE_MISSING")   # an open validity is not a fault
    to_reason = pc.if_else(to_missing, pa.scalar(None, pa.string()), valid_to.reasons)
    inverted = reason_where(bool_numpy(pc.less(valid_to.values, valid_from.values)), "DATE_OUT_OF_RANGE")
    unit_raw = _col(table, "ma_dvhc")
    has_unit = valid_mask(_trimmed(unit_raw))
    units = resolve_unit_codes(unit_raw, record_dates=valid_from.values)
    unit_warning = pc.if_else(pa.array(has_unit), _unit_warnings(units.reasons, valid_from.values),
                              pa.scalar(None, pa.string()))
    reason, detail = _reject(n, [
        Check(_shape(code, f"^{AGENCY_CODE}$"), "ma_co_quan", _col(table, "ma_co_quan")),
        Check(level_reason, "cap", _col(table, "cap")),
        Check(valid_from.reasons, "hieu_luc_tu", as_strings(_col(table, "hieu_luc_tu"))),
        Check(to_reason, "hieu_luc_den", as_strings(_col(table, "hieu_luc_den"))),
        Check(inverted, "hieu_luc_den", as_strings(_col(table, "hieu_luc_den"))),
    ])
    values = {"agency_code": code, "agency_name": nfc(_col(table, "ten_co_quan")), "level": level,
              "reported_unit_code": _trimmed(unit_raw), "commune_code": units.codes,
              "commune_code_source": units.how, "valid_from": valid_from.values, "valid_to": valid_to.values,
              "successor_code": _trimmed(_col(table, "ma_co_quan_ke_thua")),
              "quality_flags": _flags(n, unit_warning)}
    completeness = _completeness(n, [values[c] for c in ("agency_name", "level", "commune_code", "valid_from")])
    return _assemble(AGENCY_SCHEMA, values, _record_id(table, AGENCY_KEY), reason, detail, completeness)


# -- declarations ---------------------------------------------------------------------------------

DOSSIER = ProcessedTable(
    domain=DOMAIN, name="dossier", raw=TableRef(Zone.RAW, DOMAIN, "dossier"),
    record_key=DOSSIER_KEY, clean=clean_dossiers, schema=DOSSIER_SCHEMA,
    business_key=("receipt_code",), source_timestamp="updated_at",
    description="Administrative procedure dossiers received by the city's one-stop system, latest version per "
                "receipt code, with on-time and online flags for the TTHC KPIs.",
    term_vi="hồ sơ thủ tục hành chính", owner=OWNER,
    pii_columns=("applicant_id", "applicant_name"), column_docs=DOSSIER_DOCS,
)
PROCEDURE = ProcessedTable(
    domain=DOMAIN, name="procedure", raw=TableRef(Zone.RAW, DOMAIN, "procedure"),
    record_key=("ma_thu_tuc",), clean=clean_procedures, schema=PROCEDURE_SCHEMA,
    business_key=("procedure_code",), source_timestamp=None,
    description="The administrative procedure catalogue: level, lead agency, time limit, online level and fee.",
    term_vi="thủ tục hành chính", owner=OWNER, column_docs=PROCEDURE_DOCS,
)
AGENCY = ProcessedTable(
    domain=DOMAIN, name="agency", raw=TableRef(Zone.RAW, DOMAIN, "agency"),
    record_key=AGENCY_KEY, clean=clean_agencies, schema=AGENCY_SCHEMA,
    business_key=("agency_code", "valid_from"), source_timestamp=None,
    description="Agencies that receive dossiers (departments, commune People's Committees) with validity periods "
                "and successors across the 2025 reforms.",
    term_vi="cơ quan tiếp nhận hồ sơ", owner=OWNER, column_docs=AGENCY_DOCS,
)

TABLES = [DOSSIER, PROCEDURE, AGENCY]
