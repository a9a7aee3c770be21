"""Connectors by transport; :func:`connector_for` picks one for a registry object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kho.ingest.connectors.base import Connector, CursorWindow, SourceSchemaError

if TYPE_CHECKING:
    from kho.ingest.connections import Connection
    from kho.ingest.registry import ObjectConfig, SourceConfig
    from kho.settings import Settings

__all__ = ["Connector", "CursorWindow", "SourceSchemaError", "connector_for"]


def connector_for(source: SourceConfig, obj: ObjectConfig, connection: Connection, settings: Settings) -> Connector:
    """The connector class serving ``source.transport`` (and ``obj.engine`` for databases)."""
    if source.transport == "direct":
        if obj.engine == "spark":
            from kho.ingest.connectors.spark_jdbc import SparkJdbcConnector

            return SparkJdbcConnector(source, connection, settings)
        from kho.ingest.connectors.sql import SqlConnector

        return SqlConnector(source, connection, settings)
    if source.transport == "lgsp_api":
        from kho.ingest.connectors.rest import RestConnector

        return RestConnector(source, connection, settings)
    raise ValueError(f"transport {source.transport!r} is loaded by the file connector (kho.ingest.files), "
                     "not a row connector")
