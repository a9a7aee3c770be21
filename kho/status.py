"""What the lake holds and what ran last: shared by ``kho status`` and the demo summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kho.lake import QUALITY_RESULTS, QUARANTINE_CITIZEN, RUN_LOG, Zone, delta_exists
from kho.settings import Settings

ZONE_ORDER = [Zone.RAW, Zone.PROCESSED, Zone.QUARANTINE, Zone.INTEGRATED, Zone.TOPIC, Zone.SYSTEM]


@dataclass(frozen=True)
class TableStat:
    table: str
    rows: int
    version: int


def lake_tables(settings: Settings) -> list[TableStat]:
    """Every Delta table under the lake root (zone/domain/table), with row count and version."""
    from deltalake import DeltaTable

    from kho.duck import connect

    root = Path(settings.lake_root)
    stats: list[TableStat] = []
    with connect() as con:
        for zone in ZONE_ORDER:
            for path in sorted(root.glob(f"{zone.value}/*/*")):
                if not (path / "_delta_log").is_dir():
                    continue
                rows = int(con.sql(f"SELECT count(*) FROM delta_scan('{path}')").fetchone()[0])
                stats.append(TableStat(str(path.relative_to(root)), rows, DeltaTable(str(path)).version()))
    return stats


def last_steps(settings: Settings, limit: int = 12) -> list[dict]:
    path = RUN_LOG.path(settings)
    if not delta_exists(path):
        return []
    from kho.duck import connect

    with connect() as con:
        rel = con.sql(f"""SELECT logical_date, step, status, batch_id, rows_in, rows_out, rows_quarantined,
                                 rows_duplicate, round(seconds, 1) AS seconds, finished_at, details
                          FROM delta_scan('{path}') ORDER BY finished_at DESC LIMIT {int(limit)}""")
        return [dict(zip(rel.columns, r)) for r in rel.fetchall()][::-1]


def quarantine_tables(settings: Settings) -> dict[str, str]:
    """``quarantine/<domain>/<table>`` -> path, for every quarantine table in the lake."""
    from kho.lake import zone_root

    root = zone_root(settings.lake_root, Zone.QUARANTINE)
    if "://" in root:
        return {str(QUARANTINE_CITIZEN): QUARANTINE_CITIZEN.path(settings)}
    return {f"quarantine/{p.parent.name}/{p.name}": str(p) for p in sorted(Path(root).glob("*/*"))
            if (p / "_delta_log").is_dir()}


def quarantine_by_reason(settings: Settings, *, by_batch: bool = False) -> list[tuple]:
    """Rejected rows per quarantine table and reason code (and per raw batch with ``by_batch``)."""
    from kho.duck import connect

    out: list[tuple] = []
    with connect() as con:
        for name, path in quarantine_tables(settings).items():
            if not delta_exists(path):
                continue
            batch = "_batch_id, " if by_batch else ""
            rows = con.sql(f"""SELECT {batch}reason_code, any_value(reason), count(*) FROM delta_scan('{path}')
                               GROUP BY ALL ORDER BY {'1 DESC, ' if by_batch else ''}count(*) DESC""").fetchall()
            out += [(name, *row) for row in rows]
    return out


def quality_verdicts(settings: Settings, logical_date: str | None = None) -> list[tuple]:
    """Per suite of the latest run (or of one logical date): passed, failed criticals, warnings."""
    path = QUALITY_RESULTS.path(settings)
    if not delta_exists(path):
        return []
    from kho.duck import connect

    where = f"WHERE logical_date = '{logical_date}'" if logical_date else ""
    with connect() as con:
        return con.sql(f"""
            WITH latest AS (
                SELECT *, max(run_time) OVER (PARTITION BY suite) AS last_run FROM delta_scan('{path}') {where})
            SELECT suite, target, bool_and(passed) AS passed,
                   count(*) FILTER (WHERE NOT success AND severity = 'critical') AS critical_failed,
                   count(*) FILTER (WHERE NOT success AND severity <> 'critical') AS warnings,
                   count(*) AS expectations
            FROM latest WHERE run_time = last_run GROUP BY ALL ORDER BY suite""").fetchall()


def zone_summary(settings: Settings) -> list[tuple[str, int, int]]:
    """(zone, tables, rows) for each zone: the short view when a lake holds hundreds of tables."""
    by_zone: dict[str, list[int]] = {}
    for t in lake_tables(settings):
        zone = t.table.split("/", 1)[0]
        entry = by_zone.setdefault(zone, [0, 0])
        entry[0] += 1
        entry[1] += t.rows
    return [(zone, n, rows) for zone, (n, rows) in by_zone.items()]
