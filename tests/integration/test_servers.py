"""Smoke tests for the local test servers (infra/local/*.sh).

Each one connects with the driver Kho uses, creates a table, stores a
Vietnamese string and reads it back. Besides equality on the Python side, the
server-side character and byte lengths are checked: a connection-charset
mismatch (e.g. latin1 somewhere on the way) can round-trip mojibake that still
compares equal in Python while the server holds the wrong bytes.
"""

from __future__ import annotations

import unicodedata
import uuid
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.integration

# NFC (precomposed), as Vietnamese text normally arrives; normalise explicitly
# so an editor that saves NFD cannot silently change what is being tested.
VI_TEXT = unicodedata.normalize("NFC", "Phường Thủy Nguyên")


def _table_name() -> str:
    return f"kho_smoke_{uuid.uuid4().hex[:12]}"


def test_postgres_utf8_roundtrip(pg_dsn: str) -> None:
    import psycopg2

    table = _table_name()
    conn = psycopg2.connect(pg_dsn, connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SHOW server_encoding")
            assert cur.fetchone()[0] == "UTF8"
            cur.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, name text NOT NULL)")
            try:
                cur.execute(f"INSERT INTO {table} (name) VALUES (%s) RETURNING id", (VI_TEXT,))
                row_id = cur.fetchone()[0]
                cur.execute(
                    f"SELECT name, char_length(name), octet_length(name) FROM {table} WHERE id = %s",
                    (row_id,),
                )
                name, n_chars, n_bytes = cur.fetchone()
                assert name == VI_TEXT
                assert (n_chars, n_bytes) == (len(VI_TEXT), len(VI_TEXT.encode("utf-8")))
                cur.execute(f"SELECT count(*) FROM {table} WHERE name = %s", (VI_TEXT,))
                assert cur.fetchone()[0] == 1
            finally:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        conn.close()


def _mysql_connect_args(dsn: str) -> dict:
    parts = urlsplit(dsn)
    assert parts.scheme.split("+")[0] in ("mysql", "mariadb"), f"not a MySQL DSN: {dsn}"
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")),
        "charset": "utf8mb4",
        "connect_timeout": 10,
        "autocommit": True,
    }


def test_mariadb_utf8_roundtrip(mysql_dsn: str) -> None:
    import pymysql

    table = _table_name()
    conn = pymysql.connect(**_mysql_connect_args(mysql_dsn))
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, "
                f"name VARCHAR(255) NOT NULL) CHARACTER SET utf8mb4"
            )
            try:
                cur.execute(f"INSERT INTO {table} (name) VALUES (%s)", (VI_TEXT,))
                row_id = cur.lastrowid
                cur.execute(
                    f"SELECT name, CHAR_LENGTH(name), OCTET_LENGTH(name) FROM {table} WHERE id = %s",
                    (row_id,),
                )
                name, n_chars, n_bytes = cur.fetchone()
                assert name == VI_TEXT
                assert (n_chars, n_bytes) == (len(VI_TEXT), len(VI_TEXT.encode("utf-8")))
                cur.execute(f"SELECT COUNT(*) FROM {table} WHERE name = %s", (VI_TEXT,))
                assert cur.fetchone()[0] == 1
            finally:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        conn.close()
