"""Settings and profiles: the one switch between the embedded and the cluster profile.

Everything that differs between a laptop and a cluster (where the lake lives, where
the sector databases are, how Spark is reached) is read here once and injected into
jobs, DAG tasks and the CLI. No other module looks at the profile name.

Resolution order for each value: environment variable, then the profile YAML
(``kho/profiles/<profile>.yaml``), then the built-in default.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

ENV_PREFIX = "KHO_"


def project_root() -> Path:
    """The checkout that holds dags/, dbt_project/ and expectations/.

    ``KHO_PROJECT_ROOT`` wins; otherwise the parent of this package, which is right for
    an editable install (the only supported install while the project is young).
    """
    env = os.environ.get("KHO_PROJECT_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    driver_memory: str = "2g"
    shuffle_partitions: int = 4
    extra_conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    profile: str
    project_root: Path
    lake_root: str
    state_dir: Path
    serving_db: Path
    sources: dict[str, str]
    spark: SparkSettings
    pseudonym_key_file: Path

    # -- derived locations -------------------------------------------------------------
    @property
    def sources_dir(self) -> Path:
        return self.state_dir / "sources"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def build_dir(self) -> Path:
        """Scratch space for write-audit-publish: marts are built here before publishing."""
        return self.state_dir / "build"

    @property
    def jars_dir(self) -> Path:
        return self.project_root / ".cache" / "jars"

    @property
    def dags_dir(self) -> Path:
        return self.project_root / "dags"

    @property
    def dbt_project_dir(self) -> Path:
        """``KHO_DBT_PROJECT_DIR`` points a run at another copy of the project (tests, branches)."""
        override = os.environ.get("KHO_DBT_PROJECT_DIR")
        return Path(override) if override else self.project_root / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_root / "expectations"

    def source_url(self, system: str) -> str:
        try:
            return self.sources[system]
        except KeyError:
            raise KeyError(
                f"no connection configured for source system {system!r}; set "
                f"{ENV_PREFIX}SOURCE_{system.upper()}_URL or add it under 'sources:' in "
                f"kho/profiles/{self.profile}.yaml"
            ) from None

    def pseudonym_key(self) -> bytes:
        """The HMAC key for pseudonyms: from KHO_PSEUDONYM_KEY, else a local key file.

        The embedded profile creates a random key file on first use (git-ignored), so a
        demo works out of the box and no key ever lands in the repository. Other profiles
        must provide the key: a missing key there is an error, not a silent default.
        """
        env = os.environ.get("KHO_PSEUDONYM_KEY")
        if env:
            return env.encode()
        path = self.pseudonym_key_file
        if path.exists():
            key = path.read_text().strip()
            if len(key) < 32:
                raise RuntimeError(f"pseudonym key file {path} holds {len(key)} characters; a key needs at least 32 "
                                   "(delete it on the embedded profile to generate a new one, which changes pseudonyms)")
            return key.encode()
        if self.profile != "embedded":
            raise RuntimeError(
                f"no pseudonym key: set KHO_PSEUDONYM_KEY or create {path} (profile {self.profile})"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # created 0600 from the first byte (write-then-chmod leaves a readable window)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            return path.read_text().strip().encode()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def _abs(root: Path, value: str | os.PathLike[str]) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (root / p)


def _abs_uri(root: Path, value: str) -> str:
    """Lake roots may be URIs (s3://...) or paths; only paths are made absolute."""
    return value if "://" in value else str(_abs(root, value).resolve())


def _sqlite_abs(root: Path, url: str) -> str:
    """Relative sqlite:/// URLs are relative to the project root, not the working directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(_abs(root, url[len(prefix):]))
    return url


def _serving_db(root: Path, state_dir: Path, value: str) -> Path:
    """The serving DuckDB file: a file DuckDB can lock, so never inside an object-store lake
    (a profile's ``{lake_root}/_serving/...`` with ``KHO_LAKE_ROOT=s3://...`` falls back to
    ``{state_dir}/serving/kho.duckdb``)."""
    if "://" in value:
        return state_dir / "serving" / "kho.duckdb"
    return _abs(root, value)


def load_settings(profile: str | None = None) -> Settings:
    root = project_root()
    profile = profile or os.environ.get("KHO_PROFILE", "embedded")
    try:
        text = resources.files("kho.profiles").joinpath(f"{profile}.yaml").read_text()
    except FileNotFoundError:
        known = sorted(p.name.removesuffix(".yaml") for p in resources.files("kho.profiles").iterdir()
                       if p.name.endswith(".yaml"))
        raise ValueError(f"unknown profile {profile!r}; known profiles: {', '.join(known)}") from None
    raw = yaml.safe_load(text) or {}

    def pick(key: str, default: object = None) -> object:
        return os.environ.get(ENV_PREFIX + key.upper(), raw.get(key, default))

    state_dir = _abs(root, str(pick("state_dir", ".kho")))
    lake_root = _abs_uri(root, str(pick("lake_root", "lake")))

    def expand(value: str) -> str:
        """Profiles may place files under {state_dir} or {lake_root}."""
        return value.replace("{state_dir}", str(state_dir)).replace("{lake_root}", lake_root)

    sources = {name: _sqlite_abs(root, expand(url)) for name, url in (raw.get("sources") or {}).items()}
    for key, value in os.environ.items():  # KHO_SOURCE_<SYSTEM>_URL overrides one source
        name = key[len("KHO_SOURCE_"):-len("_URL")].lower() if key.startswith("KHO_SOURCE_") and key.endswith("_URL") else ""
        if name:
            sources[name] = _sqlite_abs(root, value)
    spark_raw = raw.get("spark") or {}
    spark = SparkSettings(
        master=os.environ.get("KHO_SPARK_MASTER", spark_raw.get("master", "local[2]")),
        driver_memory=os.environ.get("KHO_SPARK_DRIVER_MEMORY", spark_raw.get("driver_memory", "2g")),
        shuffle_partitions=int(os.environ.get("KHO_SPARK_SHUFFLE_PARTITIONS",
                                              spark_raw.get("shuffle_partitions", 4))),
        extra_conf={str(k): str(v) for k, v in (spark_raw.get("conf") or {}).items()},
    )
    return Settings(
        profile=profile,
        project_root=root,
        lake_root=lake_root,
        state_dir=state_dir,
        serving_db=_serving_db(root, state_dir, expand(str(pick("serving_db", "{state_dir}/serving/kho.duckdb")))),
        sources=sources,
        spark=spark,
        pseudonym_key_file=_abs(root, expand(str(pick("pseudonym_key_file", "{state_dir}/secrets/pseudonym.key")))),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests that change the environment call ``get_settings.cache_clear()``."""
    return load_settings()
