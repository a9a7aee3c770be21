"""Integrated-zone DAGs beside the population pipeline (which keeps the citizen entity itself).

* ``integrate_reference`` (daily): the administrative-unit entity from the versioned reference
  catalogues (SCD2).
* ``integrate_citizen_links``: whenever a processed table naming people by CCCD, or the
  citizen entity, changes (Airflow Assets): the citizen links and their match statistics.
* ``integrate_business_land``: when business, land or permit tables change: the business and
  parcel entities (SCD2) and their links by tax code and parcel key.

After each job, the suite of every table it wrote runs on what the run changed
(kho.quality_gate.check_integrated); a critical failure fails the task without retry.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

DEFAULTS = {"owner": "kho-data-platform", "retries": int(os.environ.get("KHO_TASK_RETRIES", "2")),
            "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True}
START = pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh")


def _asset(ref: str) -> Asset:
    return Asset(name=ref.replace("/", "."), uri=f"file:///kho/{ref}")


def _run(module: str) -> dict:
    import importlib

    from airflow.sdk.exceptions import AirflowFailException

    from kho import quality_gate
    from kho.settings import get_settings
    from kho.spark import get_spark

    context = get_current_context()
    settings = get_settings()
    job = importlib.import_module(f"spark_jobs.{module}")
    when = context.get("logical_date") or pendulum.now("UTC")  # asset-triggered runs have no logical date
    quality_gate.warm_up()  # GX imports in the background while Spark runs
    summary = job.run(get_spark(settings, app_name=f"kho-{module}"), settings, logical_date=when.date())
    try:
        gates = quality_gate.check_integrated(settings, module, summary, logical_date=when.date(),
                                              run_id=str(context["run_id"]), dag_id=context["ti"].dag_id)
    except quality_gate.QualityGateFailed as exc:  # the data will not change on a retry
        raise AirflowFailException(str(exc)) from exc
    quality_gate.refresh_data_docs()
    return summary | {"quality": [g.as_dict() for g in gates]}


@dag(dag_id="integrate_reference", schedule="@daily", start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULTS, tags=["integrated", "reference", "kho"], doc_md=__doc__)
def integrate_reference():
    task(task_id="admin_unit", pool="integrated.reference.admin_unit",
         outlets=[_asset("integrated/reference/admin_unit")])(_run)("admin_unit_integrated")


def _link_inputs() -> list[Asset]:
    from spark_jobs.citizen_links import LINKS

    return [_asset("integrated/citizen/citizen"), *{_asset(f"processed/{link.table}") for link in LINKS}]


@dag(dag_id="integrate_citizen_links", schedule=_link_inputs(), start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULTS, tags=["integrated", "citizen", "kho"], doc_md=__doc__)
def integrate_citizen_links():
    task(task_id="citizen_links", pool="integrated.citizen.citizen_link",
         outlets=[_asset("integrated/citizen/citizen_link")])(_run)("citizen_links")


BUSINESS_LAND_INPUTS = ["processed/business_registration/enterprise", "processed/business_registration/household_business",
                        "processed/land/land_parcel", "processed/land/land_certificate", "processed/land/land_transaction",
                        "processed/construction_permits/construction_permit"]


@dag(dag_id="integrate_business_land", schedule=[_asset(r) for r in BUSINESS_LAND_INPUTS], start_date=START,
     catchup=False, max_active_runs=1, default_args=DEFAULTS, tags=["integrated", "enterprise", "land", "kho"],
     doc_md=__doc__)
def integrate_business_land():
    task(task_id="business_and_parcels", pool="integrated.enterprise.business",
         outlets=[_asset("integrated/enterprise/business"), _asset("integrated/land/parcel")])(_run)(
        "business_land_integrated")


integrate_reference()
integrate_citizen_links()
integrate_business_land()
