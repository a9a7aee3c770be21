"""The population (cư trú) cleaning of the processed zone, on a whole batch at once.

:func:`clean_population` is the vectorised ``spark_jobs.population_processed.clean_record``:
same output columns and values, same reject reason and detail per row (tested on generated
data in tests/unit/test_standardise_population.py), one Arrow table per batch. It is meant
for ``mapInArrow``::

    def clean(batches):
        for batch in batches:
            yield from clean_population(batch, as_of, include_raw=True).to_batches()

One deliberate difference, on by default (``resolve_split_from_address``): a pre-2025 unit
code of a split unit is resolved when the address names one of its current successors
(``commune_code_source`` = "address"); clean_record quarantines it as ADMIN_UNIT_SPLIT.

Timestamps: source systems write Vietnam wall time. ``mapInPandas`` reads a naive pandas
timestamp in the Spark session time zone, but ``mapInArrow`` reads a naive Arrow timestamp
as UTC, which would shift every ``updated_at`` by 7 hours. So ``updated_at`` comes out as an
instant tagged ``Asia/Ho_Chi_Minh`` (``timestamp_tz``), right under both; pass
``timestamp_tz=None`` for naive wall time (what clean_record's Python datetimes are).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kho.cleaning import MIN_BIRTH_DATE
from kho.standardise._arrow import as_array, as_strings, reason_where, replace_rows, valid_mask
from kho.standardise.codes import normalize_sex
from kho.standardise.dates import parse_dates, parse_timestamps
from kho.standardise.identifiers import check_cccd
from kho.standardise.reasons import REASONS
from kho.standardise.text import has_diacritics, nfc, standardized_name_dictionary
from kho.standardise.units import resolve_unit_codes

__all__ = ["SOURCE_COLUMNS", "OUTPUT_SCHEMA", "REJECT_ORDER", "LOCAL_TZ_NAME", "clean_population"]

LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"

# Source column (Vietnamese, as the residence system names it) -> processed column.
SOURCE_COLUMNS = {"id": "record_id", "so_dinh_danh": "cccd", "ho_ten": "full_name", "ngay_sinh": "birth_date",
                  "gioi_tinh": "sex", "ma_dvhc": "commune_code", "dia_chi": "address", "ngay_cap_nhat": "updated_at"}

OUTPUT_SCHEMA = pa.schema([
    ("record_id", pa.int64()), ("cccd", pa.string()), ("full_name", pa.string()), ("birth_date", pa.date32()),
    ("sex", pa.string()), ("commune_code", pa.string()), ("address", pa.string()),
    ("updated_at", pa.timestamp("us", tz=LOCAL_TZ_NAME)), ("name_has_diacritics", pa.bool_()),
    ("commune_code_source", pa.string()),
    ("_batch_id", pa.string()), ("_record_hash", pa.string()), ("_reject_reason", pa.string()),
    ("_reject_detail", pa.string()), ("_raw", pa.string()),
])
"""The columns of spark_jobs.population_processed.CLEAN_SCHEMA, as Arrow types."""

# The first failing check names the row's reason, in clean_record's order.
REJECT_ORDER = ("birth", "sex", "cccd", "name", "unit")


def _table(batch: pa.Table | pa.RecordBatch | pd.DataFrame) -> pa.Table:
    if isinstance(batch, pd.DataFrame):
        return pa.Table.from_pandas(batch, preserve_index=False)
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if any(column.num_chunks > 1 for column in batch.columns):
        return batch.combine_chunks()
    return batch


def _column(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return as_array(table[name])


def _details(codes: list[str], raws: dict[str, list[Any]], as_of: date) -> list[str]:
    """clean_record's detail sentences, for the rejected rows only (few; Python is fine here)."""
    out = []
    for k, code in enumerate(codes):
        if code == "BIRTH_DATE_INVALID":
            out.append(f"birth date {raws['ngay_sinh'][k]!r} is not a valid date up to {as_of}")
        elif code == "SEX_INVALID":
            out.append(f"sex {raws['gioi_tinh'][k]!r} is not Nam/Nữ")
        elif code.startswith("CCCD_"):
            out.append(f"{REASONS[code]}: {raws['so_dinh_danh'][k]!r}")
        elif code == "NAME_MISSING":
            out.append(REASONS["NAME_MISSING"])
        else:
            out.append(f"{REASONS[code]}: {raws['ma_dvhc'][k]!r}")
    return out


def _raw_json(table: pa.Table, columns: list[str], rows: np.ndarray) -> list[str]:
    """The raw record as clean_record's job writes it to the quarantine (json, NaN as null)."""
    sub = table.select(columns).take(pa.array(rows)).to_pylist()
    out = []
    for rec in sub:
        rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
        out.append(json.dumps(rec, ensure_ascii=False, default=str))
    return out


