"""Tests for kho.privacy (keyed pseudonyms) and kho.settings (profiles, overrides, the key)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from pathlib import Path

import pytest

from kho import settings as kho_settings
from kho.privacy import PSEUDONYM_HEX_CHARS, pseudonym
from kho.settings import get_settings, load_settings, project_root

REPO = Path(__file__).resolve().parents[2]
HEX32 = re.compile(r"[0-9a-f]{32}")


# --- pseudonyms ---------------------------------------------------------------------------
def test_pseudonym_is_stable_32_hex_chars() -> None:
    p = pseudonym(b"key-1", "031090123456")
    assert PSEUDONYM_HEX_CHARS == 32
    assert HEX32.fullmatch(p)
    assert pseudonym(b"key-1", "031090123456") == p


def test_pseudonym_is_a_keyed_hmac_not_a_plain_hash() -> None:
    p = pseudonym(b"key-1", "031090123456")
    assert p == hmac.new(b"key-1", b"cccd:031090123456", hashlib.sha256).hexdigest()[:32]
    assert p not in (hashlib.sha256(b"031090123456").hexdigest()[:32],
                     hashlib.sha256(b"cccd:031090123456").hexdigest()[:32])


def test_pseudonym_differs_across_keys_identifiers_and_kinds() -> None:
    base = pseudonym(b"key-1", "0312345678")
    assert pseudonym(b"key-2", "0312345678") != base
    assert pseudonym(b"key-1", "0312345679") != base
    # A CCCD and a tax code with equal digits must not share a pseudonym.
    assert pseudonym(b"key-1", "0312345678", kind="tax_code") != base
    assert pseudonym(b"key-1", "0312345678", kind="cccd") == base


def test_pseudonym_of_none_is_none() -> None:
    assert pseudonym(b"key-1", None) is None
    assert pseudonym(b"key-1", None, kind="tax_code") is None
    assert pseudonym(b"key-1", "") is not None      # empty is a value; None is absence


def test_pseudonyms_do_not_collide_on_a_sample() -> None:
    ids = [f"031{n:09d}" for n in range(20_000)]
    assert len({pseudonym(b"k", i) for i in ids}) == len(ids)


# --- settings: profiles and overrides -----------------------------------------------------
def test_embedded_defaults(isolated_settings) -> None:
    s = load_settings()
    assert s.profile == "embedded"
    assert s.project_root == REPO == project_root()
    assert s.lake_root == str(isolated_settings.lake_root)
    assert s.state_dir == isolated_settings.state_dir
    assert s.sources_dir == isolated_settings.state_dir / "sources"
    assert s.airflow_home == isolated_settings.state_dir / "airflow"
    assert s.pseudonym_key_file == isolated_settings.key_file
    assert s.serving_db == isolated_settings.lake_root / "_serving" / "kho.duckdb"
    assert s.dags_dir == REPO / "dags" and s.dbt_project_dir == REPO / "dbt_project"
    assert s.spark.master == "local[2]" and s.spark.shuffle_partitions == 4


def test_env_overrides_lake_root_and_state_dir(isolated_settings, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("KHO_LAKE_ROOT", str(tmp_path / "elsewhere" / "lake"))
    monkeypatch.setenv("KHO_STATE_DIR", str(tmp_path / "elsewhere" / "state"))
    s = load_settings()
    assert s.lake_root == str(tmp_path / "elsewhere" / "lake")
    assert s.state_dir == tmp_path / "elsewhere" / "state"


def test_relative_overrides_are_relative_to_the_project_root(isolated_settings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_LAKE_ROOT", "some/lake")
    monkeypatch.setenv("KHO_STATE_DIR", "some/state")
    s = load_settings()
    assert s.lake_root == str(REPO / "some" / "lake")
    assert s.state_dir == REPO / "some" / "state"


def test_uri_lake_root_is_kept_verbatim(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_LAKE_ROOT", "s3a://kho-lake/prod")
    settings = load_settings()
    assert settings.lake_root == "s3a://kho-lake/prod"
    # the embedded profile keeps its serving file in the lake; a DuckDB file cannot live on S3
    assert settings.serving_db == settings.state_dir / "serving" / "kho.duckdb"


def test_project_root_override(isolated_settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KHO_PROJECT_ROOT", str(tmp_path / "checkout"))
    monkeypatch.delenv("KHO_STATE_DIR")
    s = load_settings()
    assert s.project_root == tmp_path / "checkout"
    assert s.state_dir == tmp_path / "checkout" / ".kho"
    assert s.sources["population"] == f"sqlite:///{tmp_path / 'checkout' / '.kho' / 'sources' / 'population.sqlite'}"


def test_source_urls_relative_sqlite_made_absolute(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_SOURCE_POPULATION_URL", "sqlite:///data/population.sqlite")
    url = load_settings().source_url("population")
    assert url == f"sqlite:///{REPO / 'data' / 'population.sqlite'}"
    assert url.startswith("sqlite:////")


def test_default_files_follow_the_state_dir(isolated_settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KHO_STATE_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("KHO_PSEUDONYM_KEY_FILE", raising=False)
    s = load_settings()
    assert s.source_url("population") == f"sqlite:///{tmp_path / 'elsewhere' / 'sources' / 'population.sqlite'}"
    assert s.pseudonym_key_file == tmp_path / "elsewhere" / "secrets" / "pseudonym.key"


def test_cluster_serving_db_stays_local_when_lake_is_on_s3(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_LAKE_ROOT", "s3://kho-lake")
    monkeypatch.delenv("KHO_SERVING_DB", raising=False)
    s = load_settings("cluster")
    assert "://" not in str(s.serving_db)
    assert s.serving_db.is_relative_to(s.state_dir)


def test_short_key_file_is_refused(isolated_settings) -> None:
    s = load_settings()
    s.pseudonym_key_file.parent.mkdir(parents=True, exist_ok=True)
    s.pseudonym_key_file.write_text("  \n")
    with pytest.raises(RuntimeError, match="at least 32"):
        s.pseudonym_key()


def test_source_url_env_overrides(isolated_settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KHO_SOURCE_POPULATION_URL", "postgresql://kho:kho@db:5432/pop")
    monkeypatch.setenv("KHO_SOURCE_LAND_URL", "sqlite:///data/land.sqlite")
    monkeypatch.setenv("KHO_SOURCE_HEALTH_URL", f"sqlite:///{tmp_path}/health.sqlite")
    s = load_settings()
    assert s.source_url("population") == "postgresql://kho:kho@db:5432/pop"
    assert s.source_url("land") == f"sqlite:///{REPO / 'data' / 'land.sqlite'}"
    assert s.source_url("health") == f"sqlite:///{tmp_path}/health.sqlite"      # absolute kept


def test_unknown_source_names_the_variable_to_set(isolated_settings) -> None:
    with pytest.raises(KeyError, match="KHO_SOURCE_WEATHER_URL"):
        load_settings().source_url("weather")


def test_spark_env_overrides(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_SPARK_MASTER", "spark://master:7077")
    monkeypatch.setenv("KHO_SPARK_SHUFFLE_PARTITIONS", "64")
    s = load_settings()
    assert s.spark.master == "spark://master:7077"
    assert s.spark.shuffle_partitions == 64


def test_profile_from_env_and_argument(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_PROFILE", "cluster")
    assert load_settings().profile == "cluster"
    assert load_settings().source_url("population").startswith("postgresql://")
    assert load_settings("embedded").profile == "embedded"


def test_unknown_profile_lists_known_profiles(isolated_settings) -> None:
    with pytest.raises(ValueError, match="unknown profile 'lakehouse'") as err:
        load_settings("lakehouse")
    assert "known profiles: cluster, embedded" in str(err.value)


def test_get_settings_is_cached_until_cleared(isolated_settings, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    first = get_settings()
    assert first.lake_root == str(isolated_settings.lake_root)
    monkeypatch.setenv("KHO_LAKE_ROOT", str(tmp_path / "other"))
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().lake_root == str(tmp_path / "other")


# --- settings: the pseudonym key ----------------------------------------------------------
def test_embedded_creates_a_private_key_file_once(isolated_settings) -> None:
    path = isolated_settings.key_file
    assert not path.exists()
    old_umask = os.umask(0)             # even a permissive umask must not expose the key
    try:
        key = load_settings().pseudonym_key()
    finally:
        os.umask(old_umask)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}", key.decode())
    assert load_settings().pseudonym_key() == key          # reused, not regenerated
    assert path.read_text().strip().encode() == key


def test_existing_key_file_is_used(isolated_settings) -> None:
    path = isolated_settings.key_file
    path.parent.mkdir(parents=True)
    path.write_text("my-managed-key-0123456789abcdef-0123456789\n")
    assert load_settings().pseudonym_key() == b"my-managed-key-0123456789abcdef-0123456789"


def test_key_from_environment_wins(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_PSEUDONYM_KEY", "from-vault")
    assert load_settings().pseudonym_key() == b"from-vault"
    assert not isolated_settings.key_file.exists()
    monkeypatch.setenv("KHO_PROFILE", "cluster")
    assert load_settings().pseudonym_key() == b"from-vault"


def test_cluster_without_key_refuses_to_invent_one(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_PROFILE", "cluster")
    with pytest.raises(RuntimeError, match="KHO_PSEUDONYM_KEY"):
        load_settings().pseudonym_key()
    assert not isolated_settings.key_file.exists()


def test_cluster_uses_a_provided_key_file(isolated_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_settings.key_file.parent.mkdir(parents=True)
    isolated_settings.key_file.write_text("provisioned-by-ops-0123456789abcdef-0123")
    monkeypatch.setenv("KHO_PROFILE", "cluster")
    assert load_settings().pseudonym_key() == b"provisioned-by-ops-0123456789abcdef-0123"


def test_isolated_settings_fixture_never_points_at_the_checkout(isolated_settings) -> None:
    s = get_settings()
    for path in (Path(s.lake_root), s.state_dir, s.pseudonym_key_file):
        assert isolated_settings.root in path.parents
    assert kho_settings.get_settings() is s
