"""What a processed table is: its raw input, its keys, its cleaning rule and its metadata.

One :class:`ProcessedTable` per processed table is the single place that describes it
(issue 5 item 6): the Spark job reads keys, partitioning and survivorship from it, the
catalog reads owner, description, Vietnamese term and PII columns from it.

The cleaning rule ``clean(batch, as_of) -> pa.Table`` is pure Arrow, so it runs inside
Spark's ``mapInArrow`` on whole batches and in unit tests without Spark. It receives raw
rows (the source columns as raw holds them, plus the ingestion columns ``_batch_id``,
``_record_hash`` ...) and returns one row per input row, in the same order, with:

* every column of ``schema`` (typed, standardised: trimmed, NFC, names, identifiers, dates,
  unit codes through the crosswalk ...);
* ``record_id`` (string): the source record's identity (its raw primary key as text);
* ``_reject_reason`` (string, null when the row is valid): a reason code of
  ``kho.standardise.reasons.REASONS``; ``_reject_detail`` (string): what exactly was wrong,
  for a person reading the quarantine (e.g. "ngay_sinh '31/02/1990' is not a date");
* ``_completeness`` (int32): how many of the business-relevant columns are non-null, the
  survivorship tie-breaker after the source timestamp.

The job adds ``_batch_id``, ``_record_hash`` and the raw record JSON for quarantined rows
itself; a rule never drops or adds rows (reconciliation counts them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from kho.lake import TableRef, Zone

if TYPE_CHECKING:
    import pyarrow as pa

#: The columns every cleaning rule adds to its ``schema`` columns.
RULE_COLUMNS = ("record_id", "_reject_reason", "_reject_detail", "_completeness")


@dataclass(frozen=True)
class ProcessedTable:
    """A processed table ``processed/<domain>/<name>`` built from one raw table."""

    domain: str
    name: str
    raw: TableRef                         # the raw table it reads
    record_key: tuple[str, ...]           # raw primary key: identity of a source record
    clean: Callable[[pa.Table, date], pa.Table]
    schema: pa.Schema                     # output columns (without the RULE_COLUMNS)
    business_key: tuple[str, ...] = ()    # output columns survivorship de-duplicates on; () = no dedup
    source_timestamp: str | None = None   # output column: latest wins in survivorship
    description: str = ""                 # English
    term_vi: str = ""                     # the Vietnamese term (e.g. "công dân")
    owner: str = ""                       # the owning agency of the source data
    pii_columns: tuple[str, ...] = ()     # output columns holding personal data
    partition_by: tuple[str, ...] = ()
    column_docs: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> TableRef:
        return TableRef(Zone.PROCESSED, self.domain, self.name)

    @property
    def quarantine(self) -> TableRef:
        return TableRef(Zone.QUARANTINE, self.domain, self.name)

    @property
    def duplicates(self) -> TableRef:
        return TableRef(Zone.PROCESSED, self.domain, f"{self.name}_duplicates")

    @property
    def collapsed(self) -> TableRef:
        """Exact copies of a source record within one batch, logged as they are merged into one."""
        return TableRef(Zone.PROCESSED, self.domain, f"{self.name}_collapsed")

    @property
    def records(self) -> TableRef:
        """Every valid cleaned source record (by record_id), before survivorship."""
        return TableRef(Zone.PROCESSED, self.domain, f"{self.name}_records")
