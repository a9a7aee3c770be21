"""Business registration (đăng ký doanh nghiệp và hộ kinh doanh) -> processed/business_registration.

Three tables from the register's MariaDB replica (docs/sources.md §2.7):

* ``enterprise`` (doanh_nghiep): one row per enterprise/tax code. The tax code is the key, so a
  missing, malformed or wrongly check-digited code rejects the row; grouping spaces are fixed.
  Names are kept in the register's capitals ("CTY" written out, title-case copies upper-cased).
* ``household_business`` (ho_kinh_doanh): one row per registration number; the owner's
  CCCD (or a 10-digit personal tax code) is validated and personal.
* ``registration_change`` (thay_doi_dang_ky): change events; a copy of an event entered twice
  (another id, same content) shares the business key, so survivorship merges them.

What rejects a row and what only flags it (``quality_flags``) follows one rule in the three
domains of this session (business, land, permits):

* **reject**: the record's own key is missing or invalid; the subject an event is about is
  invalid (a change event's enterprise code); a value is present but wrong and cannot be
  repaired (impossible date, capital <= 0, an unknown VSIC / status / legal-form code, a unit
  code neither current, nor in the crosswalk, nor named by the address);
* **flag**: identifiers of *other* registers' entities (a representative's or owner's CCCD:
  the enterprise still exists when the link is broken; the bad value is nulled, raw keeps it),
  unaccented names that could not be restored, missing optional values, an address naming
  another commune than the code, an unreadable update timestamp.

Unit codes go through the crosswalk; where the code is missing or unknown the commune named in
the address decides (``commune_code_source``). Codes are not read with the record's date: the
register always writes current codes, and its pre-2025 codes (the ``old_admin_unit`` fault) are
never codes reused by a current unit.

Snapshot 2 of ``doanh_nghiep`` renamed ``dia_chi_tru_so`` to ``dia_chi`` and added ``email``; raw
then holds both address columns (one null per row) and the rule coalesces them
(:data:`SOURCE_ALIASES`). ``late_update`` (an update stamp older than the enterprise's latest
change event) cannot be seen in one table; the integrated enterprise compares both.

The helpers in the second half of this module are shared with :mod:`kho.processed.land` and
:mod:`kho.processed.construction_permits` (candidates for a common module).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.reference import fold, vsic
from kho.standardise import (Cleaned, check_cccd, check_tax_codes, has_diacritics, nfc, parse_dates,
                             parse_timestamps, parse_vnd, resolve_unit_codes, restore_diacritics, standardize_names)
from kho.standardise._arrow import as_array, as_strings, labels, map_unique_many, reason_where, valid_mask
from kho.standardise.reasons import REASONS
from kho.standardise.units import match_address_units

__all__ = ["TABLES", "clean_enterprise", "clean_household_business", "clean_registration_change",
           "PROPOSED_REASONS", "describe_reason"]

DOMAIN = "business_registration"
OWNER = "Sở Tài chính (Department of Finance); household businesses by commune People's Committees"

# ============================================================================================
# Shared rule helpers (used by land.py and construction_permits.py too)
# ============================================================================================

LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"
TIMESTAMP = pa.timestamp("us", tz=LOCAL_TZ_NAME)
"""Update stamps are Vietnam wall time; stored as instants tagged Asia/Ho_Chi_Minh (as population
does), so ``mapInArrow`` (which reads naive Arrow timestamps as UTC) cannot shift them."""
MIN_RECORD_DATE = date(1945, 9, 2)
"""No register of this platform holds a record from before the state was founded."""
KEY_SEPARATOR, KEY_NULL = "\u241f", "\u2205"     # as spark_jobs.processed._key_expr builds record ids

# Codes the rules below need that kho.standardise.reasons does not have yet (same shape:
# sentence, severity). To be moved into reasons._NEW; until then the job's quarantine shows
# the code itself as the reason text.
PROPOSED_REASONS: Mapping[str, tuple[str, str]] = {
    "KEY_MISSING": ("a column of the record's key is empty", "reject"),
    "IDENTIFIER_MALFORMED": ("identifier is not in its documented format and cannot be repaired", "reject"),
    "NUMBER_MALFORMED": ("value is not a number", "reject"),
    "VALUE_OUT_OF_RANGE": ("value lies outside the range allowed for this column (zero, negative or implausible)",
                           "reject"),
    "GEOMETRY_INVALID": ("geometry is not a valid one-ring WKT polygon on the city's VN-2000 grid", "warn"),
}


def describe_reason(code: str) -> str:
    """The sentence of a reason code, from REASONS or the proposed codes; unknown codes fail."""
    if code in REASONS:
        return REASONS[code]
    return PROPOSED_REASONS[code][0]


def source_table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    """One contiguous table (the rules read raw buffers; a Spark batch is small enough to copy)."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    if any(column.num_chunks > 1 for column in table.columns):
        table = table.combine_chunks()
    return table


def column(table: pa.Table, *names: str) -> pa.Array:
    """The first non-null value among the raw columns ``names`` (a renamed column and its old
    name), as one array; all-null strings when none of them is in the batch."""
    present = [as_array(table[name]) for name in names if name in table.column_names]
    if not present:
        return pa.nulls(table.num_rows, pa.string())
    if len(present) == 1:
        return present[0]
    if len({a.type for a in present}) > 1:
        present = [as_strings(a) for a in present]
    return pc.coalesce(*present)


def text(table: pa.Table, *names: str) -> pa.Array:
    """Free text: NFC, spaces collapsed, trimmed, empty -> null."""
    return nfc(column(table, *names))


