"""Object storage (S3 / MinIO) settings for the cluster profile, as plain data.

Pure functions, no I/O: each turns one :class:`S3Settings` into the configuration a
client needs, so delta-rs, Spark (S3A) and DuckDB (httpfs) all talk to the same
endpoint with the same credentials. ``kho.settings`` / ``kho.lake`` / ``kho.spark`` /
``kho.duck`` call these; nothing here reads files or opens connections.

Configuration comes from the environment (``infra/local/minio.sh env`` prints it for
the local MinIO); credentials are never stored in the repository or a profile file:

=========================  =====================================================
``KHO_S3_ENDPOINT``        ``http://127.0.0.1:19000``; unset means "no object store"
``AWS_ACCESS_KEY_ID``      required when the endpoint is set
``AWS_SECRET_ACCESS_KEY``  required when the endpoint is set
``AWS_REGION``             default ``us-east-1`` (``AWS_DEFAULT_REGION`` also read)
``KHO_S3_PATH_STYLE``      ``true`` (default; MinIO) or ``false`` (virtual hosts)
``KHO_S3_ALLOW_HTTP``      default: true exactly when the endpoint is ``http://``
=========================  =====================================================

Concurrent Delta commits on S3 are safe only with an atomic "create if absent". MinIO
honours ``If-None-Match: *`` on PUT (a second conditional PUT of the same key gets
``412 Precondition Failed``), so delta-rs is told to commit with conditional put
(``aws_conditional_put=etag``) and never with the unsafe rename fallback.
tests/integration/test_cluster_infra.py checks both on a real MinIO.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kho.sqlquote import sql_literal

DEFAULT_REGION = "us-east-1"

# Hadoop bundled in pyspark 4.2.0 (pyspark/jars/hadoop-client-api-3.5.0.jar): hadoop-aws
# must be the same version, and the AWS SDK v2 bundle the one hadoop-aws 3.5.0's POM names.
HADOOP_VERSION = "3.5.0"
AWS_SDK_BUNDLE_VERSION = "2.35.4"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class S3Settings:
    """Where the object store is and how to sign requests to it."""

    endpoint: str  # scheme://host[:port], no path
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = DEFAULT_REGION
    path_style: bool = True
    allow_http: bool = False

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"S3 endpoint must look like http(s)://host[:port], got {self.endpoint!r}")
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise ValueError(f"S3 endpoint must be scheme://host[:port] only, got {self.endpoint!r}")
        if parts.scheme == "http" and not self.allow_http:
            raise ValueError(f"S3 endpoint {self.endpoint} is plain http but allow_http is off "
                             "(set KHO_S3_ALLOW_HTTP=true, or use https)")
        if not self.access_key_id or not self.secret_access_key:
            raise ValueError("S3 access key id and secret access key must both be set")

    @property
    def use_ssl(self) -> bool:
        return urlsplit(self.endpoint).scheme == "https"

    @property
    def host_port(self) -> str:
        """``host:port`` as DuckDB's ENDPOINT wants it (the scheme's port when none is given)."""
        parts = urlsplit(self.endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def endpoint_url(self) -> str:
        return self.endpoint.rstrip("/")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name}={env[name]!r} is not a boolean (use true or false)")


def s3_settings_from_env(environ: Mapping[str, str] | None = None) -> S3Settings | None:
    """S3 settings from the environment, or None when ``KHO_S3_ENDPOINT`` is not set.

    A set endpoint with missing credentials is an error that names the variables, not a
    silent fallback to local disk.
    """
    env = os.environ if environ is None else environ
    endpoint = env.get("KHO_S3_ENDPOINT", "").strip()
    if not endpoint:
        return None
    missing = [n for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not env.get(n, "").strip()]
    if missing:
        raise ValueError(f"KHO_S3_ENDPOINT is set ({endpoint}) but {' and '.join(missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} not; for the local MinIO run "
                         "`eval \"$(bash infra/local/minio.sh env)\"`")
    region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION).strip()
    is_http = endpoint.lower().startswith("http://")
    return S3Settings(
        endpoint=endpoint.rstrip("/"),
        access_key_id=env["AWS_ACCESS_KEY_ID"].strip(),
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"].strip(),
        region=region,
        path_style=_flag(env, "KHO_S3_PATH_STYLE", True),
        allow_http=_flag(env, "KHO_S3_ALLOW_HTTP", is_http),
    )


def delta_rs_storage_options(s3: S3Settings) -> dict[str, str]:
    """``storage_options`` for delta-rs (``deltalake``) on this object store.

    ``aws_conditional_put=etag`` makes every ``_delta_log/N.json`` commit a PUT with
    ``If-None-Match: *``: of two writers racing for version N exactly one wins, the other
    gets 412, re-reads the log and retries (appends) or fails with a commit conflict. No
    DynamoDB lock and no ``AWS_S3_ALLOW_UNSAFE_RENAME``. Keys are case-insensitive for
    delta-rs; the spelling follows the delta-rs documentation.
    """
    return {
        "AWS_ENDPOINT_URL": s3.endpoint_url,
        "AWS_ALLOW_HTTP": "true" if s3.allow_http else "false",
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        "AWS_REGION": s3.region,
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false" if s3.path_style else "true",
        "aws_conditional_put": "etag",
    }


def spark_s3a_conf(s3: S3Settings) -> dict[str, str]:
    """Spark configuration (``spark.hadoop.fs.s3a.*``) for ``s3a://`` paths on this store.

    The keys carry the ``spark.hadoop.`` prefix, so they go straight into
    ``SparkSession.builder.config`` or ``spark-submit --conf`` and reach the executors.
    Spark redacts ``*secret*`` / ``*access.key*`` values in its UI and logs; still, pass
    them through a builder or a 0600 properties file, never on a command line.
    """
    p = "spark.hadoop.fs.s3a."
    return {
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.AbstractFileSystem.s3a.impl": "org.apache.hadoop.fs.s3a.S3A",
        p + "endpoint": s3.endpoint_url,
        p + "endpoint.region": s3.region,
        p + "path.style.access": "true" if s3.path_style else "false",
        p + "connection.ssl.enabled": "true" if s3.use_ssl else "false",
        p + "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        p + "access.key": s3.access_key_id,
        p + "secret.key": s3.secret_access_key,
    }


def spark_s3a_packages() -> tuple[str, ...]:
    """Maven coordinates that give Spark the S3A file system.

    hadoop-aws matches the Hadoop bundled in pyspark; the AWS SDK v2 bundle is the one
    hadoop-aws 3.5.0 depends on (listed explicitly so Ivy cannot pick another). The bundle
    is ~690 MB: on a one-machine cluster put the resolved jars on
    ``spark.driver.extraClassPath`` / ``spark.executor.extraClassPath`` instead of
    ``spark.jars``, which would copy them into every executor's work dir.
    """
    return (
        f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}",
        f"software.amazon.awssdk:bundle:{AWS_SDK_BUNDLE_VERSION}",
    )


def duckdb_create_secret_sql(s3: S3Settings, name: str = "kho_s3") -> str:
    """``CREATE OR REPLACE SECRET`` for DuckDB's httpfs/delta on this store (session-scoped).

    ENDPOINT is ``host:port`` without a scheme; URL_STYLE 'path' and USE_SSL follow the
    settings. The delta extension reads s3:// through the same secret.
    """
    if not name.isidentifier():
        raise ValueError(f"secret name must be an identifier, got {name!r}")
    return (
        f"CREATE OR REPLACE SECRET {name} (TYPE s3, PROVIDER config, "
        f"KEY_ID {sql_literal(s3.access_key_id)}, SECRET {sql_literal(s3.secret_access_key)}, "
        f"REGION {sql_literal(s3.region)}, ENDPOINT {sql_literal(s3.host_port)}, "
        f"URL_STYLE {sql_literal('path' if s3.path_style else 'vhost')}, "
        f"USE_SSL {'true' if s3.use_ssl else 'false'})"
    )
