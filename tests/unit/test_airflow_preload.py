"""kho.airflow_preload: what the Airflow scheduler's forkserver imports once for every task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def _gx_loaded() -> bool:
    return "great_expectations" in sys.modules


def test_importing_it_imports_great_expectations_and_says_how_long_it_took() -> None:
    code = ("import json, sys, kho.airflow_preload as p; "
            "print(json.dumps({'gx': 'great_expectations' in sys.modules, 'took': p.PRELOADED}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["gx"] is True
    assert report["took"]["great_expectations"] > 0


def test_a_process_of_a_forkserver_that_preloads_it_starts_with_gx_imported() -> None:
    """What Airflow does with [scheduler] mp_start_method=forkserver and mp_forkserver_preload:
    the executor's workers (and the tasks they fork) inherit the import, the parent never pays
    it. In a fresh interpreter: this one's forkserver may already run, without the preload."""
    code = """if True:
        import multiprocessing, sys
        from tests.unit.test_airflow_preload import _gx_loaded
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["kho.airflow_preload"])
        with ctx.Pool(1) as pool:
            print(pool.apply(_gx_loaded), _gx_loaded())
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.split() == ["True", "False"]  # the worker has GX; its parent never imported it


def test_the_rehearsal_leaves_no_thread_file_or_cached_context_behind(tmp_path: Path) -> None:
    code = """if True:
        import json, os, tempfile, threading
        from kho import quality
        quality.import_gx()
        before = set(os.listdir(tempfile.gettempdir()))
        seconds = quality.rehearse_validation()
        print(json.dumps({"seconds": seconds, "threads": [t.name for t in threading.enumerate()],
                          "contexts": list(quality._CONTEXTS),
                          "left": sorted(set(os.listdir(tempfile.gettempdir())) - before)}))
    """
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["seconds"] > 0
    assert report["threads"] == ["MainThread"]
    assert report["contexts"] == [] and report["left"] == []
