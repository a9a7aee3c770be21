"""The run log (``_system/pipeline/run_log``) and quality results (``_system/quality/quality_results``).

One row per pipeline step and batch: what it read, wrote, quarantined and how long it took.
``kho status`` and the demo summary read it; operators query it like any Delta table.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterator

from kho.lake import QUALITY_RESULTS, RUN_LOG, delta_append
from kho.settings import Settings

RUN_LOG_COLUMNS = ("run_id", "dag_id", "step", "logical_date", "batch_id", "target", "status", "rows_in",
                   "rows_out", "rows_quarantined", "rows_duplicate", "delta_version", "started_at",
                   "finished_at", "seconds", "details")


@dataclass
class StepRecord:
    """Filled in by the step while it runs; written when it ends, whether it succeeded or not."""

    step: str
    logical_date: date
    run_id: str = ""
    dag_id: str = ""
    batch_id: str | None = None
    target: str | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    rows_quarantined: int | None = None
    rows_duplicate: int | None = None
    delta_version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _arrow_row_table(rows: list[dict[str, Any]], schema):
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema)


def _run_log_schema():
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("dag_id", pa.string()), ("step", pa.string()), ("logical_date", pa.date32()),
        ("batch_id", pa.string()), ("target", pa.string()), ("status", pa.string()), ("rows_in", pa.int64()),
        ("rows_out", pa.int64()), ("rows_quarantined", pa.int64()), ("rows_duplicate", pa.int64()),
        ("delta_version", pa.int64()), ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")), ("seconds", pa.float64()), ("details", pa.string()),
    ])


@contextmanager
def step(settings: Settings, name: str, logical_date: date, *, run_id: str = "", dag_id: str = "") -> Iterator[StepRecord]:
    """Time a pipeline step and append its run-log row, with status ``failed`` and the error on failure."""
    record = StepRecord(step=name, logical_date=logical_date, run_id=run_id, dag_id=dag_id)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    status = "success"
    try:
        yield record
    except BaseException as exc:
        status = "failed"
        record.details.setdefault("error", f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        row = {**{k: getattr(record, k) for k in RUN_LOG_COLUMNS if hasattr(record, k) and k != "details"},
               "status": status, "started_at": started, "finished_at": datetime.now(timezone.utc),
               "seconds": round(time.perf_counter() - t0, 3),
               "details": json.dumps(record.details, default=str, ensure_ascii=False)}
        delta_append(RUN_LOG.path(settings), _arrow_row_table([row], _run_log_schema()))


QUALITY_COLUMNS = {
    "suite": "string", "target": "string", "zone": "string", "batch_id": "string", "logical_date": "string",
    "run_id": "string", "run_time": "string", "passed": "bool_", "expectation": "string", "column": "string",
    "severity": "string", "success": "bool_", "element_count": "int64", "unexpected_count": "int64",
    "unexpected_percent": "float64", "observed_value": "string", "exception": "string", "duration_s": "float64",
    "data_docs": "string",
}


def write_quality_rows(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """Append one row per evaluated expectation to ``_system/quality/quality_results`` (fixed schema)."""
    if not rows:
        return
    import pyarrow as pa

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in QUALITY_COLUMNS.items()])
    table = pa.Table.from_pylist([{k: r.get(k) for k in QUALITY_COLUMNS} for r in rows], schema=schema)
    delta_append(QUALITY_RESULTS.path(settings), table)
