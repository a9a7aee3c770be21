"""Benchmark of registry-driven ingestion on the largest source table, against a plain copy, as JSON.

The direct (database) sources are generated at the given scale factor into SQLite files (the
embedded profile's form), the largest declared table is picked by row count, and it is copied
twice in this one process:

* ``baseline``: the same DB-API driver fetching in the same chunks, ``pyarrow.parquet`` writing
  one Parquet file: the cheapest honest copy of that table to a columnar file;
* ``kho``: ``kho.ingest.loader.load_object`` on a fresh lake: schema reflection and policy,
  declared types, sha256 record hashes, diff against raw (the object's load mode), one Delta
  commit, reconciliation count, SHA-256 of the data files, cursor and run-log rows.

Then the same load is run again with an unchanged source (what a daily rerun costs).

    .venv/bin/python bench/ingest_sources.py [--sf 10] [--sources DIR] [--out bench/results/ingest_sources.json]

Target: kho rows/s >= 0.5 x baseline rows/s. Compare ratios, not absolute seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

DAY = date(2026, 11, 27)
DIRECT = ("population", "civil_status", "health", "business_registration", "land", "construction_permits")


def _generate(folder: Path, sf: float) -> None:
    from kho.sources import registry as generators

    have = {p.stem for p in folder.glob("*.sqlite")}
    missing = tuple(s for s in DIRECT if s not in have)
    if missing:
        t0 = time.perf_counter()
        generators.up(folder, sf=sf, seed=42, only=missing)
        print(f"generated {', '.join(missing)} at SF{sf} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _largest(folder: Path):
    from kho.ingest.registry import load_registry

    registry = load_registry()
    best = None
    for system in DIRECT:
        source = registry.get(system)
        with sqlite3.connect(folder / f"{system}.sqlite") as con:
            for obj in source.objects:
                n = con.execute(f"SELECT count(*) FROM {obj.source}").fetchone()[0]
                if best is None or n > best[2]:
                    best = (source, obj, n)
    return best


def _baseline(db: Path, table: str, out: Path) -> tuple[int, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    cur = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    writer, rows = None, 0
    while chunk := cur.fetchmany(50_000):
        cols = list(zip(*chunk))
        batch = pa.table({n: pa.array(list(c)) if not any(isinstance(v, str) for v in c[:1]) else
                          pa.array(list(c), pa.string()) for n, c in zip(names, cols)})
        if writer is None:
            writer = pq.ParquetWriter(out, batch.schema, compression="zstd")
        writer.write_table(batch.cast(writer.schema))
        rows += batch.num_rows
    if writer:
        writer.close()
    con.close()
    return rows, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=10.0)
    parser.add_argument("--sources", type=Path, default=None, help="folder with generated SQLite sources (reused)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kho-bench-ingest-"))
    folder = args.sources or work / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    _generate(folder, args.sf)
    source, obj, n = _largest(folder)
    db = folder / f"{source.system}.sqlite"
    print(f"largest table: {source.system}.{obj.source} ({n:,} rows, {obj.load_mode})", file=sys.stderr)

    base_rows, base_s = _baseline(db, obj.source, work / "baseline.parquet")
    print(f"baseline: {base_rows:,} rows in {base_s:.1f} s", file=sys.stderr)

    os.environ.update({"KHO_LAKE_ROOT": str(work / "lake"), "KHO_STATE_DIR": str(work / "state"),
                       f"AIRFLOW_CONN_{source.connection_id.upper()}": f"sqlite:///{db}"})
    from kho.ingest.loader import day_interval, load_object
    from kho.settings import get_settings

    get_settings.cache_clear()
    t0 = time.perf_counter()
    [first] = load_object(get_settings(), source, obj, day_interval(DAY))
    kho_s = time.perf_counter() - t0
    print(f"kho: {first.rows_written:,} rows in {kho_s:.1f} s", file=sys.stderr)
    t0 = time.perf_counter()
    [rerun] = load_object(get_settings(), source, obj, day_interval(DAY))
    rerun_s = time.perf_counter() - t0

    result = {
        "benchmark": "ingest_sources", "sf": args.sf, "table": f"{source.system}.{obj.source}",
        "load_mode": obj.load_mode, "rows": n,
        "baseline": {"what": "sqlite3 fetchmany -> pyarrow -> one zstd Parquet file", "rows": base_rows,
                     "seconds": round(base_s, 2), "rows_per_s": round(base_rows / base_s)},
        "kho": {"rows_read": first.rows_read, "rows_written": first.rows_written, "seconds": round(kho_s, 2),
                "rows_per_s": round(first.rows_written / kho_s), "bytes": first.bytes,
                "files": len(first.files), "delta_version": first.delta_version},
        "rerun_unchanged": {"rows_read": rerun.rows_read, "rows_written": rerun.rows_written,
                            "seconds": round(rerun_s, 2), "share_of_first_load": round(rerun_s / kho_s, 2)},
        "ratio_kho_to_baseline": round((first.rows_written / kho_s) / (base_rows / base_s), 3),
        "target_ratio": 0.5,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
