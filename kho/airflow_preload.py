"""Imported once by the Airflow scheduler's forkserver, so every task starts with GX loaded.

With LocalExecutor, Airflow runs each task in a process forked from an executor worker, and
the workers come from the scheduler's ``multiprocessing`` start method. Configured as

    AIRFLOW__SCHEDULER__MP_START_METHOD=forkserver
    AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD=airflow,airflow.executors.local_executor,kho.airflow_preload

the forkserver imports this module once when the scheduler starts, the workers are forked
from it and the task processes from them: each task inherits Great Expectations (and what it
pulls in: pandas, numpy, pyarrow, SQLAlchemy) already imported, copy-on-write, instead of
paying the 4-6 s import in its first quality gate. On two cores that import was most of a
small raw load's task (bench/quality_overhead.py, ``per_task``).

Then one small validation is rehearsed in a throwaway copy of the GX project
(``quality.rehearse_validation``), so GX's one-time set-up of a process (0.4-0.7 s: lazy
imports, registries, the SQL dialect, the Data Docs renderers) is inherited too. Nothing stays
open (a fork would inherit files, sockets and threads): the rehearsal's files are deleted and
its threads stopped; delta-rs must not start its runtime before a fork (stack notes: it is
not fork-safe), so it is not touched; each task opens its own GX context (0.05 s). A failure
is logged and swallowed: the forkserver must start anyway, and the first gate then pays the
import itself and reports the real error.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

PRELOADED: dict[str, float] = {}  # module -> seconds its import took here (for logs and tests)


def preload() -> dict[str, float]:
    """Import what every Kho task needs and is slow to import; idempotent."""
    if PRELOADED:
        return PRELOADED
    t = time.perf_counter()
    try:
        from kho import quality

        quality.import_gx()
    except Exception as exc:  # noqa: BLE001 - the forkserver must start; the gate reports it
        log.warning("kho.airflow_preload: Great Expectations was not preloaded (%s); each task's "
                    "first quality gate will import it", exc)
        return PRELOADED
    PRELOADED["great_expectations"] = round(time.perf_counter() - t, 2)
    try:
        PRELOADED["rehearsal"] = round(quality.rehearse_validation(), 2)
    except Exception as exc:  # noqa: BLE001 - as above: only the tasks' first gate gets slower
        log.warning("kho.airflow_preload: the rehearsal validation failed (%s); each task's first "
                    "quality gate will pay GX's one-time set-up", exc)
    log.info("kho.airflow_preload: Great Expectations preloaded: %s (seconds)", PRELOADED)
    return PRELOADED


preload()
