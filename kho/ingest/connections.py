"""Where a source's ``connection_id`` points: Airflow connections, never the repository.

Resolution order, first hit wins:

1. the environment variable ``AIRFLOW_CONN_<CONNECTION_ID>`` (upper case), as a URI
   (``postgresql://user:pass@host:5432/db``) or Airflow's JSON form
   (``{"conn_type": "http", "host": "...", "login": "...", "password": "...", "extra": {...}}``).
   This is Airflow's own convention, so the same variable serves a DAG run and ``kho backfill``;
2. the Airflow metadata database (``airflow connections add ...``), when Airflow is configured;
3. on the embedded profile only, the local development default for the system: its SQLite
   file or drop folder under ``.kho/sources`` and the LGSP server of ``kho sources api``
   with its development client. Other profiles fail with the command to fix it.

Secrets stay in the :class:`Connection` object; :meth:`Connection.redacted` is what logs show.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

if TYPE_CHECKING:
    from kho.ingest.registry import SourceConfig
    from kho.settings import Settings

log = logging.getLogger(__name__)

_SQL_SCHEMES = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql",
                "sqlite": "sqlite"}
LGSP_DEV_URL = "http://kho-dev:kho-dev-secret@127.0.0.1:8089"
# Extras of a SQL connection that are the driver's own connection parameters, passed on in
# the URL (Airflow keeps a URI's query in ``extra``): a department's tables in a schema of
# their own (``options=-csearch_path=ho_tich``), TLS, time-outs. Anything else in ``extra``
# is Kho's (or Airflow's) and stays out of the driver's way.
_DRIVER_PARAMS = {
    "postgresql": ("options", "sslmode", "sslrootcert", "sslcert", "sslkey", "application_name",
                   "connect_timeout", "target_session_attrs"),
    "mysql": ("connect_timeout", "read_timeout", "ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_cert"),
}


class ConnectionNotFound(LookupError):
    """No connection is configured for a source; the message says how to add one."""


@dataclass(frozen=True)
class Connection:
    conn_id: str
    conn_type: str                      # postgresql | mysql | sqlite | http | https | file
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None           # database name (SQL), base path (http)
    extra: dict[str, Any] = field(default_factory=dict)
    origin: str = ""                    # env | airflow | profile default

    # -- the forms connectors need ---------------------------------------------------------
    def sqlalchemy_url(self) -> str:
        """``postgresql://``, ``mysql://`` or ``sqlite:///`` URL (the driver is chosen by kho), with
        the driver's own parameters from ``extra`` as its query (``_DRIVER_PARAMS``)."""
        kind = _SQL_SCHEMES.get(self.conn_type)
        if kind is None:
            raise ValueError(f"connection {self.conn_id!r} is {self.conn_type!r}, not a SQL database")
        if kind == "sqlite":
            return f"sqlite:///{self.host or self.schema}"
        auth = ""
        if self.login:
            auth = quote(self.login, safe="") + (f":{quote(self.password, safe='')}" if self.password else "") + "@"
        port = f":{self.port}" if self.port else ""
        params = [(k, str(self.extra[k])) for k in _DRIVER_PARAMS.get(kind, ()) if self.extra.get(k) not in (None, "")]
        query = ("?" + urlencode(params, quote_via=quote)) if params else ""
        return f"{kind}://{auth}{self.host or '127.0.0.1'}{port}/{self.schema or ''}{query}"

    def base_url(self) -> str:
        """``http(s)://host:port[/base]`` of an API connection."""
        if self.conn_type not in ("http", "https"):
            raise ValueError(f"connection {self.conn_id!r} is {self.conn_type!r}, not http/https")
        port = f":{self.port}" if self.port else ""
        base = f"/{self.schema.strip('/')}" if self.schema else ""
        return f"{self.conn_type}://{self.host}{port}{base}"

    def folder(self) -> Path:
        """The drop folder of a file connection (``file:///drops/insurance`` or extra ``path``)."""
        path = self.extra.get("path") or self.host or self.schema
        if not path:
            raise ValueError(f"connection {self.conn_id!r} has no folder (give file:///<path> or extra.path)")
        return Path(path)

    def redacted(self) -> str:
        who = f"{self.login}:***@" if self.login else ""
        return f"{self.conn_type}://{who}{self.host or ''}{':' + str(self.port) if self.port else ''} ({self.origin})"


