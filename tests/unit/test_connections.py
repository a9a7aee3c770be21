"""kho.ingest.connections: Airflow-style connection URIs -> what the connectors open.

The query of a URI becomes ``extra`` (Airflow's convention); the driver's own parameters among
them (a PostgreSQL schema through ``options``, TLS, time-outs) must reach the driver both
through SQLAlchemy and through Spark's JDBC reader, or a department whose tables live outside
the default schema reads the wrong tables, or none.
"""

from __future__ import annotations

from kho.ingest.connections import parse_uri
from kho.sources.dbapi import jdbc_options

PG = "postgresql://kho:s3cr%40t@db.so-tp.local:5432/ho_tich?options=-csearch_path%3Dho_tich&sslmode=require"


def test_a_uri_query_lands_in_extra() -> None:
    conn = parse_uri("kho_src_civil_status", PG)
    assert conn.conn_type == "postgresql" and conn.host == "db.so-tp.local" and conn.port == 5432
    assert conn.login == "kho" and conn.password == "s3cr@t" and conn.schema == "ho_tich"
    assert conn.extra == {"options": "-csearch_path=ho_tich", "sslmode": "require"}


def test_driver_parameters_reach_sqlalchemy() -> None:
    url = parse_uri("c", PG).sqlalchemy_url()
    assert url == ("postgresql://kho:s3cr%40t@db.so-tp.local:5432/ho_tich"
                   "?options=-csearch_path%3Dho_tich&sslmode=require")
    import psycopg2.extensions

    dsn = psycopg2.extensions.parse_dsn(url)
    assert dsn["options"] == "-csearch_path=ho_tich" and dsn["password"] == "s3cr@t"


def test_other_extras_stay_out_of_the_driver_url() -> None:
    url = parse_uri("c", "mysql://kho:kho@127.0.0.1:3306/dkkd?fetch_size=5000&connect_timeout=10").sqlalchemy_url()
    assert url == "mysql://kho:kho@127.0.0.1:3306/dkkd?connect_timeout=10"
    assert parse_uri("c", "postgresql://kho@h/db").sqlalchemy_url() == "postgresql://kho@h/db"


def test_the_schema_reaches_spark_jdbc_as_a_driver_property() -> None:
    opts = jdbc_options(parse_uri("c", PG).sqlalchemy_url())
    assert opts["url"] == "jdbc:postgresql://db.so-tp.local:5432/ho_tich"
    assert opts["options"] == "-csearch_path=ho_tich" and opts["sslmode"] == "require"
    assert opts["user"] == "kho" and opts["password"] == "s3cr@t"
