"""The cluster profile's servers on loopback: MinIO, Spark standalone, Airflow on PostgreSQL.

Each test starts what it needs through the scripts in infra/local (idempotent; a server that
was already running is used and left running) and stops, at the end, what it started itself
(unless KHO_TEST_KEEP_SERVERS=1). A server that cannot be started fails the test with the
command to run; nothing is skipped.

First run on a fresh machine: `bash infra/local/minio.sh install` builds MinIO with Go (~2.5
min, done by the fixture if needed) and the S3A jars are resolved from Maven Central into
.cache/ivy-s3 (~30 s, 690 MB). Later runs take about 2 minutes.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from kho.lake import Zone, zone_root
from kho.storage import (
    S3Settings,
    delta_rs_storage_options,
    duckdb_create_secret_sql,
    s3_settings_from_env,
    spark_s3a_packages,
)

from tests.support.cluster import (  # noqa: F401  (minio_env, spark_master: fixtures)
    REPO_ROOT,
    Server,
    airflow_cluster,
    minio_env,
    must,
    run_dag_through_the_api,
    script,
    spark_master,
    task_logs,
)

pytestmark = pytest.mark.integration

IVY_S3 = REPO_ROOT / ".cache" / "ivy-s3"
BUCKETS = {"raw", "processed", "integrated", "topic", "quarantine", "system", "exchange"}
TEST_BUCKET = "exchange"
RUN_ID = uuid.uuid4().hex[:10]  # one prefix per test session: s3://exchange/kho-tests/<RUN_ID>/


# --- MinIO ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3(minio_env: dict[str, str]) -> S3Settings:
    settings = s3_settings_from_env(minio_env)
    assert settings is not None
    return settings


def _curl_s3(s3: S3Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """curl signed with SigV4; the key pair goes through stdin, never the command line."""
    config = f'user = "{s3.access_key_id}:{s3.secret_access_key}"\n'
    return subprocess.run(["curl", "-sS", "-K", "-", "--max-time", "10", "--aws-sigv4",
                           f"aws:amz:{s3.region}:s3", *args], input=config, capture_output=True,
                          text=True, check=False)


def test_minio_is_up_with_the_lake_buckets(s3: S3Settings) -> None:
    live = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           f"{s3.endpoint_url}/minio/health/live"], capture_output=True, text=True)
    assert live.stdout == "200"
    listing = _curl_s3(s3, f"{s3.endpoint_url}/")
    assert listing.returncode == 0, listing.stderr
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    names = {e.text for e in ET.fromstring(listing.stdout).findall(".//s3:Bucket/s3:Name", ns)}
    assert BUCKETS <= names, f"missing buckets: {BUCKETS - names}"
    creds = REPO_ROOT / ".cache" / "servers" / "minio" / "credentials.env"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600


def test_minio_honours_if_none_match_on_put(s3: S3Settings, tmp_path: Path) -> None:
    """The primitive delta-rs commits rely on: create-if-absent is atomic on the server."""
    url = f"{s3.endpoint_url}/{TEST_BUCKET}/kho-tests/{RUN_ID}/conditional/00000.json"
    codes = []
    for n, text in enumerate(("first", "second")):
        body = tmp_path / f"body{n}"
        body.write_text(text)
        sha = subprocess.run(["sha256sum", str(body)], capture_output=True, text=True).stdout.split()[0]
        proc = _curl_s3(s3, "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                        "-H", "If-None-Match: *", "-H", f"x-amz-content-sha256: {sha}",
                        "--data-binary", f"@{body}", url)
        codes.append(proc.stdout)
    assert codes == ["200", "412"]
    assert _curl_s3(s3, url).stdout == "first"


# --- delta-rs and DuckDB on s3:// -------------------------------------------------------------

def test_delta_rs_roundtrip_on_s3(s3: S3Settings) -> None:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    path = f"s3://{TEST_BUCKET}/kho-tests/{RUN_ID}/roundtrip"
    opts = delta_rs_storage_options(s3)
    write_deltalake(path, pa.table({"id": [1, 2], "ten": ["Hải Phòng", "Thủy Nguyên"]}),
                    mode="overwrite", storage_options=opts)
    write_deltalake(path, pa.table({"id": [3], "ten": ["Cát Hải"]}), mode="append", storage_options=opts)
    dt = DeltaTable(path, storage_options=opts)
    assert dt.version() == 1
    assert sorted(dt.to_pyarrow_table().column("ten").to_pylist()) == ["Cát Hải", "Hải Phòng", "Thủy Nguyên"]


def test_registry_load_onto_minio_with_a_bucket_per_zone(minio_env: dict[str, str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader, the run log and DuckDB on the S3 lake: lake_root ``s3://{zone}/...`` = one bucket per zone."""
    from datetime import date

    from kho.duck import connect
    from kho.ingest.loader import day_interval, load_object
    from kho.ingest.registry import load_registry
    from kho.settings import get_settings
    from kho.sources import population

    for name, value in minio_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KHO_LAKE_ROOT", f"s3://{{zone}}/kho-tests/{RUN_ID}")
    monkeypatch.setenv("KHO_STATE_DIR", str(tmp_path / "state"))
    db = tmp_path / "population.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_POPULATION", f"sqlite:///{db}")
    stats = population.generate(f"sqlite:///{db}", seed=3, sf=0.01)
    get_settings.cache_clear()
    try:
        source = load_registry().get("population")
        [first] = load_object(get_settings(), source, source.object("citizen"), day_interval(date(2026, 11, 27)))
        assert first.target == "raw/population/citizen" and first.rows_written == stats.rows
        assert first.files and all(f["bytes"] > 0 for f in first.files)
        [again] = load_object(get_settings(), source, source.object("citizen"), day_interval(date(2026, 11, 27)))
        assert again.rows_written == 0
        with connect() as con:
            raw = con.sql(f"SELECT count(*) FROM delta_scan('s3://raw/kho-tests/{RUN_ID}/population/citizen')").fetchone()
            log = con.sql(f"SELECT count(*) FROM delta_scan('s3://system/kho-tests/{RUN_ID}/pipeline/run_log') "
                          "WHERE step = 'ingest'").fetchone()
        assert raw == (stats.rows,) and log == (2,)
    finally:
        get_settings.cache_clear()


