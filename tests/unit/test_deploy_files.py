"""The deployment files: infra/compose, infra/docker/Dockerfile, infra/helm/kho/values.yaml.

Parsed as data (no Docker, no Helm): the services and buckets the design asks for exist, no
secret is written into a file, Airflow runs LocalExecutor on PostgreSQL, the Spark workers find
the master, and versions agree with the repository's own pins.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kho.lake import Zone
from kho.spark import PACKAGES
from kho.storage import spark_s3a_packages

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "infra" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
HELM_VALUES = ROOT / "infra" / "helm" / "kho" / "values.yaml"
MINIO_SH = ROOT / "infra" / "local" / "minio.sh"

AIRFLOW_SERVICES = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
SERVICES = ("postgres", "minio", "minio-init", "spark-master", "spark-worker", "airflow-init",
            *AIRFLOW_SERVICES, "kho")
# `_system` is not a valid bucket name: that zone lives in the bucket `system` (infra/local/minio.sh).
ZONE_BUCKETS = {zone.value.lstrip("_") for zone in Zone}
BUCKETS = ZONE_BUCKETS | {"exchange"}

# Variable names that hold secrets or carry them (URLs with a password in them).
# A name ending in _FILE holds a path (e.g. where the password file goes), not the secret.
SECRET_NAME = re.compile(r"^(?!.*_FILE$).*(PASSWORD|SECRET|_KEY$|_KEY_ID$|FERNET|JWT|SQL_ALCHEMY_CONN|^AIRFLOW_CONN_"
                         r"|^MC_HOST_|^KHO_SOURCE_.*_URL$|^MINIO_ROOT_USER$)")
# ${NAME}, ${NAME:?message}, ${NAME:-default} ... ($$ is compose's escape for a literal $).
REFERENCE = re.compile(r"\$\{([A-Za-z0-9_]+)(?:(:?[?-])([^}]*))?\}")


def _without_comments(text: str) -> str:
    """The YAML/env text without its comment lines (they may show example URLs and syntax)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _references(text: str) -> list[tuple[str, str]]:
    """(variable, operator) of each interpolation in *text*; operator '' when there is none."""
    return [(name, op or "") for name, op, _ in REFERENCE.findall(text.replace("$$", ""))]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping (NAME: value), so anchors can merge"
    return {k: str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> str:
    cmd = service.get("command") or []
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


# --- compose: services -------------------------------------------------------------------------

def test_every_service_exists(services: dict[str, Any]) -> None:
    missing = [s for s in SERVICES if s not in services]
    assert not missing, f"compose.yaml lacks {missing}"


def test_long_running_services_have_healthchecks_and_restart(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        one_shot = svc.get("restart") == "no"
        if one_shot:
            continue
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        assert svc.get("restart") == "unless-stopped", f"{name} does not restart after a failure or reboot"


def test_depends_on_uses_conditions(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on must name a condition for each dependency"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            want = "service_completed_successfully" if services[dep].get("restart") == "no" else "service_healthy"
            assert spec.get("condition") == want, f"{name} -> {dep}: condition should be {want}"


def test_state_lives_in_named_volumes(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    mounts = {"postgres": "/var/lib/postgresql/data", "minio": "/data",
              "airflow-scheduler": "/var/lib/kho", "airflow-api-server": "/opt/airflow/logs"}
    for name, target in mounts.items():
        volumes = [v for v in services[name].get("volumes", []) if v.split(":")[1] == target]
        assert volumes, f"{name} keeps no volume at {target}"
        assert volumes[0].split(":")[0] in declared, f"{name}: {volumes[0]} is not a named volume"


def test_published_ports_bind_to_the_configured_address(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port.startswith("${KHO_COMPOSE_BIND:-127.0.0.1}:"), f"{name} publishes {port} on all interfaces"
    published = {p.rsplit(":", 1)[-1] for svc in services.values() for p in svc.get("ports", [])}
    assert "7077" not in published, "Spark's RPC port must not be published"
    assert "ports" not in services["postgres"]


# --- compose: MinIO and the buckets ---------------------------------------------------------------

def test_minio_init_creates_a_bucket_for_every_zone(services: dict[str, Any]) -> None:
    init = services["minio-init"]
    buckets = set(_env(init)["KHO_BUCKETS"].split())
    assert buckets == BUCKETS, f"buckets {sorted(buckets)} != zones + exchange {sorted(BUCKETS)}"
    script = _command(init)
    assert re.search(r"for bucket in \$\$KHO_BUCKETS", script)
    assert 'mc mb --ignore-existing "kho/$$bucket"' in script
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"


def test_buckets_match_the_local_cluster() -> None:
    local = re.search(r"^BUCKETS=\((.*)\)$", MINIO_SH.read_text(), re.M)
    assert local, "infra/local/minio.sh no longer defines BUCKETS=(...)"
    assert set(local.group(1).split()) == BUCKETS


def test_minio_version_matches_the_local_build(services: dict[str, Any]) -> None:
    local = re.search(r'MINIO_VERSION="\$\{KHO_MINIO_VERSION:-([^}]+)\}"', MINIO_SH.read_text())
    assert local
    args = services["minio"]["build"]["args"]
    assert args["MINIO_VERSION"] == "${KHO_MINIO_VERSION:-%s}" % local.group(1)


def test_kho_uses_its_own_access_key_not_the_root_user(compose: dict[str, Any], services: dict[str, Any]) -> None:
    env = _env(services["airflow-scheduler"])
    assert env["AWS_ACCESS_KEY_ID"].startswith("${KHO_S3_ACCESS_KEY_ID:?")
    assert env["AWS_SECRET_ACCESS_KEY"].startswith("${KHO_S3_SECRET_ACCESS_KEY:?")
    assert env["KHO_S3_ENDPOINT"] == "http://minio:9000"
    assert "mc admin user add kho" in _command(services["minio-init"])
    for name, svc in services.items():
        if name not in ("minio", "minio-init"):
            assert not any("MINIO_ROOT" in v for v in _env(svc).values()), f"{name} gets MinIO's root credentials"


# --- compose: no literal secrets --------------------------------------------------------------------

def _all_env_entries(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    entries = []
    for name, svc in compose["services"].items():
        entries += [(name, k, v) for k, v in _env(svc).items()]
    for key, block in compose.items():  # the x-* anchors themselves
        if key.startswith("x-") and isinstance(block, dict) and "image" not in block and "driver" not in block:
            entries += [(key, k, str(v)) for k, v in block.items()]
    return entries


def test_every_secret_comes_from_a_required_variable(compose: dict[str, Any]) -> None:
    checked = 0
    for where, name, value in _all_env_entries(compose):
        if not SECRET_NAME.search(name):
            continue
        refs = _references(value)
        assert refs, f"{where}: {name} is a literal value; use ${{VAR:?message}}"
        secret_refs = [(v, op) for v, op in refs if SECRET_NAME.search(v) or v.startswith("AIRFLOW_CONN_")]
        assert secret_refs, f"{where}: {name} takes no secret variable: {value}"
        for var, op in secret_refs:
            assert op == ":?", f"{where}: {name} uses ${{{var}{op}...}}; a secret must fail loudly (:?) when unset"
        checked += 1
    assert checked >= 15


def test_no_credentials_are_written_in_urls_or_values() -> None:
    text = _without_comments(COMPOSE.read_text()).replace("$$", "")
    for m in re.finditer(r"://([^/\s@]+)@", text):
        userinfo = m.group(1)
        assert "${" in userinfo, f"literal credentials in a URL: {m.group(0)}"
        parts = re.sub(REFERENCE, "", userinfo).strip(":")
        assert parts in ("", "airflow"), f"literal credentials in a URL: {m.group(0)}"
    for word in ("minioadmin", "changeme", "password123", "admin123"):
        assert word not in text.lower()


def test_env_example_lists_every_required_variable_empty(compose: dict[str, Any]) -> None:
    compose_text = _without_comments(COMPOSE.read_text())
    required = {v for v, op in _references(compose_text) if op == ":?"}
    example: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^([A-Z0-9_]+)=(.*)$", line)
        if m:
            example[m.group(1)] = m.group(2)
    assert required == set(example), (f"required in compose but not in .env.example: {required - set(example)}; "
                                      f"in .env.example but not required: {set(example) - required}")
    filled = {k for k, v in example.items() if v}
    assert not filled, f".env.example must not carry values (nor inline comments, which become values): {filled}"
    optional = {v for v, op in _references(compose_text) if op == ":-"}
    documented = set(re.findall(r"^#([A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    assert optional <= documented, f"optional variables not documented in .env.example: {optional - documented}"


# --- compose: Airflow -----------------------------------------------------------------------------

def test_airflow_runs_local_executor_on_postgres(services: dict[str, Any]) -> None:
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert conn.startswith("postgresql+psycopg2://airflow:${AIRFLOW_DB_PASSWORD:?"), name
        assert conn.endswith("@postgres:5432/airflow"), name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/kho/dags", name
        for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
            assert env[key].startswith("${"), f"{name}: {key}"
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "airflow"
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    init = _command(services["airflow-init"])
    assert init.startswith("sh -c airflow db migrate && "), init
    assert "python -m kho.airflow_runner pools > /tmp/pools.json && airflow pools import /tmp/pools.json" in init
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    commands = {name: _command(services[name]) for name in AIRFLOW_SERVICES}
    assert commands["airflow-api-server"].startswith("airflow api-server")
    assert commands["airflow-scheduler"] == "airflow scheduler"
    assert commands["airflow-dag-processor"] == "airflow dag-processor"
    assert commands["airflow-triggerer"] == "airflow triggerer"


def test_only_task_runners_get_the_pipeline_secrets(services: dict[str, Any]) -> None:
    for name in ("airflow-scheduler", "kho"):
        env = _env(services[name])
        assert env["KHO_PSEUDONYM_KEY"].startswith("${KHO_PSEUDONYM_KEY:?")
        assert env["AIRFLOW_CONN_KHO_SRC_POPULATION"].startswith("${AIRFLOW_CONN_KHO_SRC_POPULATION:?")
    for name in ("airflow-api-server", "airflow-dag-processor", "airflow-triggerer", "airflow-init"):
        assert "KHO_PSEUDONYM_KEY" not in _env(services[name]), name


# --- compose: Spark ---------------------------------------------------------------------------------

def test_spark_workers_point_at_the_master(services: dict[str, Any]) -> None:
    master = _command(services["spark-master"])
    assert "org.apache.spark.deploy.master.Master" in master
    assert "--host spark-master --port 7077" in master
    worker = services["spark-worker"]
    assert "org.apache.spark.deploy.worker.Worker spark://spark-master:7077" in _command(worker)
    assert worker["depends_on"]["spark-master"]["condition"] == "service_healthy"
    assert str(worker["deploy"]["replicas"]) == "${KHO_SPARK_WORKERS:-2}"
    assert "container_name" not in worker, "a fixed container name prevents --scale"
    assert _env(services["airflow-scheduler"])["KHO_SPARK_MASTER"] == "spark://spark-master:7077"


def test_every_spark_process_shares_the_auth_secret(services: dict[str, Any]) -> None:
    for name in ("spark-master", "spark-worker", "airflow-scheduler", "kho"):
        assert _env(services[name])["KHO_SPARK_AUTH_SECRET"].startswith("${KHO_SPARK_AUTH_SECRET:?"), name
    assert "spark.master.rest.enabled=false" in _env(services["spark-master"])["SPARK_MASTER_OPTS"]


def test_kho_image_is_built_from_the_dockerfile(compose: dict[str, Any], services: dict[str, Any]) -> None:
    build = compose["x-kho-image"]["build"]
    assert (COMPOSE_DIR / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    for name in ("spark-master", "spark-worker", "airflow-init", *AIRFLOW_SERVICES, "kho"):
        assert services[name]["image"] == "${KHO_IMAGE:-kho:local}", name


# --- Dockerfile -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


def test_dockerfile_installs_from_the_lock(dockerfile: str) -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", dockerfile, re.M)
    assert "COPY requirements.lock ./" in dockerfile
    assert re.search(r"uv pip install --system .*-r requirements\.lock", dockerfile)
    assert re.search(r"uv pip install --system --no-deps --no-build-isolation -e \.", dockerfile)
    makefile_uv = re.search(r"^UV_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert makefile_uv and f"ARG UV_VERSION={makefile_uv.group(1)}" in dockerfile, "uv version differs from the Makefile"
    assert "openjdk-17-jre-headless" in dockerfile


def test_dockerfile_bakes_the_jars_the_code_names(dockerfile: str) -> None:
    # Delta + JDBC come from kho.spark.PACKAGES through `kho setup jars`; S3A from kho.storage.
    assert "RUN kho setup jars" in dockerfile
    assert "spark_s3a_packages()" in dockerfile
    assert "io.delta:delta-spark_4.2_2.13:4.4.0" in PACKAGES
    assert spark_s3a_packages() == ("org.apache.hadoop:hadoop-aws:3.5.0", "software.amazon.awssdk:bundle:2.35.4")


def test_dockerfile_runs_as_non_root_with_dags_baked_in(dockerfile: str) -> None:
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0"), "the image must end as a non-root user"
    uid = re.search(r"^ARG KHO_UID=(\d+)", dockerfile, re.M)
    assert uid and int(uid.group(1)) > 0 and users[-1] == "${KHO_UID}"
    assert "COPY dags ./dags" in dockerfile
    assert "AIRFLOW__CORE__DAGS_FOLDER=/opt/kho/dags" in dockerfile
    for folder in re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.M):
        assert (ROOT / folder).is_dir(), f"the Dockerfile copies {folder}/, which does not exist"
    assert "site-packages/pyspark" in dockerfile and "python3.11" in dockerfile


def test_dockerignore_keeps_state_and_secrets_out() -> None:
    entries = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for entry in (".venv", ".kho", "lake", ".cache", ".git", "**/.env"):
        assert entry in entries, f".dockerignore does not exclude {entry}"
    for needed in ("kho", "dags", "spark_jobs", "dbt_project", "expectations", "requirements.lock",
                   "pyproject.toml", "README.md"):
        assert needed not in entries, f".dockerignore excludes {needed}, which the image needs"


# --- Helm values (official Apache Airflow chart) ------------------------------------------------------

@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text())


def test_helm_values_executor_database_and_image(values: dict[str, Any]) -> None:
    assert values["executor"] == "LocalExecutor"
    assert values["postgresql"]["enabled"] is False
    assert values["data"]["metadataSecretName"]
    assert "metadataConnection" not in values["data"], "the database URL belongs in a Secret"
    image = values["images"]["airflow"]
    assert image["repository"] == values["defaultAirflowRepository"]
    assert str(image["tag"]) == str(values["defaultAirflowTag"])
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M)
    assert pinned and values["airflowVersion"] == pinned.group(1), "airflowVersion must match requirements.lock"


def test_helm_values_bake_the_dags_in(values: dict[str, Any]) -> None:
    assert values["dags"]["gitSync"]["enabled"] is False
    assert values["dags"]["persistence"]["enabled"] is False
    assert values["config"]["core"]["dags_folder"] == "/opt/kho/dags"


def test_helm_values_take_every_secret_from_kubernetes_secrets(values: dict[str, Any]) -> None:
    for literal in ("fernetKey", "jwtSecret", "apiSecretKey", "webserverSecretKey"):
        assert not values.get(literal), f"{literal} must come from a Secret, not the values file"
    for ref in ("fernetKeySecretName", "jwtSecretName", "apiSecretKeySecretName"):
        assert values[ref], ref
    env_from = yaml.safe_load(values["extraEnvFrom"])
    secret_names = {item["secretRef"]["name"] for item in env_from}
    assert {"kho-pipeline", "kho-source-connections"} <= secret_names
    for item in values["env"]:
        assert not SECRET_NAME.search(item["name"]), f"{item['name']} is a secret: put it in a Secret"
    env = {item["name"]: item["value"] for item in values["env"]}
    assert env["KHO_SPARK_MASTER"].startswith("spark://")
    assert env["KHO_PROFILE"] == "cluster"
    text = _without_comments(HELM_VALUES.read_text())
    assert not re.search(r"://[^/\s@$]+:[^/\s@$]+@", text), "credentials written in a URL"
    assert values["createUserJob"]["defaultUser"]["enabled"] is False  # FAB is not in the image


def test_the_pools_document_names_every_pool_a_dag_uses() -> None:
    """What the cluster's `airflow pools import` reads: every `pool=` a DAG names is declared
    (a missing pool leaves the task unscheduled forever), each with one slot."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "kho.airflow_runner", "pools"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    doc = json.loads(out)
    assert all(p == {"slots": 1, "description": p["description"], "include_deferred": False} for p in doc.values())
    dags = "\n".join(f.read_text() for f in (ROOT / "dags").glob("*.py"))
    literal = set(re.findall(r'pool="([^"{}]+)"', dags))
    assert literal and literal <= doc.keys(), literal - doc.keys()
    assert "raw.population.citizen" in doc and "processed.population.citizen" in doc


PRELOAD = "kho.airflow_preload"


def test_every_deployment_forks_tasks_with_gx_preloaded(services: dict[str, Any]) -> None:
    """The scheduler's LocalExecutor workers come from a forkserver that imports kho.airflow_preload
    (Great Expectations), so no task pays GX's import in its first quality gate (issue 6)."""
    env = _env(services["airflow-scheduler"])
    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    assert PRELOAD in env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"].split(",")
    scheduler = yaml.safe_load(HELM_VALUES.read_text())["config"]["scheduler"]
    assert scheduler["mp_start_method"] == "forkserver"
    assert PRELOAD in scheduler["mp_forkserver_preload"].split(",")
    local = (ROOT / "infra" / "local" / "airflow-cluster.sh").read_text()
    assert "AIRFLOW__SCHEDULER__MP_START_METHOD=\"${AIRFLOW__SCHEDULER__MP_START_METHOD:-forkserver}\"" in local
    assert re.search(rf"^KHO_FORKSERVER_PRELOAD=\S*{re.escape(PRELOAD)}", local, re.MULTILINE)
