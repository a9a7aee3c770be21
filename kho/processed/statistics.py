"""Processed tables of the city statistics workbooks (Số liệu thống kê KT-XH): monthly and quarterly indicators.

Raw holds tidy report cells, one row per (sheet, indicator row, column) of a workbook, as
text (``kho.sources.statistics.read_workbook`` is the registry's reader). What the workbook
itself does not say in its rows comes from its file name: ``KTXH_thang_MM_YYYY.xlsx`` is the
month, ``KTXH_quy_Q_YYYY.xlsx`` the quarter, so every row gets its period here (a file name
without one is PERIOD_INVALID).

* ``value``: the reader already turns Vietnamese-typed text ("18.234,5") into numbers; text
  that still arrives is read here the same way (dot = thousands, comma = decimal), ".." and
  "-" (unavailable / not applicable) are null without a fault.
* ``indicator_code`` is validated against the codes the platform knows: the indicator
  catalogue (``kho/reference/indicators.csv``) and the workbook row codes the reader assigns
  (sub-indicators such as CPI_FOOD that no KPI uses yet). A code in neither is CODE_INVALID;
  ``in_catalogue`` says whether the KPI catalogue lists it.
* From 07/2025 (Q3/2025) every figure covers the merged city (NQ 202/2025/QH15) and the
  same-period columns are recomputed on that scope: ``city_scope`` says which city a row
  describes, so nobody sums months across the change unknowingly.

A workbook delivered again for the same period (a correction) wins survivorship by its
delivery time (``delivered_at``).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed._kit import (  # the shared rule kit
    Check, _assemble, _col, _completeness, _record_id, _reject, _table,
)
from kho.processed.base import ProcessedTable
from kho.reference import indicators as indicator_catalogue
from kho.standardise import nfc
from kho.standardise._arrow import as_array, as_strings, bool_numpy, map_unique, reason_where, replace_rows, valid_mask

__all__ = ["TABLES", "MONTHLY_INDICATOR", "QUARTERLY_INDICATOR", "clean_monthly", "clean_quarterly",
           "known_codes", "parse_vn_number"]

DOMAIN = "statistics"
OWNER = "Thống kê thành phố Hải Phòng (city statistics office); budget figures from Sở Tài chính"
MERGED_FROM = date(2025, 7, 1)        # NQ 202/2025/QH15: figures from 07/2025 cover the merged city
MONTHLY_FILE = r"KTXH_thang_(?P<m>[0-9]{1,2})_(?P<y>[0-9]{4})"
QUARTERLY_FILE = r"KTXH_quy_(?P<q>[1-4])_(?P<y>[0-9]{4})"
NOT_A_VALUE = ("..", "-", "…", "")    # unavailable / not applicable / blank
# REASONS has no code for a malformed number; MONEY_MALFORMED states the shape rule. Change when
# kho.standardise.reasons gains NUMBER_MALFORMED.
NUMBER_MALFORMED = "MONEY_MALFORMED"

# measure names the reader gives (kho.sources.statistics FLOW/INDEX/STOCK_COLUMNS), for validation
MEASURES = frozenset({
    "period", "period_last_year", "ytd", "ytd_last_year", "index_period", "index_ytd",
    "index_prev_month", "index_same_month_last_year", "index_december_last_year",
    "end_of_period", "end_of_period_last_year", "index_same_time_last_year", "index_end_of_last_year",
})


# -- the small rule kit every processed table of this module uses -------------------------------

# -- values and codes ---------------------------------------------------------------------------------

_VN_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$|^-?\d+,\d+$")


def parse_vn_number(text: str | None) -> float | None:
    """A number typed the Vietnamese way ("18.234,5", "113,58", "1.234") -> float; None otherwise.

    Only called for text the fast path (a plain "18234.5") cannot read.
    """
    if text is None:
        return None
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    if _VN_NUMBER.match(text):
        return float(text.replace(".", "").replace(",", "."))
    return None


def _values(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Cell text -> float64 and NUMBER_MALFORMED where the text is no number."""
    arr = as_array(raw)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return arr.cast(pa.float64()), pa.nulls(len(arr), pa.string())
    text = pc.utf8_trim_whitespace(as_strings(arr))
    blank = bool_numpy(pc.is_in(text, pa.array(NOT_A_VALUE))) | ~valid_mask(text)
    plain = bool_numpy(pc.match_substring_regex(text, r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"))
    values = pc.cast(pc.if_else(pa.array(plain), text, pa.scalar(None, pa.string())), pa.float64())
    rest = np.flatnonzero(~plain & ~blank)
    if len(rest):
        values = replace_rows(values, rest, map_unique(text.take(pa.array(rest)), parse_vn_number, pa.float64()))
    malformed = ~blank & ~valid_mask(values)
    return values, reason_where(malformed, NUMBER_MALFORMED)


@lru_cache(maxsize=1)
def catalogue_codes() -> frozenset[str]:
    """Codes of the indicator catalogue (the KPI vocabulary)."""
    return frozenset(i.code for i in indicator_catalogue.indicators())


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """Every code a workbook row may carry: the catalogue plus the reader's row codes."""
    from kho.sources.statistics import row_codes     # the registry's reader assigns them

    return catalogue_codes() | frozenset(row_codes().values())


# -- the shared rule ----------------------------------------------------------------------------------

RECORD_KEY = ("_source_file", "sheet", "code", "column")     # one cell of one workbook

SCHEMA = pa.schema([
    ("period_start", pa.date32()), ("period_end", pa.date32()), ("year", pa.int64()), ("period_number", pa.int64()),
    ("sheet", pa.string()), ("label", pa.string()), ("indicator_code", pa.string()), ("in_catalogue", pa.bool_()),
    ("unit", pa.string()), ("measure", pa.string()), ("value", pa.float64()), ("city_scope", pa.string()),
    ("delivered_at", pa.timestamp("us", tz="UTC")),
])


def _docs(period: str) -> dict[str, str]:
    return {
        "period_start": f"kỳ báo cáo: first day of the reported {period} (from the workbook's file name)",
        "period_end": f"last day of the reported {period}",
        "year": "năm: the reported year",
        "period_number": "tháng / quý: month 1-12 or quarter 1-4 of the reported period",
        "sheet": "biểu: sheet of the workbook, e.g. 01_NSNN (budget), 01_GRDP",
        "label": "chỉ tiêu: indicator label as printed (indentation and 'Trong đó:' removed), NFC",
        "indicator_code": "mã chỉ tiêu: indicator code (kho/reference/indicators.csv or a workbook sub-indicator)",
        "in_catalogue": "whether indicator_code is in the indicator catalogue (the KPI vocabulary)",
        "unit": "đơn vị tính: unit as printed (none on index sheets)",
        "measure": "cột: what the value is: period, period_last_year, ytd (cộng dồn), ytd_last_year, index_* "
                   "(so với cùng kỳ: previous year = 100, not a growth rate), end_of_period ...",
        "value": "giá trị: the number; null for '..' (unavailable) and '-' (not applicable)",
        "city_scope": "phạm vi: pre_merger (Hải Phòng before 07/2025) | merged (Hải Phòng + Hải Dương, NQ "
                      "202/2025/QH15, from 07/2025); same-period columns are on the row's scope",
        "delivered_at": "when the workbook was ingested (UTC): a later delivery for the same period wins",
    }


def _periods(files: pa.Array, quarterly: bool) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array, pa.Array]:
    """(start, end, year, month or quarter, PERIOD_INVALID) from the workbook file names."""
    pattern, field = (QUARTERLY_FILE, "q") if quarterly else (MONTHLY_FILE, "m")
    parts = pc.extract_regex(as_strings(files), pattern)
    year = pc.cast(pc.struct_field(parts, "y"), pa.int64())
    number = pc.cast(pc.struct_field(parts, field), pa.int64())
    ok = valid_mask(year) & bool_numpy(pc.and_(pc.greater_equal(number, 1),
                                               pc.less_equal(number, 4 if quarterly else 12)))
    number = pc.if_else(pa.array(ok), number, pa.scalar(None, pa.int64()))
    y = year.fill_null(1970).to_numpy(zero_copy_only=False)
    k = number.fill_null(1).to_numpy(zero_copy_only=False)
    first = (y - 1970) * 12 + ((k - 1) * 3 if quarterly else k - 1)       # months since 1970-01
    months = 3 if quarterly else 1

    def day(month_index: np.ndarray, shift: int = 0) -> pa.Array:
        days = month_index.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + shift
        return pa.array(days.astype(np.int32), pa.int32(), mask=~ok).cast(pa.date32())

    start, end = day(first), day(first + months, shift=-1)
    return start, end, year, number, reason_where(~ok, "PERIOD_INVALID")


def _clean(batch: pa.Table | pa.RecordBatch, as_of: date, *, quarterly: bool) -> pa.Table:
    table = _table(batch)
    n = table.num_rows
    start, end, year, number, period_reason = _periods(_col(table, "_source_file"), quarterly)
    future = reason_where(bool_numpy(pc.greater(start, pa.scalar(as_of, pa.date32()))), "PERIOD_INVALID")
    code = pc.utf8_upper(nfc(_col(table, "code")))
    known = bool_numpy(pc.is_in(code, pa.array(sorted(known_codes()))))
    measure = nfc(_col(table, "column"))
    value, value_reason = _values(_col(table, "value"))
    merged = bool_numpy(pc.greater_equal(start, pa.scalar(MERGED_FROM, pa.date32())))
    scope = pc.if_else(pa.array(merged), "merged", "pre_merger")
    scope = pc.if_else(pc.is_valid(start), scope, pa.scalar(None, pa.string()))
    reason, detail = _reject(n, [
        Check(pc.coalesce(period_reason, future), "_source_file", _col(table, "_source_file")),
        Check(reason_where(~known, "CODE_INVALID"), "code", _col(table, "code")),
        Check(reason_where(~bool_numpy(pc.is_in(measure, pa.array(sorted(MEASURES)))), "CODE_INVALID"), "column",
              _col(table, "column")),
        Check(reason_where(~valid_mask(nfc(_col(table, "sheet"))), "CODE_INVALID"), "sheet", _col(table, "sheet")),
        Check(value_reason, "value", _col(table, "value")),
    ])
    values = {"period_start": start, "period_end": end, "year": year, "period_number": number,
              "sheet": nfc(_col(table, "sheet")), "label": nfc(_col(table, "label")), "indicator_code": code,
              "in_catalogue": pc.is_in(code, pa.array(sorted(catalogue_codes()))), "unit": nfc(_col(table, "unit")),
              "measure": measure, "value": value, "city_scope": scope,
              "delivered_at": _col(table, "_ingested_at").cast(pa.timestamp("us", tz="UTC"))}
    completeness = _completeness(n, [values["value"], values["unit"], values["label"]])
    return _assemble(SCHEMA, values, _record_id(table, RECORD_KEY), reason, detail, completeness)



def clean_monthly(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``monthly_indicator`` cells (KTXH_thang_MM_YYYY.xlsx) -> :data:`SCHEMA` rows."""
    return _clean(batch, as_of, quarterly=False)


def clean_quarterly(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``quarterly_indicator`` cells (KTXH_quy_Q_YYYY.xlsx) -> :data:`SCHEMA` rows."""
    return _clean(batch, as_of, quarterly=True)


# -- declarations ---------------------------------------------------------------------------------------

_BUSINESS_KEY = ("period_start", "sheet", "indicator_code", "measure")

MONTHLY_INDICATOR = ProcessedTable(
    domain=DOMAIN, name="monthly_indicator", raw=TableRef(Zone.RAW, DOMAIN, "monthly_indicator"),
    record_key=RECORD_KEY, clean=clean_monthly, schema=SCHEMA,
    business_key=_BUSINESS_KEY, source_timestamp="delivered_at",
    description="Monthly socio-economic report cells (budget, banking, IIP, retail, transport, trade, CPI, "
                "investment, public order) as tidy rows: period, indicator, measure, value, city scope.",
    term_vi="chỉ tiêu kinh tế - xã hội hằng tháng", owner=OWNER, column_docs=_docs("month"),
)
QUARTERLY_INDICATOR = ProcessedTable(
    domain=DOMAIN, name="quarterly_indicator", raw=TableRef(Zone.RAW, DOMAIN, "quarterly_indicator"),
    record_key=RECORD_KEY, clean=clean_quarterly, schema=SCHEMA,
    business_key=_BUSINESS_KEY, source_timestamp="delivered_at",
    description="Quarterly socio-economic report cells (GRDP, investment, population and labour, social and "
                "environment) as tidy rows: period, indicator, measure, value, city scope.",
    term_vi="chỉ tiêu kinh tế - xã hội hằng quý", owner=OWNER, column_docs=_docs("quarter"),
)

TABLES = [MONTHLY_INDICATOR, QUARTERLY_INDICATOR]