_FIXED_OFFSET_SINCE = datetime(1976, 1, 1)     # Vietnam has kept UTC+7 since the 1975 reunification
_FIXED_OFFSETS = {LOCAL_TZ_NAME: timedelta(hours=7)}


def _local_instants(values: pa.Array, tz: str) -> pa.Array:
    """Naive wall times -> instants tagged ``tz``. A fixed-offset shift when every value lies in
    the offset's era (20x cheaper than a time-zone database lookup per value), else Arrow's
    ``assume_timezone``."""
    offset = _FIXED_OFFSETS.get(tz)
    earliest = pc.min(values).as_py()
    if offset is None or (earliest is not None and earliest < _FIXED_OFFSET_SINCE):
        return pc.assume_timezone(values, tz)
    micros = pc.subtract(values.cast(pa.int64()), int(offset / timedelta(microseconds=1)))
    return micros.cast(pa.timestamp("us", tz=tz))


def clean_population(batch: pa.Table | pa.RecordBatch | pd.DataFrame, as_of: date, *,
                     resolve_split_from_address: bool = True, include_raw: bool = False,
                     timestamp_tz: str | None = LOCAL_TZ_NAME) -> pa.Table:
    """Clean a raw ``cong_dan`` batch (Vietnamese source columns plus ingestion columns).

    Returns :data:`OUTPUT_SCHEMA` rows (``updated_at`` naive when ``timestamp_tz`` is None),
    one per input row, in input order. ``_raw`` (the JSON of the source columns, for the
    quarantine) is filled only for rejected rows and only when ``include_raw``: valid rows
    never need it.
    """
    table = _table(batch)
    n = table.num_rows
    source_columns = [c for c in table.column_names if not c.startswith("_")]

    names, name_idx = standardized_name_dictionary(_column(table, "ho_ten"))
    full_name = names.take(name_idx)
    name_flags = has_diacritics(names).take(name_idx).fill_null(False)
    birth = parse_dates(_column(table, "ngay_sinh"))
    sex = normalize_sex(_column(table, "gioi_tinh"))
    cccd = check_cccd(_column(table, "so_dinh_danh"), birth.values, sex.values)
    address = nfc(_column(table, "dia_chi"))
    units = resolve_unit_codes(_column(table, "ma_dvhc"),
                               addresses=address if resolve_split_from_address else None)
    updated = parse_timestamps(_column(table, "ngay_cap_nhat"))

    birth_days = birth.values.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
    low, high = (MIN_BIRTH_DATE - date(1970, 1, 1)).days, (as_of - date(1970, 1, 1)).days
    birth_bad = ~valid_mask(birth.values) | (birth_days < low) | (birth_days > high)
    checks = {
        "birth": reason_where(birth_bad, "BIRTH_DATE_INVALID"),
        "sex": sex.reasons,
        "cccd": cccd.reasons,
        "name": reason_where(~valid_mask(full_name), "NAME_MISSING"),
        "unit": units.reasons,
    }
    reason = pc.coalesce(*(checks[key] for key in REJECT_ORDER))     # the first failing check wins
    rejected = np.flatnonzero(valid_mask(reason))
    detail = pa.nulls(n, pa.string())
    raw_json = pa.nulls(n, pa.string())
    if len(rejected):
        take = pa.array(rejected)
        raws = {c: _column(table, c).take(take).to_pylist()
                for c in ("ngay_sinh", "gioi_tinh", "so_dinh_danh", "ma_dvhc")}
        detail = replace_rows(detail, rejected, pa.array(_details(reason.take(take).to_pylist(), raws, as_of),
                                                         pa.string()))
        if include_raw:
            raw_json = replace_rows(raw_json, rejected,
                                    pa.array(_raw_json(table, source_columns, rejected), pa.string()))

    record_id = _column(table, "id")
    if not pa.types.is_int64(record_id.type):
        record_id = pc.cast(pc.utf8_trim_whitespace(as_strings(record_id)) if not pa.types.is_integer(record_id.type)
                            else record_id, pa.int64())
    columns = {
        "record_id": record_id, "cccd": cccd.values, "full_name": full_name, "birth_date": birth.values,
        "sex": sex.values, "commune_code": units.codes, "address": address, "updated_at": updated.values,
        "name_has_diacritics": name_flags, "commune_code_source": units.how,
        "_batch_id": as_strings(_column(table, "_batch_id")),
        "_record_hash": as_strings(_column(table, "_record_hash")),
        "_reject_reason": reason, "_reject_detail": detail, "_raw": raw_json,
    }
    schema = OUTPUT_SCHEMA
    if timestamp_tz is None:
        schema = schema.set(schema.get_field_index("updated_at"), pa.field("updated_at", pa.timestamp("us")))
    else:
        columns["updated_at"] = _local_instants(columns["updated_at"], timestamp_tz)
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in schema], schema=schema)
