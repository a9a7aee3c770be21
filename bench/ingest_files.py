"""Benchmark of the file-drop connector (kho.ingest.files) against plain pyarrow, printed as JSON.

The SF1 insurance drop (12 monthly CSVs with BOM, ~1.1 M rows, seed 42) is loaded twice on a
fresh lake:

* ``ingest_files``: checksum + ledger, all-string read, ingestion columns, per-record sha256,
  one Delta commit per file, reconciliation count, ledger and run-log rows;
* ``baseline``: ``pyarrow.csv.read_csv`` (types inferred) and ``pyarrow.parquet.write_table``,
  one Parquet file per CSV, nothing else.

The 2026-05 schema change would stop an ``evolve`` load at the sixth file, so the connector runs
with one object per schema version (files before / from 2026-05), the way a registry entry
with a rename mapping would be split; both paths read all 12 files.

    .venv/bin/python bench/ingest_files.py [--drop DIR] [--sf 1] [--out bench/results/ingest_files.json]

Target: connector rows/s >= 0.5 x baseline rows/s. Compare ratios, not absolute seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def _generate(folder: Path, sf: float) -> Path:
    from kho.sources import insurance

    t0 = time.perf_counter()
    insurance.generate(folder, seed=42, sf=sf)
    print(f"generated SF{sf} insurance drop in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return folder / "insurance"


def _baseline(files: list[Path], out: Path) -> tuple[int, float]:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    rows, t0 = 0, time.perf_counter()
    for f in files:
        table = pcsv.read_csv(f)
        pq.write_table(table, out / f"{f.stem}.parquet")
        rows += table.num_rows
    return rows, time.perf_counter() - t0


def _connector(files: list[Path], work: Path) -> tuple[int, float, list[dict]]:
    from kho.ingest.files import ingest_files
    from kho.settings import get_settings

    os.environ["KHO_LAKE_ROOT"] = str(work / "lake")
    os.environ["KHO_STATE_DIR"] = str(work / "state")
    get_settings.cache_clear()
    settings = get_settings()
    manifest = json.loads(next(files[0].parent.glob("*.manifest.json")).read_text())
    groups: dict[str, Path] = {}
    for f in files:  # one folder per schema version (see the module docstring)
        version = "v1" if "ma_dvhc" in manifest["files"][f.name]["columns"] else "v2"
        groups.setdefault(version, work / "drop" / version).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, groups[version] / f.name)
    results, t0 = [], time.perf_counter()
    for version, folder in sorted(groups.items()):
        results += ingest_files(settings, system="insurance", obj=f"bhxh_tham_gia_{version}", folder=folder,
                                pattern="*.csv", fmt="csv", options={"encoding": "utf-8-sig"},
                                schema_policy="evolve", expected_columns=None, logical_date=date(2026, 11, 1))
    seconds = time.perf_counter() - t0
    return sum(r.rows_written for r in results), seconds, [
        {"file": Path(r.file).name, "rows": r.rows_written, "seconds": r.seconds} for r in results]


def _warm() -> None:
    """Import what both paths use before timing: the benchmark measures throughput, not start-up."""
    import deltalake  # noqa: F401
    import pandas  # noqa: F401  (deltalake imports it on first table use)
    import duckdb
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import kho.ingest.files  # noqa: F401
    import kho.runlog  # noqa: F401

    con = duckdb.connect()
    con.sql("SELECT sha256('warm')").fetchall()
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drop", type=Path, help="an existing insurance drop folder (default: generate one)")
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kho-bench-ingest-"))
    try:
        drop = args.drop or _generate(work / "sources", args.sf)
        files = sorted(drop.glob("bhxh_tham_gia_*.csv"))
        size = sum(f.stat().st_size for f in files)
        _warm()
        base_rows, base_s = _baseline(files, work / "baseline")
        print(f"baseline: {base_rows} rows in {base_s:.2f}s", file=sys.stderr)
        rows, seconds, per_file = _connector(files, work / "connector")
        print(f"ingest_files: {rows} rows in {seconds:.2f}s", file=sys.stderr)
        if rows != base_rows:
            raise SystemExit(f"row counts differ: connector {rows}, baseline {base_rows}")
        result = {
            "benchmark": "ingest_files", "sf": args.sf if not args.drop else None, "files": len(files),
            "bytes": size, "rows": rows,
            "baseline": {"seconds": round(base_s, 2), "rows_per_s": round(base_rows / base_s)},
            "ingest_files": {"seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
                             "per_file": per_file},
            "ratio": round((rows / seconds) / (base_rows / base_s), 3), "target_ratio": 0.5,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        }
        text = json.dumps(result, indent=2)
        print(text)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
