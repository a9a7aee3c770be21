"""Ingestion: the source registry (``kho.ingest.registry``) and, later, the connectors that read it.

Every source system is declared once, in ``kho/ingest/sources/<system>.yaml``: who owns it, how
it is reached, how often, and for each object (table, file pattern or API endpoint) how it is
loaded into the raw zone, its keys, its schema contract and its personal-data columns. DAGs,
connectors, watermarks and backfills are built from these declarations (docs/connectors.md).
"""
