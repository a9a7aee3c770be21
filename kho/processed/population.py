"""Residence register (cư trú) -> processed/population/citizen: one row per CCCD.

The cleaning rule is :func:`kho.standardise.population.clean_population` (vectorised; equal
to the row rules of kho.cleaning, plus split units resolved from the address). Survivorship
per CCCD: latest update, then completeness (name, address, update time), then record id.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.standardise.population import OUTPUT_SCHEMA, clean_population

_JOB_COLUMNS = {"record_id", "_batch_id", "_record_hash", "_reject_reason", "_reject_detail", "_raw"}
SCHEMA = pa.schema([f for f in OUTPUT_SCHEMA if f.name not in _JOB_COLUMNS])
COMPLETENESS = ("full_name", "address", "updated_at")


def clean(batch: pa.Table, as_of: date) -> pa.Table:
    out = clean_population(batch, as_of)
    filled = pa.repeat(pa.scalar(0, pa.int32()), out.num_rows)
    for column in COMPLETENESS:
        filled = pc.add(filled, pc.cast(pc.is_valid(out[column]), pa.int32()))
    return out.append_column("_completeness", pc.cast(filled, pa.int32()))


TABLES = [
    ProcessedTable(
        domain="population", name="citizen", raw=TableRef(Zone.RAW, "population", "citizen"),
        record_key=("id",), clean=clean, schema=SCHEMA, business_key=("cccd",), source_timestamp="updated_at",
        description="Registered residents, one row per CCCD, cleaned and de-duplicated",
        term_vi="công dân (cơ sở dữ liệu cư trú)", owner="Công an thành phố (City Police)",
        pii_columns=("cccd", "full_name", "birth_date", "address"),
        column_docs={"cccd": "personal identification number (số định danh cá nhân, CCCD)",
                     "full_name": "full name, standardised (họ tên)", "birth_date": "birth date (ngày sinh)",
                     "sex": "M / F (giới tính)", "commune_code": "current commune-level unit code (mã đơn vị hành chính)",
                     "address": "address, NFC (địa chỉ)", "updated_at": "last update in the register (ngày cập nhật)",
                     "name_has_diacritics": "the name is written with Vietnamese diacritics",
                     "commune_code_source": "how the unit code was found: source, crosswalk, address"},
    ),
]
