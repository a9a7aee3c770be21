"""What every connector does: read one registry object's rows, as the source delivers them.

A connector knows a protocol (a SQL database, an LGSP REST API, a drop folder, Spark JDBC)
and nothing about the lake: :mod:`kho.ingest.loader` turns what it yields into one raw batch
(hashes, diff against raw, schema policy, one Delta commit, run log). A new protocol is one
short subclass of :class:`Connector` registered in :data:`CONNECTORS`.

Rows are yielded as Arrow tables (or record batches) whose column names are the source's
own names. Typed sources (databases) keep their types, cast to the declared
``expected_schema`` type where the declaration says so; untyped sources (files, JSON) give
text or JSON values that the connector casts to the declared type. Extra columns the source
has and the registry does not declare are yielded too: the loader decides, by schema
policy, whether they evolve raw or fail the batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.ingest.connections import Connection
    from kho.ingest.registry import ObjectConfig, SourceConfig
    from kho.settings import Settings


@dataclass(frozen=True)
class CursorWindow:
    """The cursor range one incremental run reads: ``lower <= cursor < upper``.

    Bounds are text in the cursor's own form and the source's local time (the sector
    systems store Vietnamese local time without a zone): ``YYYY-MM-DD`` for a date cursor,
    ``YYYY-MM-DD HH:MM:SS`` for timestamp and ISO-text cursors. ``None`` means unbounded.
    """

    lower: str | None = None
    upper: str | None = None

    def contains(self, value: str | None) -> bool:
        """Whether a cursor value (text, same form) falls in the window; ``None`` never does."""
        if value is None:
            return False
        return (self.lower is None or value >= self.lower) and (self.upper is None or value < self.upper)


class SourceSchemaError(ValueError):
    """The source's own schema contradicts the registry (a declared column is missing or retyped).

    Raised by connectors that can see the source schema before reading (databases); the
    message names the column, what was declared and what the source has.
    """


class Connector(ABC):
    """Reads the objects of one source system. One instance per task run; not thread-safe."""

    #: registry transports this connector serves
    transports: ClassVar[tuple[str, ...]] = ()

    def __init__(self, source: SourceConfig, connection: Connection, settings: Settings) -> None:
        self.source = source
        self.connection = connection
        self.settings = settings

    @abstractmethod
    def read(self, obj: ObjectConfig, window: CursorWindow | None = None) -> Iterator[pa.Table | pa.RecordBatch]:
        """Yield the rows of ``obj`` (all of them, or those in ``window`` for incremental objects).

        Must be restartable: calling it again reads the same rows again (the loader retries a
        whole batch, never half of one). Raise :class:`SourceSchemaError` as early as possible
        when the source schema cannot satisfy the declaration.
        """

    def describe(self, obj: ObjectConfig) -> dict[str, Any]:
        """Where ``obj`` is read from, for logs and the run log (never a secret)."""
        return {"transport": self.source.transport, "source": obj.source, "connection_id": self.source.connection_id}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and sessions."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
