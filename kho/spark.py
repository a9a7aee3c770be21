"""The Spark session every job uses, with Delta and the JDBC drivers from a local jar cache.

Jars come from Maven Central once, at set-up (``kho setup jars``, run by ``make``): Spark's
own Ivy resolves them into ``.cache/ivy`` and the ones pyspark does not already bundle are
copied to ``.cache/jars``. Sessions then use those files with ``spark.jars``: no network
and no Ivy at run time, and the same files are shipped to executors on a cluster.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from kho.settings import Settings

log = logging.getLogger(__name__)

# Maven coordinates; delta-spark 4.4.0 is the newest build for Spark 4.2 on Maven Central.
PACKAGES = (
    "io.delta:delta-spark_4.2_2.13:4.4.0",
    "org.xerial:sqlite-jdbc:3.54.1.0",
    "org.postgresql:postgresql:42.7.14",
    "org.mariadb.jdbc:mariadb-java-client:3.5.7",
)
MANIFEST = "manifest.txt"
SUPPORTED_JAVA = (17, 21)


def java_major_version() -> int | None:
    java = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin")
                        if os.environ.get("JAVA_HOME") else None)
    if not java:
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def check_java() -> int:
    """Spark 4.2 runs on Java 17 or 21 only; say exactly what to do otherwise."""
    major = java_major_version()
    if major in SUPPORTED_JAVA:
        return major
    found = f"Java {major}" if major else "no Java"
    raise RuntimeError(
        f"Spark 4.2 needs Java 17 or 21 but {found} was found on PATH/JAVA_HOME. Install one with:\n"
        "    apt-get update && apt-get install -y openjdk-17-jre-headless\n"
        "or point JAVA_HOME at an existing JDK 17/21."
    )


def _artifact_name(jar: str) -> str:
    """'org.xerial_sqlite-jdbc-3.54.1.0.jar' or 'parquet-column-1.17.0.jar' -> artifact id."""
    name = jar.removesuffix(".jar").split("_", 1)[-1] if "_" in jar.split("-")[0] else jar.removesuffix(".jar")
    return re.sub(r"-\d[\w.\-]*$", "", name)


def resolve_jars(jars_dir: Path, ivy_dir: Path) -> list[Path]:
    """Resolve PACKAGES with Spark's Ivy and keep only jars pyspark does not bundle.

    Spark's bundled Hadoop, Parquet, Jackson and logging jars must win over the older
    transitive versions delta-spark's POM names, or the classpath holds two of each.
    """
    import pyspark

    bundled = {_artifact_name(p.name) for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    code = (
        "from pyspark.sql import SparkSession\n"
        "s = (SparkSession.builder.master('local[1]').appName('kho-resolve-jars')"
        f".config('spark.jars.packages', {','.join(PACKAGES)!r})"
        f".config('spark.jars.ivy', {str(ivy_dir)!r}).config('spark.ui.enabled', 'false').getOrCreate())\n"
        "s.stop()\n"
    )
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-25:])
        raise RuntimeError(f"resolving Spark jars from Maven Central failed:\n{tail}")
    jars_dir.mkdir(parents=True, exist_ok=True)
    kept: list[Path] = []
    for jar in sorted((ivy_dir / "jars").glob("*.jar")):
        if _artifact_name(jar.name) in bundled:
            continue
        target = jars_dir / jar.name
        shutil.copy2(jar, target)
        kept.append(target)
    (jars_dir / MANIFEST).write_text("\n".join(PACKAGES) + "\n--\n" + "\n".join(p.name for p in kept) + "\n")
    return kept


def cached_jars(jars_dir: Path) -> list[Path]:
    manifest = jars_dir / MANIFEST
    if not manifest.exists():
        return []
    packages, _, names = manifest.read_text().partition("--\n")
    if tuple(packages.split()) != PACKAGES:
        return []  # the pinned packages changed: resolve again
    return [jars_dir / n for n in names.split() if (jars_dir / n).exists()]


def ensure_jars(settings: Settings) -> list[Path]:
    jars = cached_jars(settings.jars_dir)
    if jars:
        return jars
    log.info("resolving Spark jars into %s (once)", settings.jars_dir)
    return resolve_jars(settings.jars_dir, settings.project_root / ".cache" / "ivy")


def s3a_jars(settings: Settings) -> list[Path]:
    """hadoop-aws and the AWS SDK bundle (kho.storage pins), resolved once by Spark's Ivy into .cache/ivy-s3."""
    from kho.storage import spark_s3a_packages

    ivy = settings.project_root / ".cache" / "ivy-s3"
    wanted = [c.split(":")[1] + "-" + c.split(":")[2] + ".jar" for c in spark_s3a_packages()]

    def have() -> list[Path]:
        jars = sorted((ivy / "jars").glob("*.jar"))  # Ivy names them <group>_<artifact>-<version>.jar
        return jars if all(any(j.name.endswith(w) for j in jars) for w in wanted) else []

    if not have():
        log.info("resolving the S3A jars into %s (once, ~700 MB)", ivy)
        code = (
            "from pyspark.sql import SparkSession\n"
            "s = (SparkSession.builder.master('local[1]').appName('kho-resolve-s3a')"
            f".config('spark.jars.packages', {','.join(spark_s3a_packages())!r})"
            f".config('spark.jars.ivy', {str(ivy)!r}).config('spark.ui.enabled', 'false').getOrCreate())\n"
            "s.stop()\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
        if proc.returncode != 0 or not have():
            raise RuntimeError("resolving " + ", ".join(spark_s3a_packages()) + f" into {ivy} failed (needs Maven "
                               "Central once):\n" + "\n".join(proc.stderr.splitlines()[-20:]))
    return have()


def _object_store_conf(settings: Settings) -> dict[str, str]:
    """S3A settings, classpath and the s3:// scheme mapping when the lake is on object storage."""
    from kho.lake import is_object_store

    if not is_object_store(settings.lake_root):
        return {}
    from kho.storage import s3_settings_from_env, spark_s3a_conf

    s3 = s3_settings_from_env()
    if s3 is None:
        raise RuntimeError(f"the lake root {settings.lake_root} is on S3 but KHO_S3_ENDPOINT is not set")
    classpath = ":".join(str(j) for j in s3a_jars(settings))
    # local jar files on every host: extraClassPath, not spark.jars (which copies the 690 MB bundle)
    return {**spark_s3a_conf(s3), "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}


_LOCAL_DIR: Path | None = None


def _local_dir() -> Path:
    """Spark's scratch space (shuffle and broadcast blocks), one folder per process.

    The session is reused for the life of the process, across settings objects (each test
    has its own state dir), so its scratch must not live inside one settings' state dir: a
    cleanup of that dir would pull the blocks from under the running session. Base folder:
    ``KHO_SPARK_LOCAL_DIR``, else the system temp dir; removed when the process exits.
    """
    global _LOCAL_DIR
    if _LOCAL_DIR is None:
        import atexit
        import shutil
        import tempfile

        base = Path(os.environ.get("KHO_SPARK_LOCAL_DIR") or tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        _LOCAL_DIR = Path(tempfile.mkdtemp(prefix="kho-spark-", dir=base))
        atexit.register(shutil.rmtree, _LOCAL_DIR, True)
    return _LOCAL_DIR


def get_spark(settings: Settings, app_name: str = "kho") -> SparkSession:
    """A Delta-enabled session for the profile; reused when one is already running."""
    check_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    jars = ensure_jars(settings)
    tmp = _local_dir()
    builder = (
        SparkSession.builder.master(settings.spark.master)
        .appName(app_name)
        .config("spark.jars", ",".join(str(j) for j in jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.driver.memory", settings.spark.driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(tmp))
        .config("spark.sql.session.timeZone", "UTC")
        # Small tables: rebuilding Delta snapshots over 50 partitions costs seconds for nothing.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.sources.partitionOverwriteMode", "static")
        # JDBC sources declare VARCHAR(n) (SQLite even VARCHAR(0)); raw keeps text as text.
        .config("spark.sql.legacy.charVarcharAsString", "true")
        # whole-batch Arrow rules (kho.standardise) pay a fixed cost per call: larger batches
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
        .config("spark.driver.extraJavaOptions", "-Dderby.system.home=" + str(tmp))
    )
    for key, value in _object_store_conf(settings).items():
        builder = builder.config(key, value)
    for key, value in settings.spark.extra_conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs each connection it closes at INFO, also from __del__ at interpreter exit,
    # after pytest or Airflow closed the log stream ("I/O operation on closed file")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return spark