def record_ids(table: pa.Table, key: Sequence[str]) -> pa.Array:
    """The record id the processed job derives from ``record_key`` (key columns as text, null
    as ∅, joined by ␟), so the rule's ``record_id`` equals the job's."""
    parts = []
    for name in key:
        values = as_strings(column(table, name))
        parts.append(values.fill_null(KEY_NULL))
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, KEY_SEPARATOR)


def local_timestamps(values: pa.Array) -> pa.Array:
    """Naive Vietnam wall times -> instants tagged Asia/Ho_Chi_Minh (UTC+7, no DST since 1976)."""
    earliest = pc.min(values).as_py()
    if earliest is not None and earliest < datetime(1976, 1, 1):
        return pc.assume_timezone(values, LOCAL_TZ_NAME)
    micros = pc.subtract(values.cast(pa.int64()), 7 * 3600 * 1_000_000)
    return micros.cast(TIMESTAMP)


def update_stamps(values: pa.Array, as_of: date) -> Cleaned:
    """``ngay_cap_nhat`` (ISO or dd/mm/yyyy HH:MM text) -> instants; TIMESTAMP_* are warnings
    (a row is not wrong because its update stamp is): the value is null and flagged."""
    parsed = parse_timestamps(values, min_ts=datetime.combine(MIN_RECORD_DATE, datetime.min.time()),
                              max_ts=datetime.combine(as_of + timedelta(days=1), datetime.min.time()))
    stamps = pc.if_else(parsed.reasons.is_valid(), pa.scalar(None, pa.timestamp("us")), parsed.values)
    return Cleaned(local_timestamps(stamps), parsed.reasons)