@pytest.mark.spark
def test_processed_job_runs_on_the_s3_lake(minio_env: dict[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Raw on MinIO (delta-rs) -> the processed job (Spark, S3A, s3:// mapped) -> read back with DuckDB."""
    from datetime import date

    from pyspark.sql import SparkSession

    from kho.duck import connect
    from kho.ingest.loader import day_interval, load_object
    from kho.ingest.registry import load_registry
    from kho.processed.population import TABLES
    from kho.settings import get_settings
    from kho.sources import population
    from kho.spark import get_spark
    from spark_jobs import processed

    for name, value in minio_env.items():
        monkeypatch.setenv(name, value)
    prefix = f"kho-tests/{RUN_ID}/spark"
    monkeypatch.setenv("KHO_LAKE_ROOT", f"s3://{{zone}}/{prefix}")
    monkeypatch.setenv("KHO_STATE_DIR", str(tmp_path / "state"))
    db = tmp_path / "population.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_POPULATION", f"sqlite:///{db}")
    population.generate(f"sqlite:///{db}", seed=5, sf=0.01)
    active = SparkSession.getActiveSession()
    if active is not None:  # a session without the S3A settings: start a fresh one
        active.stop()
    get_settings.cache_clear()
    try:
        source = load_registry().get("population")
        [raw] = load_object(get_settings(), source, source.object("citizen"), day_interval(date(2026, 11, 27)))
        spark = get_spark(get_settings(), app_name="kho-tests-s3-processed")
        summary = processed.run(spark, get_settings(), logical_date=date(2026, 11, 27), table=TABLES[0])
        assert summary["rows_read"] == raw.rows_written == summary["quarantined"] + summary["valid"]
        with connect() as con:
            n = con.sql(f"SELECT count(*) FROM delta_scan('s3://processed/{prefix}/population/citizen')").fetchone()[0]
        assert n == summary["processed"] > 0
        spark.stop()
    finally:
        get_settings.cache_clear()


WRITERS, COMMITS_PER_WRITER = 2, 10


def _append_worker(path: str, opts: dict[str, str], writer: int, n: int, start_at: float) -> None:
    """Runs in a spawned process (delta-rs is not fork-safe): n single-row appends."""
    import pyarrow as pa
    from deltalake import write_deltalake

    while time.time() < start_at:  # both writers start together, to race on every version
        time.sleep(0.005)
    for i in range(n):
        write_deltalake(path, pa.table({"writer": [writer], "seq": [i]}), mode="append",
                        storage_options=opts)


@pytest.fixture(scope="module")
def concurrent_table(s3: S3Settings) -> str:
    """One table, version 0 created first, then 2 processes x 10 concurrent appends."""
    import pyarrow as pa
    from deltalake import write_deltalake

    path = f"s3://{TEST_BUCKET}/kho-tests/{RUN_ID}/concurrent"
    opts = delta_rs_storage_options(s3)
    # Creating the table is not part of the race: two writers both creating version 0 is a
    # metadata conflict delta-rs rightly refuses to retry.
    write_deltalake(path, pa.table({"writer": pa.array([-1], pa.int64()), "seq": pa.array([-1], pa.int64())}),
                    mode="overwrite", storage_options=opts)
    ctx = mp.get_context("spawn")
    start_at = time.time() + 3.0  # spawned interpreters need ~1-2 s to import
    procs = [ctx.Process(target=_append_worker, args=(path, opts, w, COMMITS_PER_WRITER, start_at))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert codes == [0] * WRITERS, f"writer processes exited with {codes} (a commit failed; see stderr above)"
    return path


def test_concurrent_appends_lose_no_commit(s3: S3Settings, concurrent_table: str) -> None:
    from deltalake import DeltaTable

    dt = DeltaTable(concurrent_table, storage_options=delta_rs_storage_options(s3))
    expected_commits = WRITERS * COMMITS_PER_WRITER
    assert dt.version() == expected_commits  # version 0 (create) + 20 appends
    assert len(dt.history()) == expected_commits + 1
    rows = dt.to_pyarrow_table().to_pylist()
    pairs = sorted((r["writer"], r["seq"]) for r in rows if r["writer"] >= 0)
    assert pairs == [(w, i) for w in range(WRITERS) for i in range(COMMITS_PER_WRITER)]


def test_duckdb_reads_the_table_through_the_secret(s3: S3Settings, concurrent_table: str) -> None:
    from kho.duck import connect

    with connect() as con:
        con.execute("LOAD httpfs")
        con.execute(duckdb_create_secret_sql(s3))
        n, writers = con.sql(f"SELECT count(*), count(DISTINCT writer) FILTER (WHERE writer >= 0) "
                             f"FROM delta_scan('{concurrent_table}')").fetchone()
    assert (n, writers) == (WRITERS * COMMITS_PER_WRITER + 1, WRITERS)


# --- the IOC exchange on the exchange bucket -------------------------------------------------

def test_kpi_export_publishes_verifiable_versions_to_the_exchange_bucket(minio_env: dict[str, str], tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """kho.exchange on the cluster profile: a published IOC table in s3://topic exported to
    s3://exchange through the local mirror; a fresh mirror elsewhere pulls and verifies it."""
    import json
    from datetime import date

    from deltalake import CommitProperties, write_deltalake

    from kho import exchange as ex
    from kho import exchange_store as store
    from kho.settings import get_settings
    from tests.unit.test_exchange import ioc_rows

    for name, value in minio_env.items():
        monkeypatch.setenv(name, value)
    prefix = f"kho-tests/{RUN_ID}/export"
    monkeypatch.setenv("KHO_LAKE_ROOT", f"s3://{{zone}}/{prefix}")
    monkeypatch.setenv("KHO_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        day = date(2026, 11, 27)
        meta = {"kho.logical_date": day.isoformat(), "kho.run_id": "run-1", "kho.data_version": f"dv-{day}",
                "kho.quality": json.dumps({"verdict": "passed", "suites": {"topic_ioc_ioc_citizen": True}})}
        write_deltalake(ex.topic_table_path(settings, "ioc_citizen"), ioc_rows(day), mode="overwrite",
                        storage_options=delta_rs_storage_options(s3_settings_from_env(minio_env)),
                        commit_properties=CommitProperties(custom_metadata=meta))
        assert ex.discover_tables(settings) == ["ioc_citizen"]

        run = ex.export_all(settings, ex.ExportConfig())
        assert run.ok and [r.status for r in run.results] == ["exported"]
        filesystem, base = store.filesystem(), f"exchange/{prefix}/ioc"
        in_bucket = store.list_files(filesystem, base)
        assert set(in_bucket) == {"index.json", "ioc_citizen/latest.json", "ioc_citizen/v0/manifest.json",
                                  "ioc_citizen/v0/ioc_citizen.csv", "ioc_citizen/v0/ioc_citizen.parquet"}

        # the IOC's side: another machine pulls the bucket and checks every file against the manifest
        elsewhere = tmp_path / "ioc-pull"
        store.pull(filesystem, base, elsewhere)
        assert ex.verify(elsewhere / "ioc_citizen" / "v0") == []
        latest = json.loads((elsewhere / "ioc_citizen" / "latest.json").read_text())
        assert latest["delta_version"] == 0 and latest["row_count"] == ioc_rows(day).num_rows

        # a rerun finds the version in place: verified, reported unchanged, the bucket untouched
        again = ex.export_all(settings, ex.ExportConfig())
        assert [r.status for r in again.results] == ["unchanged"]
        assert store.list_files(filesystem, base) == in_bucket
    finally:
        get_settings.cache_clear()


# --- the same pipeline on both lakes ---------------------------------------------------------

def _population_pipeline(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict:
    """kho.pipeline's steps, ingest to publish, for 2026-11-27 in the environment ``env``."""
    from datetime import date

    from pyspark.sql import SparkSession

    from kho import pipeline
    from kho.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    active = SparkSession.getActiveSession()
    if active is not None:  # the S3A settings are fixed when a session starts
        active.stop()
    get_settings.cache_clear()
    day = date(2026, 11, 27)
    pipeline.ingest(day)
    processed = pipeline.process(day)
    pipeline.audit_processed(day, processed)
    pipeline.integrate(day)
    built = pipeline.build_marts(day)
    return pipeline.publish_marts(day, pipeline.audit_marts(day, built))


# --- Spark standalone + S3A -------------------------------------------------------------------

def _s3a_classpath() -> list[Path]:
    """hadoop-aws + AWS SDK bundle, resolved once with Spark's Ivy into .cache/ivy-s3."""
    jars_dir = IVY_S3 / "jars"

    def have() -> list[Path]:
        jars = sorted(jars_dir.glob("*.jar"))
        names = " ".join(j.name for j in jars)
        wanted = [c.split(":")[1] + "-" + c.split(":")[2] + ".jar" for c in spark_s3a_packages()]
        return jars if all(w in names for w in wanted) else []

    if have():
        return have()
    code = textwrap.dedent(f"""
        from pyspark.sql import SparkSession
        s = (SparkSession.builder.master("local[1]").appName("kho-resolve-s3a")
             .config("spark.jars.packages", {",".join(spark_s3a_packages())!r})
             .config("spark.jars.ivy", {str(IVY_S3)!r}).config("spark.ui.enabled", "false").getOrCreate())
        s.stop()
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    if proc.returncode != 0 or not have():
        pytest.fail("resolving the S3A jars " + ", ".join(spark_s3a_packages()) + " with Spark's Ivy into "
                    f"{IVY_S3} failed (needs Maven Central). Retry the test, or resolve by hand with "
                    "`spark-submit --packages ...`.\n--- last lines ---\n"
                    + "\n".join(proc.stderr.splitlines()[-25:]), pytrace=False)
    return have()


SPARK_JOB = """
import sys
from pyspark.sql import SparkSession
from kho.storage import s3_settings_from_env, spark_s3a_conf

builder = SparkSession.builder.appName("kho-s3a-smoke")
for key, value in spark_s3a_conf(s3_settings_from_env()).items():  # credentials from the environment
    builder = builder.config(key, value)
spark = builder.getOrCreate()
out = sys.argv[1]
spark.range(0, 1000, numPartitions=4).selectExpr("id", "id % 7 AS k").write.mode("overwrite").parquet(out)
n = spark.read.parquet(out).count()
executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
print(f"RESULT master={spark.sparkContext.master} rows={n} executors={executors}")
spark.stop()
"""


def test_spark_standalone_writes_parquet_to_s3a(spark_master: str, minio_env: dict[str, str],
                                                s3: S3Settings, tmp_path: Path) -> None:
    import pyspark

    classpath = ":".join(str(j) for j in _s3a_classpath())
    job = tmp_path / "s3a_smoke.py"
    job.write_text(SPARK_JOB)
    out = f"s3a://{TEST_BUCKET}/kho-tests/{RUN_ID}/spark-parquet"
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    # The jars are local files on this one machine: extraClassPath, not spark.jars (which would
    # copy the 690 MB SDK bundle into every executor's work dir).
    cmd = [str(spark_submit), "--master", spark_master,
           "--conf", "spark.driver.extraClassPath=" + classpath,
           "--conf", "spark.executor.extraClassPath=" + classpath,
           "--conf", "spark.executor.memory=1g", "--conf", "spark.executor.cores=1",
           "--conf", "spark.cores.max=2", "--conf", "spark.ui.enabled=false",
           str(job), out]
    env = {**os.environ, **minio_env, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    result = re.search(r"^RESULT master=(\S+) rows=(\d+) executors=(\d+)$", proc.stdout, flags=re.M)
    assert proc.returncode == 0 and result, \
        f"spark-submit failed (exit {proc.returncode}):\n" + "\n".join(proc.stderr.splitlines()[-40:])
    assert result.group(1) == spark_master
    assert int(result.group(2)) == 1000
    assert int(result.group(3)) >= 1  # the work ran on the cluster's executors, not in the driver

    from kho.duck import connect

    with connect() as con:  # the files really are on MinIO: read them back through another client
        con.execute("LOAD httpfs")
        con.execute(duckdb_create_secret_sql(s3))
        n, total = con.sql(f"SELECT count(*), sum(id) FROM read_parquet("
                           f"'s3://{TEST_BUCKET}/kho-tests/{RUN_ID}/spark-parquet/*.parquet')").fetchone()
    assert (n, total) == (1000, sum(range(1000)))


# --- Airflow on PostgreSQL, driven through the REST API, on the cluster profile ---------------

@pytest.fixture
def airflow_on_the_cluster(spark_master: str, minio_env: dict[str, str],
                           tmp_path: Path) -> Iterator[dict[str, str]]:
    """Airflow (PostgreSQL, LocalExecutor, scheduler, DAG processor, API server) whose task
    processes see the cluster profile: every zone on MinIO, the Spark jobs on the standalone
    master, the source database as an Airflow connection. The DAGs folder holds the project's
    population_pipeline.py, unchanged (a link; tests.support.cluster.airflow_cluster)."""
    from kho.sources import population

    source = tmp_path / "population.sqlite"
    population.generate(f"sqlite:///{source}", seed=11, sf=0.01)
    expectations = tmp_path / "expectations"
    shutil.copytree(REPO_ROOT / "expectations" / "gx", expectations / "gx",
                    ignore=shutil.ignore_patterns("uncommitted"))
    common = {"AIRFLOW_CONN_KHO_SRC_POPULATION": f"sqlite:///{source}",
              "KHO_PSEUDONYM_KEY_FILE": str(tmp_path / "pseudonym.key"),
              "KHO_EXPECTATIONS_DIR": str(expectations)}
    env = {**common, **minio_env,
           "KHO_LAKE_ROOT": f"s3://{{zone}}/kho-tests/{RUN_ID}/airflow",
           "KHO_STATE_DIR": str(tmp_path / "state-cluster"),
           "KHO_SPARK_MASTER": spark_master}
    with airflow_cluster("population_pipeline", tmp_path, env) as env:
        yield {**env, "_common": json.dumps(common), "_prefix": f"kho-tests/{RUN_ID}/airflow"}


def test_population_dag_through_the_rest_api_on_the_cluster_equals_embedded(
        airflow_on_the_cluster: dict[str, str], minio_env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 7: the project's population_pipeline DAG, triggered through Airflow's REST API and
    followed to success through it, runs on the cluster profile (the scheduler's LocalExecutor
    runs each task; the Spark jobs go to the standalone master; every zone is on MinIO) and
    publishes the same mart, row for row, as the same steps on the embedded profile (local
    disk, Spark local[2]) for the same source."""
    from deltalake import DeltaTable

    env = {k: v for k, v in airflow_on_the_cluster.items() if not k.startswith("_")}
    day = "2026-11-27"
    run_id = run_dag_through_the_api("population_pipeline", day, env, timeout=900)
    port = os.environ.get("KHO_AIRFLOW_PORT", "18088")
    health = json.loads(subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/api/v2/monitor/health"],
                                       capture_output=True, text=True).stdout)
    assert health["metadatabase"]["status"] == "healthy" and health["scheduler"]["status"] == "healthy"
    # the Spark jobs of the run's tasks were applications of the standalone master
    ui = os.environ.get("KHO_SPARK_UI_PORT", "18080")
    master = json.loads(subprocess.run(["curl", "-sfL", f"http://127.0.0.1:{ui}/json/"],
                                       capture_output=True, text=True).stdout)
    apps = [a["name"] for a in master.get("completedapps", []) + master.get("activeapps", [])]
    assert len([a for a in apps if a.startswith("kho")]) >= 2, f"Spark applications on the master: {apps}"

    mart = "citizen/population_by_commune_sex_age"
    remote = DeltaTable(f"s3://topic/{airflow_on_the_cluster['_prefix']}/{mart}",
                        storage_options=delta_rs_storage_options(s3_settings_from_env(minio_env)))
    remote_rows, remote_commit = remote.to_pyarrow_table(), remote.history(1)[0]
    serving = Path(env["KHO_STATE_DIR"]) / "serving" / "kho.duckdb"
    assert serving.exists(), "the cluster run published no serving database"
    # the run's quality gates ran in task processes forked with GX already imported (the
    # scheduler's forkserver preloads it, kho/airflow_preload.py): none paid the import itself
    run_log = DeltaTable(zone_root(env["KHO_LAKE_ROOT"], Zone.SYSTEM) + "/pipeline/run_log",
                         storage_options=delta_rs_storage_options(s3_settings_from_env(minio_env)))
    gates = [json.loads(r["details"]) for r in run_log.to_pyarrow_table().to_pylist()
             if r["run_id"] == run_id and r["step"].startswith("quality_")]
    assert gates and all("validate" in g.get("timings", {}) for g in gates), gates
    assert not [g for g in gates if "gx_import" in g["timings"]], "a gate imported GX itself: preload off?"

    for name in [*minio_env, "KHO_SPARK_MASTER"]:  # the embedded run sees no cluster at all
        monkeypatch.delenv(name, raising=False)
    try:
        local = _population_pipeline({**json.loads(airflow_on_the_cluster["_common"]),
                                      "KHO_LAKE_ROOT": str(tmp_path / "lake"),
                                      "KHO_STATE_DIR": str(tmp_path / "state-local")}, monkeypatch)
    finally:
        from pyspark.sql import SparkSession

        from kho.settings import get_settings

        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
        get_settings.cache_clear()
    local_rows = DeltaTable(str(tmp_path / "lake" / "topic" / mart)).to_pyarrow_table()

    # same input Delta versions, hence the same data version (in the publishing commit)
    assert remote_commit.get("kho.data_version") == local["data_version"]
    assert remote_commit.get("kho.run_id") == run_id
    keys = ["commune_code", "sex", "age_band"]
    compared = [c for c in local_rows.column_names if c != "source_ingested_at"]
    assert local_rows.num_rows == remote_rows.num_rows > 100
    assert (local_rows.select(compared).sort_by([(k, "ascending") for k in keys]).to_pylist()
            == remote_rows.select(compared).sort_by([(k, "ascending") for k in keys]).to_pylist())