def parse_uri(conn_id: str, uri: str, origin: str = "env") -> Connection:
    """An Airflow-style connection URI or JSON document -> :class:`Connection`."""
    text = uri.strip()
    if text.startswith("{"):
        doc = json.loads(text)
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        return Connection(conn_id=conn_id, conn_type=_normal_type(doc.get("conn_type", "")), host=doc.get("host"),
                          port=int(doc["port"]) if doc.get("port") else None, login=doc.get("login"),
                          password=doc.get("password"), schema=doc.get("schema"), extra=extra, origin=origin)
    parts = urlsplit(text)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("sqlite", "file"):  # sqlite:////abs/path.sqlite, file:///abs/folder
        path = unquote(parts.path)
        if scheme == "sqlite" and text.startswith("sqlite:///"):
            path = text[len("sqlite:///"):].split("?")[0]
        return Connection(conn_id=conn_id, conn_type=scheme, host=path, origin=origin,
                          extra=dict(parse_qsl(parts.query)))
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra.pop("__extra__")) | extra
    return Connection(conn_id=conn_id, conn_type=_normal_type(scheme), host=parts.hostname, port=parts.port,
                      login=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None,
                      schema=unquote(parts.path.lstrip("/")) or None, extra=extra, origin=origin)


def _normal_type(kind: str) -> str:
    kind = kind.lower().replace("-", "_")
    return _SQL_SCHEMES.get(kind, kind)


def _from_airflow(conn_id: str) -> Connection | None:
    """The connection from Airflow's metadata database, if Airflow is configured and has it."""
    if not (os.environ.get("AIRFLOW_HOME") or os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")):
        return None
    try:
        from airflow.sdk import Connection as AirflowConnection

        conn = AirflowConnection.get(conn_id)
    except Exception as exc:  # not found, or no task context / no metadata DB reachable
        log.debug("Airflow has no connection %s: %s", conn_id, exc)
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    return Connection(conn_id=conn_id, conn_type=_normal_type(conn.conn_type or ""), host=conn.host,
                      port=conn.port, login=conn.login, password=conn.password, schema=conn.schema,
                      extra=dict(extra or {}), origin="airflow")


def _profile_default(source: SourceConfig, settings: Settings) -> Connection | None:
    if source.system in settings.sources:  # a URL in the profile (or KHO_SOURCE_<SYSTEM>_URL)
        return parse_uri(source.connection_id, settings.sources[source.system], origin="profile")
    if settings.profile != "embedded":
        return None
    if source.transport == "direct":
        path = settings.sources_dir / f"{source.system}.sqlite"
        return Connection(conn_id=source.connection_id, conn_type="sqlite", host=str(path), origin="embedded default")
    if source.transport in ("file_drop", "stream"):
        return Connection(conn_id=source.connection_id, conn_type="file", host=str(settings.sources_dir / source.system),
                          origin="embedded default")
    if source.transport == "lgsp_api":
        return parse_uri(source.connection_id, os.environ.get("KHO_LGSP_URL", LGSP_DEV_URL), origin="embedded default")
    return None


def resolve(source: SourceConfig, settings: Settings) -> Connection:
    """The connection of ``source`` (see the module docstring for the order)."""
    env_name = f"AIRFLOW_CONN_{source.connection_id.upper()}"
    if os.environ.get(env_name):
        return parse_uri(source.connection_id, os.environ[env_name], origin=f"env {env_name}")
    conn = _from_airflow(source.connection_id) or _profile_default(source, settings)
    if conn is None:
        raise ConnectionNotFound(
            f"no connection {source.connection_id!r} for source system {source.system!r}: set {env_name} "
            f"(e.g. postgresql://user:pass@host:5432/db) or run `airflow connections add {source.connection_id} "
            f"--conn-uri ...`")
    return conn