def record_dates(values: pa.Array, as_of: date) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Text dates in the Vietnamese formats -> (date32, reject reasons, flag reasons).

    An impossible or future date rejects (DATE_UNPARSEABLE / DATE_OUT_OF_RANGE: present but
    wrong); an empty one is null and flagged DATE_MISSING (absent, not wrong).
    """
    parsed = parse_dates(values, min_date=MIN_RECORD_DATE, max_date=as_of)
    missing = pc.equal(parsed.reasons, "DATE_MISSING").fill_null(False)
    rejects = pc.if_else(missing, pa.scalar(None, pa.string()), parsed.reasons)
    flags = pc.if_else(missing, parsed.reasons, pa.scalar(None, pa.string()))
    dates = pc.if_else(parsed.reasons.is_valid(), pa.scalar(None, pa.date32()), parsed.values)
    return dates, rejects, flags


def integers(values: pa.Array) -> Cleaned:
    """Counts and numbers (map sheet, parcel number, floors) -> int64; NUMBER_MALFORMED for
    text that is not a whole number. Typed database columns pass straight through."""
    arr = as_array(values)
    if pa.types.is_integer(arr.type):
        return Cleaned(arr.cast(pa.int64()), pa.nulls(len(arr), pa.string()))
    if pa.types.is_floating(arr.type):
        f = arr.fill_null(0.5).to_numpy(zero_copy_only=False)
        whole = np.isfinite(f) & (np.floor(f) == f) & valid_mask(arr)
        out = pa.array(np.where(whole, f, 0).astype(np.int64), pa.int64(), mask=~whole)
        return Cleaned(out, reason_where(valid_mask(arr) & ~whole, "NUMBER_MALFORMED"))
    texts = pc.utf8_trim_whitespace(as_strings(arr))
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    ok = pc.match_substring_regex(texts, r"^-?[0-9]{1,18}$").fill_null(False)
    out = pc.cast(pc.if_else(ok, texts, pa.scalar(None, pa.string())), pa.int64())
    bad = valid_mask(texts) & ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    return Cleaned(out, reason_where(bad, "NUMBER_MALFORMED"))


def decimals(values: pa.Array) -> Cleaned:
    """Areas -> float64 m². Text may use the Vietnamese decimal comma ("64,1") and a unit
    suffix ("64,1 m2"); NUMBER_MALFORMED otherwise. Typed columns pass through."""
    arr = as_array(values)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return Cleaned(arr.cast(pa.float64()), pa.nulls(len(arr), pa.string()))
    texts = pc.utf8_trim_whitespace(as_strings(arr))
    texts = pc.replace_substring_regex(texts, r"(?i)\s*(m2|m²)$", "")
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    comma = pc.match_substring_regex(texts, r"^-?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+),[0-9]+$").fill_null(False)
    texts = pc.if_else(comma, pc.replace_substring(pc.replace_substring(texts, ".", ""), ",", "."), texts)
    ok = pc.match_substring_regex(texts, r"^-?[0-9]+(\.[0-9]+)?$").fill_null(False)
    out = pc.cast(pc.if_else(ok, texts, pa.scalar(None, pa.string())), pa.float64())
    bad = valid_mask(texts) & ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    return Cleaned(out, reason_where(bad, "NUMBER_MALFORMED"))


def positive(values: pa.Array, minimum: float = 0.0) -> pa.Array:
    """VALUE_OUT_OF_RANGE where a quantity is <= ``minimum`` (areas, floors); null stays null."""
    bad = pc.less_equal(values, minimum).fill_null(False)
    return reason_where(np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool), "VALUE_OUT_OF_RANGE")


def keep_valid(values: pa.Array, reasons: pa.Array) -> pa.Array:
    """``values`` nulled where ``reasons`` has a code: a typed processed column holds valid values or null."""
    return pc.if_else(reasons.is_valid(), pa.scalar(None, values.type), values)


# -- identifiers of people and organisations --------------------------------------------------
ID_SEPARATORS = r"[\s.\-]"       # "031 085 565481", "031085-565481": typed grouping, removed


def person_ids(values: pa.Array) -> Cleaned:
    """CCCDs typed into a business or land register -> 12 digits, invalid ones nulled.

    Separators are removed and an 11-digit number not starting with 0 gets its leading zero
    back (a spreadsheet read it as a number; every province prefix starts with 0). The
    reasons are CCCD_MISSING / _MALFORMED / _BAD_PROVINCE; callers decide reject or flag.
    """
    digits = pc.replace_substring_regex(as_strings(values), ID_SEPARATORS, "")
    digits = pc.replace_substring_regex(digits, r"^([1-9][0-9]{10})$", r"0\1")
    checked = check_cccd(digits)
    return Cleaned(keep_valid(checked.values, checked.reasons), checked.reasons)


@dataclass(frozen=True)
class PartyIds:
    """A party column split by kind: CCCD (people) or tax code (organisations, branches)."""

    cccd: pa.Array
    tax_code: pa.Array
    reasons: pa.Array          # null, CCCD_* or TAX_CODE_* (MISSING only where the id is required)


# What a tax code looks like when the row does not say whose id it is: 10 digits, or 10 and a dash
# (a branch, even a mistyped one). 13 bare digits are more likely a padded CCCD than a branch.
TAX_CODE_SHAPE = r"^[0-9]{10}(-[0-9]*)?$"


def party_ids(values: pa.Array, is_person: pa.Array | None = None, *, required: bool = True) -> PartyIds:
    """An id column that holds a CCCD or a tax code ("CCCD / personal tax code", investors,
    transaction parties, mortgagee bank branches ``NNNNNNNNNN-BBB``).

    ``is_person`` (bool, null = unknown) says which the row should hold; where unknown the
    shape decides (10 digits, optionally a branch, is a tax code; anything else is judged as a
    CCCD). Invalid ids are nulled; ``required`` makes an empty id CCCD_MISSING.
    """
    raw = as_strings(values)
    compact = pc.replace_substring_regex(raw, r"[\s.]", "")
    looks_tax = pc.match_substring_regex(compact, TAX_CODE_SHAPE).fill_null(False)
    if is_person is None:
        person = pc.invert(looks_tax)
    else:
        person = pc.if_else(is_person.is_valid(), is_person, pc.invert(looks_tax)).fill_null(True)
    person_np = np.asarray(person.to_numpy(zero_copy_only=False), dtype=bool)
    cccd = person_ids(pc.if_else(person, raw, pa.scalar(None, pa.string())))
    tax = check_tax_codes(pc.if_else(person, pa.scalar(None, pa.string()), raw))
    present = valid_mask(pc.if_else(pc.equal(pc.utf8_trim_whitespace(raw), ""), pa.scalar(None, pa.string()), raw))
    cccd_reasons = cccd.reasons if required else pc.if_else(pa.array(present, pa.bool_()), cccd.reasons,
                                                            pa.scalar(None, pa.string()))
    reasons = pc.if_else(pa.array(person_np, pa.bool_()), cccd_reasons, tax.reasons)
    return PartyIds(cccd.values, keep_valid(tax.values, tax.reasons), reasons)


# -- names ---------------------------------------------------------------------------------------
def person_names(values: pa.Array) -> Cleaned:
    """People's names: NFC, capitalised syllables; a name typed without any diacritic (no
    Vietnamese keyboard) gets them back syllable by syllable where the dictionary is sure, and
    NAME_UNACCENTED (a warning) where one stays unknown or ambiguous. A name with diacritics was
    typed with them: its bare syllables ("Thanh", "Dung") are taken as written."""
    names = standardize_names(values).values
    bare = pc.invert(has_diacritics(names))
    restored = restore_diacritics(pc.if_else(bare, names, pa.scalar(None, pa.string())))
    return Cleaned(pc.if_else(bare, restored.values, names),
                   pc.if_else(bare, restored.reasons, pa.scalar(None, pa.string())))


def organisation_names(values: pa.Array) -> Cleaned:
    """Organisation names as registered (NFC only: "Công ty TNHH" must not become "Công Ty Tnhh");
    NAME_UNACCENTED where the name carries no diacritic at all (every legal-form word has one)."""
    names = nfc(values)
    bare = valid_mask(names) & ~np.asarray(has_diacritics(names).to_numpy(zero_copy_only=False), dtype=bool)
    return Cleaned(names, reason_where(bare, "NAME_UNACCENTED"))


def party_names(values: pa.Array, is_person: pa.Array) -> Cleaned:
    """People's rules where ``is_person``, organisation rules elsewhere."""
    people, orgs = person_names(values), organisation_names(values)
    person = is_person.fill_null(False)
    return Cleaned(pc.if_else(person, people.values, orgs.values), pc.if_else(person, people.reasons, orgs.reasons))


# -- categorical codes ------------------------------------------------------------------------
def code_table(table: Mapping[str, str]) -> dict[str, str]:
    """A code table keyed the way :func:`codes` looks values up (fold of the stripped value),
    with each snake_case source code also accepted written with spaces ("dang hoat dong")."""
    out: dict[str, str] = {}
    for key, value in table.items():
        out[fold(key)] = value
        out[fold(key.replace("_", " "))] = value
    return out


