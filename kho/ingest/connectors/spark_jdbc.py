"""Databases too large for one process: Spark JDBC with partitioned parallel reads.

Chosen per object in the registry (``engine: spark``, ``partition_column``, ``read_partitions``).
Spark splits the key range of ``partition_column`` into ``read_partitions`` JDBC queries run
by the executors in parallel (on the cluster profile, on the workers); the rows come back to
the loader as Arrow, so deduplication, diff, schema policy and the commit are the same code
as the single-process path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kho.ingest.connectors.base import CursorWindow
from kho.ingest.connectors.sql import SqlConnector
from kho.ingest.types import conform
from kho.sqlquote import sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.ingest.registry import ObjectConfig


class SparkJdbcConnector(SqlConnector):
    """Same catalogue checks as :class:`SqlConnector`; the read itself runs on Spark."""

    transports = ("direct",)

    def read(self, obj: ObjectConfig, window: CursorWindow | None = None) -> Iterator[pa.Table]:
        from kho.sources.dbapi import jdbc_options
        from kho.spark import get_spark

        found = self.source_columns(obj)
        self._check(obj, found)
        columns = list(found)
        sql, params = self.query(obj, columns, window)
        for name, value in params.items():  # JDBC takes no bind parameters here: inline quoted literals
            sql = sql.replace(f":{name}", sql_literal(str(value)))
        spark = get_spark(self.settings, app_name=f"kho-ingest-{self.source.system}")
        options = jdbc_options(self.connection.sqlalchemy_url()) | {"fetchsize": "10000", "preferTimestampNTZ": "true"}
        part = obj.partition_column
        bounds = (spark.read.format("jdbc").options(**options)
                  .option("query", f"SELECT min({self._quote(part)}) AS lo, max({self._quote(part)}) AS hi "
                                   f"FROM ({sql}) q").load().collect()[0])
        reader = spark.read.format("jdbc").options(**options).option("dbtable", f"({sql}) kho_src")
        if bounds["lo"] is not None and obj.read_partitions > 1:
            reader = reader.options(partitionColumn=part, lowerBound=str(int(bounds["lo"])),
                                    upperBound=str(int(bounds["hi"]) + 1), numPartitions=str(obj.read_partitions))
        table = reader.load().toArrow()
        declared = {c.name: c.type for c in obj.expected_schema}
        yield conform(table.select(columns), declared, self._where(obj))

    def describe(self, obj: ObjectConfig) -> dict[str, Any]:
        return super().describe(obj) | {"engine": "spark", "partition_column": obj.partition_column,
                                        "read_partitions": obj.read_partitions}
