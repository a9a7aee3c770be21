"""DuckDB connections with the Delta and httpfs extensions loaded offline.

DuckDB cannot download extensions here; the PyPI wheels duckdb-ext-delta/-httpfs ship
them, and ``duckdb_ext.init`` points DuckDB at that folder and turns auto-install off.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def extension_dir() -> str:
    import duckdb_ext

    return str(Path(duckdb_ext.__file__).parent / "extensions")


def connect(path: str | Path = ":memory:", *, read_only: bool = False,
            external_access: bool = True) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with the offline extension folder; ``external_access=False`` locks files out."""
    config = {
        "extension_directory": extension_dir(),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }
    if not external_access:
        config["enable_external_access"] = False
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    if external_access:
        con.execute("LOAD delta")
        _s3_secret(con)
    return con


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """On an S3 lake, an S3 secret (endpoint, keys, path-style URLs) so delta_scan reads s3://."""
    from kho.lake import is_object_store
    from kho.settings import get_settings

    if not is_object_store(get_settings().lake_root):
        return
    from kho.storage import duckdb_create_secret_sql, s3_settings_from_env

    s3 = s3_settings_from_env()
    if s3 is not None:
        con.execute("LOAD httpfs")
        con.execute(duckdb_create_secret_sql(s3))