def codes(values: pa.Array, table: Mapping[str, str], *, required: bool) -> Cleaned:
    """Source codes -> processed codes through ``table`` (see :func:`code_table`); CODE_INVALID
    where unknown, and where empty when ``required``; an empty optional value is null."""
    def rule(value: str | None) -> tuple[str | None, str | None]:
        key = fold(value.strip()) if value is not None and value.strip() else None
        if key is None:
            return None, ("CODE_INVALID" if required else None)
        code = table.get(key)
        return code, (None if code is not None else "CODE_INVALID")

    out, reasons = map_unique_many(as_strings(values), rule, (pa.string(), pa.string()))
    return Cleaned(out, reasons)


@lru_cache(maxsize=1)
def _vsic_divisions() -> pa.Array:
    return pa.array(sorted(e.code for e in vsic.vsic_divisions()), pa.string())


def vsic_codes(values: pa.Array) -> Cleaned:
    """VSIC 2018 level-4 codes ("4933"): four digits whose division is in kho/reference/vsic.csv;
    CODE_INVALID otherwise (empty is null, not a fault: the register allows it)."""
    texts = pc.replace_substring_regex(as_strings(values), r"[\s.]", "")
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    shape = pc.match_substring_regex(texts, r"^[0-9]{4}$").fill_null(False)
    known = pc.is_in(pc.utf8_slice_codeunits(texts, 0, 2), value_set=_vsic_divisions()).fill_null(False)
    ok = np.asarray(pc.and_(shape, known).to_numpy(zero_copy_only=False), dtype=bool)
    bad = valid_mask(texts) & ~ok
    return Cleaned(texts, reason_where(bad, "CODE_INVALID"))


# -- administrative units ---------------------------------------------------------------------
@dataclass(frozen=True)
class Units:
    codes: pa.Array        # current commune code, null when unresolved
    how: pa.Array          # current | crosswalk | address | address_old_unit
    reasons: pa.Array      # ADMIN_UNIT_UNKNOWN / ADMIN_UNIT_SPLIT (reject)
    flags: pa.Array        # ADDRESS_UNIT_CONFLICT (warning)


def units(unit_codes: pa.Array, addresses: pa.Array | None) -> Units:
    """Unit codes through the crosswalk; a split, missing or unknown code is decided by the
    commune the address names. ADDRESS_UNIT_CONFLICT flags an address that names another
    current commune than the (resolved) code."""
    resolved = resolve_unit_codes(unit_codes, addresses=addresses, fill_unknown_from_address=addresses is not None)
    flags = pa.nulls(len(resolved.codes), pa.string())
    if addresses is not None and len(resolved.codes):
        named = match_address_units(addresses).codes
        conflict = pc.and_(pc.not_equal(named, resolved.codes).fill_null(False),
                           pc.is_in(resolved.how, value_set=pa.array(["current", "crosswalk"])).fill_null(False))
        flags = reason_where(np.asarray(conflict.to_numpy(zero_copy_only=False), dtype=bool), "ADDRESS_UNIT_CONFLICT")
    return Units(resolved.codes, resolved.how, resolved.reasons, flags)


# -- assembling a rule's output ------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One reject check: its reason codes and the raw column its detail names."""

    column: str
    reasons: pa.Array
    raw: pa.Array


def rejections(checks: Sequence[Check], n: int) -> tuple[pa.Array, pa.Array]:
    """(reason, detail): the first failing check in order wins; the detail names the column and
    the raw value ("ngay_thanh_lap '31/02/2019': date is in none ..."). Python runs only over
    the rejected rows (few)."""
    if not checks or n == 0:
        return pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
    reason = pc.coalesce(*(c.reasons for c in checks)) if len(checks) > 1 else checks[0].reasons
    rows = np.flatnonzero(valid_mask(reason))
    if not len(rows):
        return reason, pa.nulls(n, pa.string())
    which = np.full(n, -1, dtype=np.int64)
    for k in range(len(checks) - 1, -1, -1):
        which[valid_mask(checks[k].reasons)] = k
    take = pa.array(rows)
    codes_ = reason.take(take).to_pylist()
    raws = {k: checks[k].raw.take(take).to_pylist() for k in set(which[rows].tolist())}
    details = [f"{checks[which[row]].column} {raws[which[row]][i]!r}: {describe_reason(codes_[i])}"
               for i, row in enumerate(rows)]
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    detail = pc.replace_with_mask(pa.nulls(n, pa.string()), pa.array(mask), pa.array(details, pa.string()))
    return reason, detail


def quality_flags(flag_reasons: Sequence[pa.Array], n: int) -> pa.Array:
    """The distinct warning codes of each row, sorted, comma-separated; null when none.

    Built from one bit per code and named once per distinct combination (not joined per row:
    ``binary_join_element_wise(null_handling='skip')`` of pyarrow 26 drops all-null rows).
    """
    masks: dict[str, np.ndarray] = {}
    for arr in flag_reasons:
        if arr.null_count == len(arr):
            continue
        encoded = as_strings(arr).dictionary_encode()
        idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        for i, code in enumerate(encoded.dictionary.to_pylist()):
            masks[code] = masks.get(code, np.zeros(n, dtype=bool)) | (idx == i)
    if not masks:
        return pa.nulls(n, pa.string())
    ordered = sorted(masks)
    bits = np.zeros(n, dtype=np.int64)
    for k, code in enumerate(ordered):
        bits |= masks[code].astype(np.int64) << k
    combos, which = np.unique(bits, return_inverse=True)
    names = tuple(None if c == 0 else ",".join(code for k, code in enumerate(ordered) if c >> k & 1)
                  for c in combos.tolist())
    return labels(which.ravel(), names)


