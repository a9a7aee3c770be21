"""Fixtures shared by all test layers.

``isolated_settings`` keeps a test away from the checkout's own lake, state and key:
it points every location the settings resolve at ``tmp_path`` and drops any ``KHO_*``
variable of the caller's shell that would change what the test sees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from kho import settings as kho_settings

# Variables that change what load_settings() returns; removed so a developer's shell
# (say KHO_PROFILE=cluster) cannot leak into a unit test.
_SETTINGS_ENV = (
    "KHO_PROFILE", "KHO_PROJECT_ROOT", "KHO_LAKE_ROOT", "KHO_STATE_DIR", "KHO_SERVING_DB",
    "KHO_PSEUDONYM_KEY", "KHO_PSEUDONYM_KEY_FILE", "KHO_SPARK_MASTER", "KHO_SPARK_DRIVER_MEMORY",
    "KHO_SPARK_SHUFFLE_PARTITIONS",
)


@dataclass(frozen=True)
class IsolatedPaths:
    root: Path
    lake_root: Path
    state_dir: Path
    key_file: Path


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IsolatedPaths]:
    """Settings resolve into ``tmp_path``; the cached process-wide settings are reset around the test."""
    for name in list(os.environ):
        if name in _SETTINGS_ENV or (name.startswith("KHO_SOURCE_") and name.endswith("_URL")):
            monkeypatch.delenv(name, raising=False)
    paths = IsolatedPaths(root=tmp_path, lake_root=tmp_path / "lake", state_dir=tmp_path / "state",
                          key_file=tmp_path / "secrets" / "pseudonym.key")
    monkeypatch.setenv("KHO_LAKE_ROOT", str(paths.lake_root))
    monkeypatch.setenv("KHO_STATE_DIR", str(paths.state_dir))
    # The key file does not follow KHO_STATE_DIR (it defaults to <project>/.kho/secrets),
    # so it is redirected explicitly: a test must never create or read the real key.
    monkeypatch.setenv("KHO_PSEUDONYM_KEY_FILE", str(paths.key_file))
    kho_settings.get_settings.cache_clear()
    yield paths
    kho_settings.get_settings.cache_clear()
