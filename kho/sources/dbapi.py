"""Plain DB-API connections to the sector databases from a SQLAlchemy-style URL.

The generators write with DB-API directly (no ORM): bulk inserts in chunks are the
whole job, and each driver's fastest path differs (executemany, execute_values).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote, urlparse


def dialect(url: str) -> str:
    scheme = urlparse(url).scheme.split("+")[0]
    if scheme in ("sqlite", "postgresql", "mysql", "mariadb"):
        return "mysql" if scheme == "mariadb" else scheme
    raise ValueError(f"unsupported source database URL {url!r}: use sqlite:///, postgresql:// or mysql://")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


@contextmanager
def connect(url: str) -> Iterator[Any]:
    kind = dialect(url)
    if kind == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path)
    elif kind == "postgresql":
        import psycopg2

        con = psycopg2.connect(url)
    else:
        import pymysql

        u = urlparse(url)
        con = pymysql.connect(host=u.hostname, port=u.port or 3306, user=unquote(u.username or ""),
                              password=unquote(u.password or ""), database=u.path.lstrip("/"),
                              charset="utf8mb4")
    try:
        yield con
        con.commit()
    finally:
        con.close()


def insert_many(con: Any, url: str, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    rows = list(rows)
    if not rows:
        return 0
    cols = ", ".join(columns)
    kind = dialect(url)
    cur = con.cursor()
    if kind == "postgresql":
        from psycopg2.extras import execute_values

        execute_values(cur, f"INSERT INTO {table} ({cols}) VALUES %s", rows, page_size=5000)
    else:
        marks = ", ".join(["?" if kind == "sqlite" else "%s"] * len(columns))
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
    return len(rows)


def jdbc_options(url: str) -> dict[str, str]:
    """Spark JDBC options (url, driver, user, password) for a SQLAlchemy-style URL."""
    kind = dialect(url)
    if kind == "sqlite":
        return {"url": f"jdbc:sqlite:{sqlite_path(url)}", "driver": "org.sqlite.JDBC"}
    u = urlparse(url)
    opts = {"user": unquote(u.username or ""), "password": unquote(u.password or "")}
    # the URL's query (e.g. options=-csearch_path=...): Spark hands every option it does not
    # know to the driver as a connection property, and both drivers read these names
    opts |= {k: v for k, v in parse_qsl(u.query) if k in ("options", "sslmode", "sslrootcert", "connectTimeout")}
    if kind == "postgresql":
        opts |= {"url": f"jdbc:postgresql://{u.hostname}:{u.port or 5432}{u.path}",
                 "driver": "org.postgresql.Driver"}
    else:
        opts |= {"url": f"jdbc:mariadb://{u.hostname}:{u.port or 3306}{u.path}",
                 "driver": "org.mariadb.jdbc.Driver"}
    return opts