def completeness(columns: Mapping[str, pa.Array], names: Sequence[str]) -> pa.Array:
    """How many of the business-relevant ``names`` are filled: survivorship's tie-breaker."""
    filled = np.zeros(len(next(iter(columns.values()))) if columns else 0, dtype=np.int32)
    for name in names:
        filled += valid_mask(columns[name]).astype(np.int32)
    return pa.array(filled, pa.int32())


def assemble(schema: pa.Schema, columns: Mapping[str, pa.Array], record_id: pa.Array, reason: pa.Array,
             detail: pa.Array, filled: pa.Array) -> pa.Table:
    """The rule's output: ``schema`` columns in order, then the RULE_COLUMNS."""
    arrays = [columns[f.name].cast(f.type) for f in schema]
    arrays += [record_id.cast(pa.string()), reason.cast(pa.string()), detail.cast(pa.string()), filled]
    names = [f.name for f in schema] + ["record_id", "_reject_reason", "_reject_detail", "_completeness"]
    return pa.Table.from_arrays(arrays, names=names)


def docs_of(schema: pa.Schema, docs: Mapping[str, str]) -> dict[str, str]:
    """column_docs in schema order; fails at import when a column is undocumented."""
    missing = [f.name for f in schema if f.name not in docs]
    if missing:
        raise ValueError(f"undocumented columns: {missing}")
    return {f.name: docs[f.name] for f in schema}


# ============================================================================================
# Code tables (edit here when the register adds a value)
# ============================================================================================

ENTERPRISE_STATUS = code_table({"dang_hoat_dong": "active", "tam_ngung": "suspended",
                                "tam_ngung_kinh_doanh": "suspended", "giai_the": "dissolved",
                                "da_giai_the": "dissolved"})
HOUSEHOLD_STATUS = code_table({"dang_hoat_dong": "active", "tam_ngung": "suspended",
                               "tam_ngung_kinh_doanh": "suspended", "cham_dut": "ceased",
                               "cham_dut_hoat_dong": "ceased"})
LEGAL_FORMS = code_table({
    "Công ty TNHH một thành viên": "single_member_llc", "Công ty TNHH 1 thành viên": "single_member_llc",
    "Công ty TNHH MTV": "single_member_llc",
    "Công ty TNHH hai thành viên trở lên": "multi_member_llc", "Công ty TNHH 2 thành viên trở lên": "multi_member_llc",
    "Công ty cổ phần": "joint_stock_company", "Công ty CP": "joint_stock_company",
    "Doanh nghiệp tư nhân": "private_enterprise", "DNTN": "private_enterprise",
    "Công ty hợp danh": "partnership",
})
CHANGE_TYPES = code_table({"tang_von": "capital_increase", "doi_tru_so": "head_office_change",
                           "doi_nguoi_dai_dien": "representative_change", "doi_ten": "name_change",
                           "tam_ngung": "suspension", "giai_the": "dissolution"})
# Abbreviations written out in enterprise names (upper-cased first): (RE2 pattern, replacement).
ENTERPRISE_NAME_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"^CTY\.?\s+", "CÔNG TY "),
    (r"^DNTN\.?\s+", "DOANH NGHIỆP TƯ NHÂN "),
)
# Raw column -> the names it has had (newest first): coalesced, so a batch spanning a rename cleans.
SOURCE_ALIASES: Mapping[str, tuple[str, ...]] = {"dia_chi": ("dia_chi", "dia_chi_tru_so")}
# "Tăng vốn điều lệ từ 1.180.000.000 đồng lên 2.340.000.000 đồng"
CAPITAL_CHANGE_PATTERN = r"từ (?P<before>[0-9][0-9.,]*) đồng lên (?P<after>[0-9][0-9.,]*) đồng"
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"


def enterprise_names(values: pa.Array) -> Cleaned:
    """Enterprise names in the register's capitals: NFC, upper case, "CTY" written out.

    Near-duplicate copies in title case or with "CTY" become the registered spelling;
    NAME_MISSING (reject) where empty, NAME_UNACCENTED (flag) where unaccented (an enterprise
    name cannot be restored from a dictionary of personal names).
    """
    names = nfc(values)
    upper = pc.utf8_upper(names)
    for pattern, replacement in ENTERPRISE_NAME_ABBREVIATIONS:
        upper = pc.replace_substring_regex(upper, pattern, replacement)
    flags = organisation_names(upper).reasons
    return Cleaned(upper, pc.coalesce(reason_where(~valid_mask(upper), "NAME_MISSING"), flags))


def emails(values: pa.Array) -> pa.Array:
    """Lower-case trimmed e-mail addresses; values of another shape are kept (no rule rejects
    a contact field) but never lower-cased into something else."""
    texts = pc.utf8_lower(nfc(values))
    shaped = pc.match_substring_regex(texts, EMAIL_SHAPE).fill_null(False)
    return pc.if_else(shaped, texts, nfc(values))


# ============================================================================================
# enterprise (doanh_nghiep)
# ============================================================================================

ENTERPRISE_SCHEMA = pa.schema([
    ("tax_code", pa.string()), ("enterprise_name", pa.string()), ("legal_form", pa.string()),
    ("vsic_code", pa.string()), ("charter_capital_vnd", pa.int64()), ("founding_date", pa.date32()),
    ("commune_code", pa.string()), ("commune_code_source", pa.string()), ("address", pa.string()),
    ("email", pa.string()), ("representative_cccd", pa.string()), ("representative_name", pa.string()),
    ("status", pa.string()), ("updated_at", TIMESTAMP), ("quality_flags", pa.string()),
])
ENTERPRISE_COMPLETENESS = ("enterprise_name", "legal_form", "vsic_code", "charter_capital_vnd", "founding_date",
                           "address", "representative_cccd", "representative_name", "updated_at")


def clean_enterprise(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``doanh_nghiep`` batch (snapshot-1 or snapshot-2 schema, or both mixed)."""
    table = source_table(batch)
    n = table.num_rows
    raw_tax = column(table, "ma_so_doanh_nghiep")
    tax = check_tax_codes(raw_tax, required=True)
    name = enterprise_names(column(table, "ten_doanh_nghiep"))
    form = codes(column(table, "loai_hinh"), LEGAL_FORMS, required=False)
    industry = vsic_codes(column(table, "nganh_nghe_chinh"))
    capital = parse_vnd(column(table, "von_dieu_le"), positive=True, required=True)
    founded, founded_bad, founded_flag = record_dates(column(table, "ngay_thanh_lap"), as_of)
    address = text(table, *SOURCE_ALIASES["dia_chi"])
    unit = units(column(table, "ma_dvhc"), address)
    rep_id = person_ids(column(table, "so_cccd_nguoi_dai_dien"))
    rep_name = person_names(column(table, "ho_ten_nguoi_dai_dien"))
    status = codes(column(table, "trang_thai"), ENTERPRISE_STATUS, required=True)
    updated = update_stamps(column(table, "ngay_cap_nhat"), as_of)
    money_bad = pc.if_else(pc.equal(capital.reasons, "MONEY_MISSING").fill_null(False),
                           pa.scalar(None, pa.string()), capital.reasons)
    name_bad = pc.if_else(pc.equal(name.reasons, "NAME_MISSING").fill_null(False), name.reasons,
                          pa.scalar(None, pa.string()))
    reason, detail = rejections([
        Check("ma_so_doanh_nghiep", tax.reasons, raw_tax),
        Check("ten_doanh_nghiep", name_bad, column(table, "ten_doanh_nghiep")),
        Check("ma_dvhc", unit.reasons, column(table, "ma_dvhc")),
        Check("trang_thai", status.reasons, column(table, "trang_thai")),
        Check("loai_hinh", form.reasons, column(table, "loai_hinh")),
        Check("nganh_nghe_chinh", industry.reasons, column(table, "nganh_nghe_chinh")),
        Check("von_dieu_le", money_bad, column(table, "von_dieu_le")),
        Check("ngay_thanh_lap", founded_bad, column(table, "ngay_thanh_lap")),
    ], n)
    name_flag = pc.if_else(pc.equal(name.reasons, "NAME_UNACCENTED").fill_null(False), name.reasons,
                           pa.scalar(None, pa.string()))
    capital_flag = pc.if_else(pc.equal(capital.reasons, "MONEY_MISSING").fill_null(False), capital.reasons,
                              pa.scalar(None, pa.string()))
    columns = {
        "tax_code": tax.values, "enterprise_name": name.values, "legal_form": form.values,
        "vsic_code": industry.values, "charter_capital_vnd": capital.values, "founding_date": founded,
        "commune_code": unit.codes, "commune_code_source": unit.how, "address": address,
        "email": emails(column(table, "email")), "representative_cccd": rep_id.values,
        "representative_name": rep_name.values, "status": status.values, "updated_at": updated.values,
        "quality_flags": quality_flags([name_flag, capital_flag, founded_flag, unit.flags, rep_id.reasons,
                                        rep_name.reasons, updated.reasons], n),
    }
    return assemble(ENTERPRISE_SCHEMA, columns, record_ids(table, ENTERPRISE_RECORD_KEY), reason, detail,
                    completeness(columns, ENTERPRISE_COMPLETENESS))


# ============================================================================================
# household_business (ho_kinh_doanh)
# ============================================================================================

HOUSEHOLD_SCHEMA = pa.schema([
    ("registration_no", pa.string()), ("business_name", pa.string()), ("owner_cccd", pa.string()),
    ("owner_tax_code", pa.string()), ("owner_name", pa.string()), ("vsic_code", pa.string()),
    ("activity", pa.string()), ("capital_vnd", pa.int64()), ("commune_code", pa.string()),
    ("commune_code_source", pa.string()), ("address", pa.string()), ("registration_date", pa.date32()),
    ("status", pa.string()), ("updated_at", TIMESTAMP), ("quality_flags", pa.string()),
])
HOUSEHOLD_COMPLETENESS = ("business_name", "owner_cccd", "owner_name", "vsic_code", "activity", "capital_vnd",
                          "address", "registration_date", "updated_at")


def registration_numbers(values: pa.Array) -> Cleaned:
    """``so_dang_ky`` trimmed, spaces removed, upper case; KEY_MISSING where empty. The number's
    layout (02C8001234) is modelled, not an official specification, so it is not enforced."""
    texts = pc.utf8_upper(pc.replace_substring_regex(as_strings(values), r"\s", ""))
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    return Cleaned(texts, reason_where(~valid_mask(texts), "KEY_MISSING"))


def clean_household_business(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``ho_kinh_doanh`` batch."""
    table = source_table(batch)
    n = table.num_rows
    number = registration_numbers(column(table, "so_dang_ky"))
    name = organisation_names(column(table, "ten_ho_kinh_doanh"))
    owner = party_ids(column(table, "so_cccd_chu_ho"))
    owner_name = person_names(column(table, "ho_ten_chu_ho"))
    industry = vsic_codes(column(table, "ma_nganh"))
    capital = parse_vnd(column(table, "von_kinh_doanh"), positive=True, required=True)
    registered, registered_bad, registered_flag = record_dates(column(table, "ngay_dang_ky"), as_of)
    address = text(table, "dia_diem_kinh_doanh")
    unit = units(column(table, "ma_dvhc"), address)
    status = codes(column(table, "trang_thai"), HOUSEHOLD_STATUS, required=True)
    updated = update_stamps(column(table, "ngay_cap_nhat"), as_of)
    missing_capital = pc.equal(capital.reasons, "MONEY_MISSING").fill_null(False)
    reason, detail = rejections([
        Check("so_dang_ky", number.reasons, column(table, "so_dang_ky")),
        Check("ma_dvhc", unit.reasons, column(table, "ma_dvhc")),
        Check("trang_thai", status.reasons, column(table, "trang_thai")),
        Check("ma_nganh", industry.reasons, column(table, "ma_nganh")),
        Check("von_kinh_doanh", pc.if_else(missing_capital, pa.scalar(None, pa.string()), capital.reasons),
              column(table, "von_kinh_doanh")),
        Check("ngay_dang_ky", registered_bad, column(table, "ngay_dang_ky")),
    ], n)
    columns = {
        "registration_no": number.values, "business_name": name.values, "owner_cccd": owner.cccd,
        "owner_tax_code": owner.tax_code, "owner_name": owner_name.values, "vsic_code": industry.values,
        "activity": text(table, "nganh_nghe"), "capital_vnd": capital.values, "commune_code": unit.codes,
        "commune_code_source": unit.how, "address": address, "registration_date": registered,
        "status": status.values, "updated_at": updated.values,
        "quality_flags": quality_flags([name.reasons, owner.reasons, owner_name.reasons,
                                        pc.if_else(missing_capital, capital.reasons, pa.scalar(None, pa.string())),
                                        registered_flag, unit.flags, updated.reasons], n),
    }
    return assemble(HOUSEHOLD_SCHEMA, columns, record_ids(table, HOUSEHOLD_RECORD_KEY), reason, detail,
                    completeness(columns, HOUSEHOLD_COMPLETENESS))


# ============================================================================================
# registration_change (thay_doi_dang_ky)
# ============================================================================================

CHANGE_SCHEMA = pa.schema([
    ("event_id", pa.int64()), ("tax_code", pa.string()), ("change_type", pa.string()),
    ("description", pa.string()), ("effective_date", pa.date32()), ("capital_before_vnd", pa.int64()),
    ("capital_after_vnd", pa.int64()), ("quality_flags", pa.string()),
])
CHANGE_COMPLETENESS = ("tax_code", "change_type", "description", "effective_date")


def capital_change(descriptions: pa.Array, change_type: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(before, after) VND read from a capital increase's text; null for other events."""
    parts = pc.extract_regex(pc.if_else(pc.equal(change_type, "capital_increase").fill_null(False), descriptions,
                                        pa.scalar(None, pa.string())), CAPITAL_CHANGE_PATTERN)
    before = parse_vnd(pc.struct_field(parts, "before"))
    after = parse_vnd(pc.struct_field(parts, "after"))
    return keep_valid(before.values, before.reasons), keep_valid(after.values, after.reasons)


def clean_registration_change(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Clean a raw ``thay_doi_dang_ky`` batch. The enterprise code is what the event is about:
    an invalid one rejects (the event cannot be attributed)."""
    table = source_table(batch)
    n = table.num_rows
    event_id = integers(column(table, "id"))
    raw_tax = column(table, "ma_so_doanh_nghiep")
    tax = check_tax_codes(raw_tax, required=True)
    kind = codes(column(table, "loai_thay_doi"), CHANGE_TYPES, required=True)
    description = text(table, "noi_dung")
    effective, effective_bad, effective_flag = record_dates(column(table, "ngay_hieu_luc"), as_of)
    before, after = capital_change(description, kind.values)
    id_missing = reason_where(~valid_mask(event_id.values) & ~valid_mask(event_id.reasons), "KEY_MISSING")
    reason, detail = rejections([
        Check("id", pc.coalesce(event_id.reasons, id_missing), column(table, "id")),
        Check("ma_so_doanh_nghiep", tax.reasons, raw_tax),
        Check("loai_thay_doi", kind.reasons, column(table, "loai_thay_doi")),
        Check("ngay_hieu_luc", effective_bad, column(table, "ngay_hieu_luc")),
    ], n)
    columns = {
        "event_id": event_id.values, "tax_code": tax.values, "change_type": kind.values, "description": description,
        "effective_date": effective, "capital_before_vnd": before, "capital_after_vnd": after,
        "quality_flags": quality_flags([effective_flag], n),
    }
    return assemble(CHANGE_SCHEMA, columns, record_ids(table, CHANGE_RECORD_KEY), reason, detail,
                    completeness(columns, CHANGE_COMPLETENESS))


# ============================================================================================
# Declarations
# ============================================================================================

# snapshot_diff tables whose key the source does not keep unique (faulty duplicates, near
# duplicates with another content): the record is (key, row hash), the version the diff tracks
# and tombstones, so record_id is unique per source record version in a batch.
ENTERPRISE_RECORD_KEY = ("ma_so_doanh_nghiep", "_record_hash")
HOUSEHOLD_RECORD_KEY = ("so_dang_ky", "_record_hash")
CHANGE_RECORD_KEY = ("id",)

_COMMON_DOCS = {
    "commune_code": "current commune-level unit code, through the pre-2025 crosswalk (mã đơn vị hành chính, ma_dvhc)",
    "commune_code_source": "how commune_code was found: current | crosswalk | address | address_old_unit",
    "updated_at": "last update in the register, Vietnam time (ngày cập nhật, ngay_cap_nhat)",
    "quality_flags": "comma-separated warning codes (kho.standardise.reasons) of a row that was kept",
    "vsic_code": "VSIC 2018 level-4 industry code, division checked against kho/reference/vsic.csv (mã ngành)",
}

TABLES = [
    ProcessedTable(
        domain=DOMAIN, name="enterprise", raw=TableRef(Zone.RAW, DOMAIN, "enterprise"),
        record_key=ENTERPRISE_RECORD_KEY, clean=clean_enterprise, schema=ENTERPRISE_SCHEMA,
        business_key=("tax_code",), source_timestamp="updated_at",
        description="Enterprises of the business register, one row per enterprise (tax) code",
        term_vi="doanh nghiệp", owner=OWNER,
        pii_columns=("representative_cccd", "representative_name", "email"),
        column_docs=docs_of(ENTERPRISE_SCHEMA, {
            **_COMMON_DOCS,
            "tax_code": "enterprise code = tax code, 10 digits (+ -NNN for a branch), check digit verified "
                        "(mã số doanh nghiệp, ma_so_doanh_nghiep)",
            "enterprise_name": "registered name in capitals, 'CTY' written out (tên doanh nghiệp)",
            "legal_form": "single_member_llc | multi_member_llc | joint_stock_company | private_enterprise | "
                          "partnership (loại hình: Công ty TNHH một thành viên / hai thành viên trở lên / "
                          "Công ty cổ phần / Doanh nghiệp tư nhân / Công ty hợp danh)",
            "vsic_code": "main industry, " + _COMMON_DOCS["vsic_code"] + " (ngành nghề chính)",
            "charter_capital_vnd": "charter capital, VND (vốn điều lệ)",
            "founding_date": "founding date (ngày thành lập)",
            "address": "head-office address, NFC (địa chỉ trụ sở; dia_chi_tru_so, renamed dia_chi in snapshot 2)",
            "email": "contact e-mail, lower case (thư điện tử; from snapshot 2); personal for sole proprietors",
            "representative_cccd": "legal representative's CCCD, null when invalid (số CCCD người đại diện)",
            "representative_name": "legal representative's name, standardised (họ tên người đại diện)",
            "status": "active | suspended | dissolved (trạng thái: đang hoạt động / tạm ngừng / giải thể)",
        })),
    ProcessedTable(
        domain=DOMAIN, name="household_business", raw=TableRef(Zone.RAW, DOMAIN, "household_business"),
        record_key=HOUSEHOLD_RECORD_KEY, clean=clean_household_business, schema=HOUSEHOLD_SCHEMA,
        business_key=("registration_no",), source_timestamp="updated_at",
        description="Household businesses, one row per registration number",
        term_vi="hộ kinh doanh", owner=OWNER,
        pii_columns=("owner_cccd", "owner_tax_code", "owner_name", "address"),
        column_docs=docs_of(HOUSEHOLD_SCHEMA, {
            **_COMMON_DOCS,
            "registration_no": "household-business registration number (số đăng ký)",
            "business_name": "name, NFC (tên hộ kinh doanh)",
            "owner_cccd": "owner's CCCD, null when invalid or a tax code was given (số CCCD chủ hộ)",
            "owner_tax_code": "owner's personal tax code where one was given instead of a CCCD (mã số thuế cá nhân)",
            "owner_name": "owner's name, standardised (họ tên chủ hộ)",
            "activity": "activity as registered, NFC (ngành nghề kinh doanh)",
            "capital_vnd": "business capital, VND (vốn kinh doanh)",
            "address": "place of business, usually the owner's home, NFC (địa điểm kinh doanh)",
            "registration_date": "registration date (ngày đăng ký)",
            "status": "active | suspended | ceased (trạng thái: đang hoạt động / tạm ngừng / chấm dứt)",
        })),
    ProcessedTable(
        domain=DOMAIN, name="registration_change", raw=TableRef(Zone.RAW, DOMAIN, "registration_change"),
        record_key=CHANGE_RECORD_KEY, clean=clean_registration_change, schema=CHANGE_SCHEMA,
        business_key=("tax_code", "change_type", "effective_date", "description"), source_timestamp=None,
        description="Registration change events of enterprises; an event keyed in twice is one event",
        term_vi="thay đổi đăng ký doanh nghiệp", owner=OWNER, pii_columns=("description",),
        column_docs=docs_of(CHANGE_SCHEMA, {
            "event_id": "event id in the register; not chronological (late events get large ids) (id)",
            "tax_code": "enterprise code of the event (mã số doanh nghiệp)",
            "change_type": "capital_increase | head_office_change | representative_change | name_change | "
                           "suspension | dissolution (loại thay đổi: tăng vốn / đổi trụ sở / đổi người đại diện / "
                           "đổi tên / tạm ngừng / giải thể)",
            "description": "change text, NFC; names and CCCDs of representatives appear in it (nội dung)",
            "effective_date": "effective date (ngày hiệu lực)",
            "capital_before_vnd": "charter capital before a capital increase, read from the text, VND",
            "capital_after_vnd": "charter capital after a capital increase, read from the text, VND",
            "quality_flags": _COMMON_DOCS["quality_flags"],
        })),
]
