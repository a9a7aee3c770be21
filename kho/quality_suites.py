"""Expectation suites generated from what the project already declares, so they never drift.

Every zone boundary has one suite per table, named after it:

* ``raw_<system>_<object>``: the raw contract, from the source registry
  (``kho/ingest/sources/<system>.yaml``): the declared columns and the ingestion columns are
  there, with the declared types (file drops keep every source column as text, so there the
  contract type is ``VARCHAR``); the primary key and ``_batch_id`` / ``_record_hash`` are
  never null; ``_op`` is ``U`` or ``D``; a column declared ``nullable: false`` is filled on
  every upsert row (a tombstone keeps only key and hash).
* ``processed_<domain>_<table>``: from the :class:`~kho.processed.base.ProcessedTable`
  declarations: ``record_id`` present and unique, the business key filled and unique (one
  survivor per key), ``commune_code`` one of the 114 current units, ``_completeness`` a
  count between 0 and the number of declared columns, and what the shared standardisers and
  the rule's own code tables guarantee (CCCD shape, sex, categorical codes ...).
* ``integrated_<domain>_<table>``: from kho/integrated/tables.py and the integrated jobs'
  attribute lists: SCD2 history invariants (one current version per key, ``valid_from <=
  valid_to``, a current version is open, a closed one is closed), pseudonyms present and
  well-formed, and no CCCD-shaped value in any column that is not declared personal data.
  Link tables: one link per (source table, role, record), a known match status, the entity
  key present unless the record named nobody.
* ``topic_<schema>_<model>``: from the dbt yml of every mart under
  ``dbt_project/models/marts/**``: the contract's columns, their ``data_type`` and the
  ``not_null`` columns. Whatever yml is there when the generator runs is used.

A generated expectation carries ``meta: {"kho_generated": true, "source": ...}``; the
generator rewrites only those. Expectations without the mark are hand-written and are kept,
in their order, after the generated ones. A suite whose ``meta`` has ``"kho_generator":
"off"`` is entirely hand-written and never touched (the population pipeline's suites, which
tests pin down). Files are written the way GX writes them (sorted keys, 2-space indent,
deterministic uuid5 ids), so a validation run, which makes GX re-save the suite, leaves them
byte-identical.

``kho quality suites`` writes them; ``kho quality suites --check`` fails when a committed
suite differs from what the generator makes (a unit test runs it).
"""

from __future__ import annotations

import csv
import importlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENERATED = "kho_generated"          # expectation meta: owned by this generator
SWITCH = "kho_generator"             # suite meta: "off" = a hand-written suite, left alone
GX_VERSION = "1.24.1"                # written into new suites, as GX itself does
# uuid5 namespace for suite and expectation ids (stable across runs and machines)
_NAMESPACE = uuid.UUID("5b1f2c0e-6f7a-4d8e-9c3b-2a1d0e9f8c7b")

# A CCCD (số định danh cá nhân): 12 digits, the first being 0 (the province codes are
# 001-096). "Contains" form: a CCCD inside a longer text, standing alone between separators
# (not letters either: a hex digest such as a record hash holds digit runs of that shape by
# chance: 144 link record ids at SF10 had one).
CCCD = r"^[0-9]{12}$"
CCCD_INSIDE = r"(^|[^0-9A-Za-z])0[0-9]{11}([^0-9A-Za-z]|$)"
# An enterprise tax code (mã số doanh nghiệp): 10 digits, -NNN for a branch
# (kho.standardise.identifiers.check_tax_codes rejects anything else).
TAX_CODE = r"^[0-9]{10}(-[0-9]{3})?$"

# -- processed: what each rule guarantees beyond the shared conventions ------------------------
# column -> "module:CONSTANT": a code table the rule maps the column through (any value it
# writes is one of the table's values), or a regex the rule rejects non-matching values by.
PROCESSED_CODE_TABLES: dict[str, dict[str, str]] = {
    "business_registration.enterprise": {"status": "kho.processed.business_registration:ENTERPRISE_STATUS",
                                         "legal_form": "kho.processed.business_registration:LEGAL_FORMS"},
    "business_registration.household_business": {"status": "kho.processed.business_registration:HOUSEHOLD_STATUS"},
    "business_registration.registration_change": {"change_type": "kho.processed.business_registration:CHANGE_TYPES"},
    "construction_permits.construction_permit": {"works_type": "kho.processed.construction_permits:WORKS_TYPES",
                                                 "investor_kind": "kho.processed.construction_permits:INVESTOR_KINDS",
                                                 "status": "kho.processed.construction_permits:PERMIT_STATUS"},
    "dossiers.dossier": {"status": "kho.processed.dossiers:STATUS_CODES",
                         "channel": "kho.processed.dossiers:CHANNEL_CODES",
                         "applicant_type": "kho.processed.dossiers:APPLICANT_TYPES"},
    "dossiers.procedure": {"level": "kho.processed.dossiers:LEVEL_CODES",
                           "online_level": "kho.processed.dossiers:ONLINE_LEVELS",
                           "eligible_applicants": "kho.processed.dossiers:ELIGIBLE_APPLICANTS"},
    "dossiers.agency": {"level": "kho.processed.dossiers:LEVEL_CODES"},
    "education.school": {"level": "kho.processed.education:LEVELS"},
    "health.health_facility": {"level": "kho.processed.health:FACILITY_LEVELS",
                               "facility_type": "kho.processed.health:FACILITY_TYPES"},
    "insurance.insurance_participant": {"category": "kho.processed.insurance:CATEGORY_CODES"},
    "iot.sensor_event": {"station_type": "kho.processed.iot:STATION_TYPES"},
    "iot.station": {"station_type": "kho.processed.iot:STATION_TYPES"},
    "labour.labour_register": {"employment_status": "kho.processed.labour:STATUS_CODES"},
    "labour.poor_household": {"poverty_type": "kho.processed.labour:POVERTY_CODES"},
    "land.land_certificate": {"holder_kind": "kho.processed.land:HOLDER_KINDS",
                              "status": "kho.processed.land:CERTIFICATE_STATUS"},
    "land.land_transaction": {"transaction_type": "kho.processed.land:TRANSACTION_TYPES"},
}
PROCESSED_PATTERNS: dict[str, dict[str, str]] = {
    "business_registration.enterprise": {"tax_code": "kho.processed.business_registration:TAX_CODE_SHAPE"},
    "business_registration.registration_change": {"tax_code": "kho.processed.business_registration:TAX_CODE_SHAPE"},
    "civil_status.birth_registration": {"registration_number": "kho.processed.civil_status:REGISTRATION_NUMBER"},
    "civil_status.marriage_registration": {"registration_number": "kho.processed.civil_status:REGISTRATION_NUMBER"},
    "civil_status.death_registration": {"registration_number": "kho.processed.civil_status:REGISTRATION_NUMBER"},
    "labour.poor_household": {"household_code": "kho.processed.labour:HOUSEHOLD_CODE"},
}
# Parts of a business key the rule may leave empty (survivorship keys them with a null
# marker): a land transaction's party is a person (CCCD) or an organisation (tax code), so one
# of each pair is null by design; a registration change with no effective date is flagged, not
# rejected (kho/processed/business_registration.py), and its description is free text.
OPTIONAL_KEY_PARTS: dict[str, frozenset[str]] = {
    "land.land_transaction": frozenset({"transferor_cccd", "transferor_tax_code",
                                        "transferee_cccd", "transferee_tax_code"}),
    "business_registration.registration_change": frozenset({"effective_date", "description"}),
}
# Columns the processed job adds to every table besides the rule's schema (spark_jobs/processed.py).
PROCESSED_JOB_COLUMNS = ("record_id", "_completeness", "_batch_id", "_record_hash", "_ingested_at", "_bk",
                         "_processed_at")

# -- integrated ---------------------------------------------------------------------------------
# Entity (SCD2) table -> "module:ATTRIBUTES" of the job that writes it: with the key and the
# history columns, the table's exact column set.
ENTITY_ATTRIBUTES: dict[str, str] = {
    "integrated/citizen/citizen": "spark_jobs.citizen_integrated:ATTRIBUTES",
    "integrated/reference/admin_unit": "spark_jobs.admin_unit_integrated:ATTRIBUTES",
    "integrated/enterprise/business": "spark_jobs.business_land_integrated:BUSINESS_ATTRIBUTES",
    "integrated/land/parcel": "spark_jobs.business_land_integrated:PARCEL_ATTRIBUTES",
}


# Pseudonym columns (kho.privacy keyed HMAC, or "DN:<tax code>" for an organisation) and the
# rows where one must be present. A present condition that the sources cannot always meet
# (a household registered without the owner's CCCD) is a warning, not a gate.
@dataclass(frozen=True)
class Pseudonym:
    column: str
    allow_enterprise_ref: bool = False            # "DN:<tax code>" is allowed besides the hash
    required_when: tuple[str, str] | None = None  # (column, value); None: always (a key)
    required_severity: str = "critical"


PSEUDONYMS: dict[str, tuple[Pseudonym, ...]] = {
    "integrated/citizen/citizen": (Pseudonym("citizen_key"),),
    "integrated/enterprise/business": (Pseudonym("owner_key", required_when=("kind", "household"),
                                                 required_severity="warning"),),
    "integrated/land/parcel": (Pseudonym("certificate_holder_ref", allow_enterprise_ref=True,
                                         required_when=("certificate_holder_kind", "person"),
                                         required_severity="warning"),),
    "integrated/citizen/citizen_link": (Pseudonym("citizen_key"),),
}
# What a link's match_status can be (the pivot of spark_jobs/citizen_links.py and
# business_land_integrated.py).
MATCH_STATUSES = ("ambiguous", "matched", "no_key", "unmatched")

# dbt data_type -> DuckDB's name for it, resolved by DuckDB itself (cached)
_DUCK_TYPES: dict[str, str] = {}


# -- model ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """One generated expectation: GX type, kwargs, severity and where the rule comes from."""

    type: str
    kwargs: Mapping[str, Any]
    source: str
    severity: str = "critical"

    def to_json(self, suite: str) -> dict[str, Any]:
        kwargs = _canonical_kwargs(self.type, dict(self.kwargs))
        ident = uuid.uuid5(_NAMESPACE, f"{suite}|{self.type}|{json.dumps(kwargs, sort_keys=True)}")
        return {"id": str(ident), "kwargs": kwargs, "meta": {GENERATED: True, "source": self.source},
                "severity": self.severity, "type": self.type}


@dataclass(frozen=True)
class SuiteSpec:
    """A generated suite: its name, the table it guards and its generated expectations."""

    name: str
    zone: str                    # raw | processed | integrated | topic
    table: str                   # lake table ("raw/population/citizen") or mart ("citizen.population_...")
    notes: str
    expectations: tuple[Expect, ...]


@dataclass
class SyncReport:
    """What :func:`sync` found (and, unless checking, did)."""

    written: list[str] = field(default_factory=list)     # created or changed
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)     # generated suites whose table is gone
    hand_written: list[str] = field(default_factory=list)  # suites with "kho_generator": "off"
    warnings: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.written and not self.removed


def _canonical_kwargs(kind: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Kwargs as GX 1.24 serialises them, so GX's re-save of a suite is a no-op.

    GX stores the bounds of column-value ranges as floats (``min_value: 0`` becomes ``0.0``)
    but keeps row-count bounds as integers; value sets stay as given (kept sorted here).
    """
    out = dict(kwargs)
    if kind in ("expect_column_values_to_be_between",):
        for bound in ("min_value", "max_value"):
            if isinstance(out.get(bound), int) and not isinstance(out.get(bound), bool):
                out[bound] = float(out[bound])
    if "value_set" in out:
        out["value_set"] = sorted(out["value_set"])
    if kind == "expect_table_columns_to_match_set" and out.get("exact_match") is True:
        del out["exact_match"]  # GX's default, which it drops when it saves the suite
    return out


def _resolve(ref: str) -> Any:
    """``"package.module:NAME"`` -> the object."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _codes_of(ref: str) -> list[str]:
    """The values a code table maps to: what the rule can write into the column."""
    value = _resolve(ref)
    if isinstance(value, Mapping):
        return sorted({str(v) for v in value.values()})
    return sorted({str(v) for v in value})


_DUCK_CON = None


def _duck():
    """One in-memory DuckDB connection for naming types (connecting costs ~20 ms each)."""
    global _DUCK_CON
    if _DUCK_CON is None:
        import duckdb

        _DUCK_CON = duckdb.connect()
    return _DUCK_CON


def duckdb_type(declared: str) -> str:
    """DuckDB's own name of a SQL type (``varchar`` -> ``VARCHAR``, ``int`` -> ``INTEGER``,
    ``numeric`` -> ``DECIMAL(18,3)``), as ``DESCRIBE`` reports it: what the GX type check sees."""
    import duckdb

    key = declared.strip().lower()
    if key not in _DUCK_TYPES:
        try:
            _DUCK_TYPES[key] = _duck().execute(f"SELECT typeof(CAST(NULL AS {declared}))").fetchone()[0]
        except duckdb.Error as exc:
            raise ValueError(f"{declared!r} is not a type DuckDB knows: {exc}") from None
    return _DUCK_TYPES[key]


def _arrow_to_duckdb(arrow_type) -> str:
    """DuckDB's name for an Arrow type (what a Delta column of that type reads as)."""
    import pyarrow as pa

    key = f"arrow:{arrow_type}"
    if key not in _DUCK_TYPES:
        con = _duck()
        con.register("kho_empty", pa.schema([("c", arrow_type)]).empty_table())
        _DUCK_TYPES[key] = con.execute("DESCRIBE SELECT * FROM kho_empty").fetchone()[1]
        con.unregister("kho_empty")
    return _DUCK_TYPES[key]


def _not_null(column: str, source: str, severity: str = "critical", when: tuple[str, Any] | None = None,
              op: str = "==") -> Expect:
    kwargs: dict[str, Any] = {"column": column}
    if when is not None:
        kwargs["row_condition"] = _condition(when[0], when[1], op)
    return Expect("expect_column_values_to_not_be_null", kwargs, source, severity)


def _condition(column: str, value: Any, op: str = "==") -> dict[str, Any]:
    """A GX 1.x row condition (serialised form of ``Column(column) <op> value``)."""
    return {"column": {"name": column}, "operator": op, "parameter": value, "type": "comparison"}


def _in_set(column: str, values: Iterable[Any], source: str, severity: str = "critical") -> Expect:
    return Expect("expect_column_values_to_be_in_set", {"column": column, "value_set": list(values)}, source, severity)


def _regex(column: str, pattern: str, source: str, severity: str = "critical") -> Expect:
    return Expect("expect_column_values_to_match_regex", {"column": column, "regex": pattern}, source, severity)


def _unique(columns: tuple[str, ...] | list[str], source: str, when: tuple[str, Any] | None = None) -> Expect:
    if len(columns) == 1:
        kwargs: dict[str, Any] = {"column": columns[0]}
        if when is not None:
            kwargs["row_condition"] = _condition(*when)
        return Expect("expect_column_values_to_be_unique", kwargs, source)
    # rows with some empty key parts count too (survivorship keys them with a null marker)
    return Expect("expect_compound_columns_to_be_unique", {"column_list": list(columns), "ignore_row_if": "never"},
                  source)


def _columns(columns: Iterable[str], source: str, exact: bool) -> Expect:
    return Expect("expect_table_columns_to_match_set", {"column_set": list(columns), "exact_match": exact}, source)


def _of_type(column: str, type_: str, source: str) -> Expect:
    return Expect("expect_column_values_to_be_of_type", {"column": column, "type_": type_}, source)


# -- raw contracts ----------------------------------------------------------------------------

def raw_suite_name(system: str, obj: str) -> str:
    return f"raw_{system}_{obj}"


def raw_suites(registry=None) -> list[SuiteSpec]:
    """One contract suite per registered object."""
    from kho.ingest import files, loader
    from kho.ingest.registry import load_registry, raw_table
    from kho.ingest.types import arrow_type

    registry = registry or load_registry()
    out = []
    for source, obj in registry.objects():
        where = f"kho/ingest/sources/{source.system}.yaml"
        file_transport = source.transport in ("file_drop", "stream")
        ingest = files.INGEST_COLUMNS if file_transport else loader.RAW_COLUMNS
        required = [c.name for c in obj.expected_schema if not c.optional]
        exp: list[Expect] = [_columns([*required, *ingest], f"{where}: expected_schema ({obj.schema_policy}) and "
                                      "the ingestion columns", exact=obj.schema_policy == "freeze")]
        for column in obj.expected_schema:
            if column.optional:
                continue  # deliveries before it existed lack it
            # file drops land every source column as text (kho/ingest/files.py): processed types them
            type_ = "VARCHAR" if file_transport else _arrow_to_duckdb(arrow_type(column.type))
            exp.append(_of_type(column.name, type_, f"{where}: {column.name} {column.type}"
                                + (" (file drops keep text)" if file_transport else "")))
        for key in obj.primary_key:
            exp.append(_not_null(key, f"{where}: primary_key (kept on tombstones too)"))
        upsert = None if file_transport else ("_op", "U")
        for column in obj.expected_schema:
            if not column.nullable and column.name not in obj.primary_key:
                exp.append(_not_null(column.name, f"{where}: {column.name} nullable: false", when=upsert))
        exp.append(_not_null("_batch_id", "kho/ingest/loader.py: every raw row belongs to a batch"))
        exp.append(_not_null("_record_hash", "kho/ingest/loader.py: the diff and dedup key"))
        exp.append(_not_null("_ingested_at", "kho/ingest/loader.py: ingestion time"))
        if file_transport:
            exp.append(_not_null("_source_file", "kho/ingest/files.py: the file a row came from"))
        else:
            exp.append(_not_null("_op", "kho/ingest/loader.py: U upsert / D tombstone"))
            exp.append(_in_set("_op", ["D", "U"], "kho/ingest/loader.py: U upsert / D tombstone"))
        ref = raw_table(source, obj)
        out.append(SuiteSpec(
            name=raw_suite_name(source.system, obj.name), zone="raw", table=str(ref),
            notes=f"raw zone contract of {source.system}.{obj.name} ({obj.load_mode}, schema {obj.schema_policy}) "
                  f"-> {ref}; generated from {where}",
            expectations=tuple(exp)))
    return out


# -- processed --------------------------------------------------------------------------------

def processed_suite_name(domain: str, table: str) -> str:
    return f"processed_{domain}_{table}"


def commune_codes() -> list[str]:
    """The 114 current commune-level unit codes (kho/reference/admin_units.csv)."""
    path = Path(__file__).resolve().parent / "reference" / "admin_units.csv"
    with path.open(encoding="utf-8") as fh:
        return sorted(row["unit_code"] for row in csv.DictReader(fh))


def processed_suites() -> list[SuiteSpec]:
    """One suite per declared processed table (kho/processed/<domain>.py)."""
    from kho.processed.catalog import domains

    codes = commune_codes()
    out = []
    for domain, tables in domains().items():
        for spec in tables:
            where = f"kho/processed/{domain}.py ({spec.name})"
            key = f"{domain}.{spec.name}"
            names = [f.name for f in spec.schema]
            exp: list[Expect] = [
                _columns([*names, *PROCESSED_JOB_COLUMNS[:4]], f"{where}: schema + the job's columns", exact=False),
                _not_null("record_id", "spark_jobs/processed.py: the source record's identity"),
                _unique(("record_id",), "spark_jobs/processed.py: one row per source record"),
                _not_null("_batch_id", "spark_jobs/processed.py: the raw batch a row came from"),
            ]
            optional = OPTIONAL_KEY_PARTS.get(key, frozenset())
            for part in spec.business_key:
                if part not in optional:
                    exp.append(_not_null(part, f"{where}: business_key"))
            if spec.business_key:
                exp.append(_unique(spec.business_key, f"{where}: business_key (one survivor per key)"))
            if "commune_code" in names:
                exp.append(_in_set("commune_code", codes, "kho/reference/admin_units.csv: the 114 current units"))
            exp.append(_not_null("_completeness", "kho/processed/_kit.py: completeness of every valid row"))
            exp.append(Expect("expect_column_values_to_be_between",
                              {"column": "_completeness", "min_value": 0, "max_value": len(names)},
                              f"kho/processed/_kit.py: a count of filled columns (at most {len(names)})"))
            for name in names:
                if name.endswith("cccd"):
                    exp.append(_regex(name, CCCD, "kho/standardise/identifiers.py: an unusable CCCD is nulled"))
                elif name.endswith("tax_code") and name not in PROCESSED_PATTERNS.get(key, {}):
                    exp.append(_regex(name, TAX_CODE, "kho/standardise/identifiers.py: check_tax_codes"))
                elif name == "sex":
                    exp.append(_in_set("sex", ["F", "M"], "kho/standardise/population.py: sex is M or F"))
            for column, ref in PROCESSED_CODE_TABLES.get(key, {}).items():
                exp.append(_in_set(column, _codes_of(ref), f"{ref.replace(':', '.')} (code table)"))
            for column, ref in PROCESSED_PATTERNS.get(key, {}).items():
                exp.append(_regex(column, str(_resolve(ref)), f"{ref.replace(':', '.')} (rejects other shapes)"))
            out.append(SuiteSpec(
                name=processed_suite_name(domain, spec.name), zone="processed", table=str(spec.ref),
                notes=f"processed zone: {spec.ref} ({spec.term_vi or spec.description}); generated from {where}",
                expectations=tuple(exp)))
    return out


# -- integrated -------------------------------------------------------------------------------

def integrated_suite_name(domain: str, table: str) -> str:
    return f"integrated_{domain}_{table}"


def _pseudonym_checks(table: str, where: str) -> tuple[list[Expect], set[str]]:
    from kho.privacy import PSEUDONYM_HEX_CHARS

    exp, columns = [], set()
    for p in PSEUDONYMS.get(table, ()):
        columns.add(p.column)
        shape = f"[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}"
        pattern = f"^(DN:[0-9]{{10}}(-[0-9]{{3}})?|{shape})$" if p.allow_enterprise_ref else f"^{shape}$"
        exp.append(_regex(p.column, pattern, "kho/privacy.py: keyed pseudonym (HMAC-SHA256, "
                                             f"{PSEUDONYM_HEX_CHARS} hex)"))
        if p.required_when is not None:
            exp.append(_not_null(p.column, f"{where}: a {p.required_when[1]} has a pseudonym",
                                 severity=p.required_severity, when=p.required_when))
    return exp, columns


def integrated_suites() -> list[SuiteSpec]:
    """Entity (SCD2) and link tables of kho/integrated/tables.py."""
    from kho.integrated.tables import HISTORY, TABLES
    from kho.lake import Zone

    out = []
    by_name = {(m.ref.domain, m.ref.name): m for m in TABLES.values()}
    for ref_text, meta in TABLES.items():
        if meta.ref.zone is not Zone.INTEGRATED:
            continue  # _system tables (match statistics) are run metadata, not a zone boundary
        where = "kho/integrated/tables.py"
        pseudonyms, pseudonym_columns = _pseudonym_checks(ref_text, where)
        exp: list[Expect] = []
        if ref_text in ENTITY_ATTRIBUTES:
            attrs = tuple(_resolve(ENTITY_ATTRIBUTES[ref_text]))
            job = ENTITY_ATTRIBUTES[ref_text].split(":")[0].replace(".", "/") + ".py"
            [key] = meta.keys
            exp.append(_columns([key, *attrs, *HISTORY], f"{job}: key, attributes and history (nothing else, "
                                                         "so no undeclared column can appear)", exact=True))
            exp.append(_not_null(key, f"{where}: key"))
            exp.append(_unique((key,), "spark_jobs/scd2.py: one current version per key", when=("is_current", True)))
            exp.append(_unique((key, "valid_from"), "spark_jobs/scd2.py: one version per key and start"))
            for column in ("valid_from", "is_current", "is_deleted", "attributes_hash", "_changed_batch"):
                exp.append(_not_null(column, "spark_jobs/scd2.py: history columns"))
            exp.append(Expect("expect_column_pair_values_a_to_be_greater_than_b",
                              {"column_A": "valid_to", "column_B": "valid_from", "or_equal": True,
                               "ignore_row_if": "either_value_is_missing"},
                              "spark_jobs/scd2.py: a version ends after it starts"))
            exp.append(Expect("expect_column_values_to_be_null",
                              {"column": "valid_to", "row_condition": _condition("is_current", True)},
                              "spark_jobs/scd2.py: valid_to is null while current"))
            exp.append(_not_null("valid_to", "spark_jobs/scd2.py: a closed version has its end",
                                 when=("is_current", False)))
            exp += pseudonyms
            for column in attrs:
                if column not in meta.pii_columns and column not in pseudonym_columns:
                    exp.append(Expect("expect_column_values_to_not_match_regex",
                                      {"column": column, "regex": CCCD_INSIDE},
                                      f"{where}: not a declared PII column, so no clear CCCD"))
        elif meta.ref.name.endswith("_link"):
            entity = by_name.get((meta.ref.domain, meta.ref.name.removesuffix("_link")))
            if entity is None or len(entity.keys) != 1:
                continue
            [key] = entity.keys
            job_columns = (*meta.keys, key, "match_status", "_run_batch")
            exp.append(_columns(job_columns, f"{where} and its job: link keys, entity key, status, run",
                                exact=True))
            exp.append(_unique(meta.keys, f"{where}: one link per source record and role"))
            for column in (*meta.keys, "match_status", "_run_batch"):
                exp.append(_not_null(column, f"{where}: link columns"))
            exp.append(_in_set("match_status", MATCH_STATUSES, "spark_jobs: matched / ambiguous / unmatched / no_key"))
            exp.append(_not_null(key, "spark_jobs: a record naming someone has the entity key",
                                 when=("match_status", "no_key"), op="!="))
            exp += pseudonyms
            # a record id built from a source key that holds a CCCD carries it into this zone:
            # allowed only when the table declares the column PII
            if "record_id" not in meta.pii_columns:
                exp.append(Expect("expect_column_values_to_not_match_regex", {"column": "record_id",
                                                                               "regex": CCCD_INSIDE},
                                  f"{where}: record_id is not a declared PII column, so no clear CCCD"))
        else:
            continue
        out.append(SuiteSpec(
            name=integrated_suite_name(meta.ref.domain, meta.ref.name), zone="integrated", table=ref_text,
            notes=f"integrated zone: {ref_text} ({meta.term_vi}); generated from {where}",
            expectations=tuple(exp)))
    return out


# -- marts ------------------------------------------------------------------------------------

def mart_suite_name(schema: str, model: str) -> str:
    return f"topic_{schema}_{model}"


def _has_not_null(column: Mapping[str, Any]) -> bool:
    for constraint in column.get("constraints") or []:
        if isinstance(constraint, Mapping) and constraint.get("type") == "not_null":
            return True
    for test in (column.get("data_tests") or []) + (column.get("tests") or []):
        if test == "not_null" or (isinstance(test, Mapping) and "not_null" in test):
            return True
    return False


def mart_suites(dbt_project_dir: Path, warnings: list[str] | None = None) -> tuple[list[SuiteSpec], bool]:
    """One suite per model declared in ``models/marts/<schema>/**/*.yml``.

    Returns (suites, complete): ``complete`` is False when a yml could not be read (another
    author may be writing it), in which case mart suites are not treated as removed.
    """
    import yaml

    root = dbt_project_dir / "models" / "marts"
    out, complete = [], True
    for path in sorted(root.rglob("*.yml")) + sorted(root.rglob("*.yaml")):
        rel = path.relative_to(dbt_project_dir.parent) if dbt_project_dir.parent in path.parents else path
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            complete = False
            if warnings is not None:
                warnings.append(f"{rel}: not readable as YAML, skipped ({str(exc).splitlines()[0]})")
            continue
        area = path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else None
        for model in doc.get("models") or []:
            if not isinstance(model, Mapping) or not model.get("name"):
                continue
            config = model.get("config") or {}
            schema = config.get("schema") or area
            if schema is None:
                continue
            columns = [c for c in model.get("columns") or [] if isinstance(c, Mapping) and c.get("name")]
            if not columns:
                continue
            where = f"{rel}: {model['name']}"
            exp: list[Expect] = [_columns([c["name"] for c in columns], f"{where}: the contract's columns",
                                          exact=True)]
            for column in columns:
                if column.get("data_type"):
                    try:
                        type_ = duckdb_type(str(column["data_type"]))
                    except ValueError as exc:
                        if warnings is not None:
                            warnings.append(f"{where}.{column['name']}: {exc}")
                        continue
                    exp.append(_of_type(column["name"], type_, f"{where}.{column['name']} data_type "
                                                               f"{column['data_type']}"))
            for column in columns:
                if _has_not_null(column):
                    exp.append(_not_null(column["name"], f"{where}.{column['name']} not_null"))
            out.append(SuiteSpec(
                name=mart_suite_name(schema, model["name"]), zone="topic", table=f"{schema}.{model['name']}",
                notes=f"topic zone mart {schema}.{model['name']}; generated from {rel}",
                expectations=tuple(exp)))
    return out, complete


# -- all suites, rendering and syncing ----------------------------------------------------------

def generate(dbt_project_dir: Path | None = None, warnings: list[str] | None = None) -> tuple[list[SuiteSpec], bool]:
    """Every generated suite; the flag says whether the mart ymls were all readable."""
    if dbt_project_dir is None:
        from kho.settings import get_settings

        dbt_project_dir = get_settings().dbt_project_dir
    marts, complete = mart_suites(dbt_project_dir, warnings)
    suites = raw_suites() + processed_suites() + integrated_suites() + marts
    seen: dict[str, str] = {}
    for s in suites:
        if s.name in seen:
            raise ValueError(f"two tables generate the suite {s.name!r}: {seen[s.name]} and {s.table}")
        seen[s.name] = s.table
    return suites, complete


def render(spec: SuiteSpec, existing: str | None) -> str:
    """The suite file for ``spec``: generated expectations, then the hand-written ones of the
    existing file (kept as they are), in GX's own layout."""
    old: dict[str, Any] = json.loads(existing) if existing else {}
    hand = [e for e in old.get("expectations", []) if not (e.get("meta") or {}).get(GENERATED)]
    meta = dict(old.get("meta") or {})
    meta.setdefault("great_expectations_version", GX_VERSION)
    doc = {
        "expectations": [e.to_json(spec.name) for e in spec.expectations] + hand,
        "id": old.get("id") or str(uuid.uuid5(_NAMESPACE, spec.name)),
        "meta": meta,
        "name": spec.name,
        "notes": spec.notes,
    }
    return dumps(doc)


def dumps(doc: Mapping[str, Any]) -> str:
    """GX's file layout for suites: sorted keys, 2-space indent, no trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True)


def _suites_dir(context_root: Path | str | None) -> Path:
    from kho import quality

    return quality.resolve_context_root(context_root) / quality.GX_DIR / quality.SUITES_DIR


def _is_switched_off(text: str) -> bool:
    try:
        return (json.loads(text).get("meta") or {}).get(SWITCH) == "off"
    except (ValueError, AttributeError):
        return False


def sync(*, check: bool = False, context_root: Path | str | None = None,
         dbt_project_dir: Path | None = None) -> SyncReport:
    """Write (or with ``check`` only compare) every generated suite file.

    A committed suite the generator no longer makes (its table or mart is gone) loses its
    generated expectations; the file is deleted when nothing hand-written remains.
    """
    report = SyncReport()
    folder = _suites_dir(context_root)
    specs, complete = generate(dbt_project_dir, report.warnings)
    produced = {s.name for s in specs}
    for spec in specs:
        path = folder / f"{spec.name}.json"
        existing = path.read_text(encoding="utf-8") if path.is_file() else None
        if existing is not None and _is_switched_off(existing):
            report.hand_written.append(spec.name)
            continue
        text = render(spec, existing)
        if text == existing:
            report.unchanged.append(spec.name)
            continue
        report.written.append(spec.name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in sorted(folder.glob("*.json")):
        if path.stem in produced:
            continue
        text = path.read_text(encoding="utf-8")
        try:
            doc = json.loads(text)
        except ValueError:
            report.warnings.append(f"{path.name}: not JSON, left alone")
            continue
        if _is_switched_off(text):
            report.hand_written.append(path.stem)
            continue
        generated = [e for e in doc.get("expectations", []) if (e.get("meta") or {}).get(GENERATED)]
        if not generated:
            continue  # entirely hand-written (e.g. processed_population_batch)
        if path.stem.startswith("topic_") and not complete:
            report.warnings.append(f"{path.name}: kept (a mart yml could not be read)")
            continue
        report.removed.append(path.stem)
        if check:
            continue
        hand = [e for e in doc["expectations"] if not (e.get("meta") or {}).get(GENERATED)]
        if hand:
            path.write_text(dumps({**doc, "expectations": hand}), encoding="utf-8")
        else:
            path.unlink()
    return report


def suite_for(zone: str, table: str) -> str:
    """The suite that guards a lake table (``raw/population/citizen``) or a mart (``citizen.x``)."""
    if zone == "topic":
        schema, _, model = table.partition(".")
        return mart_suite_name(schema, model)
    from kho.lake import TableRef

    ref = TableRef.parse(table)
    if zone == "raw":
        from kho.ingest.registry import load_registry

        found = load_registry().raw_tables().get(str(ref))
        if found is None:
            raise KeyError(f"{ref} is not a registered raw table (kho/ingest/sources/*.yaml)")
        source, obj = found
        return raw_suite_name(source.system, obj.name)
    if zone == "processed":
        return processed_suite_name(ref.domain, ref.name)
    if zone == "integrated":
        return integrated_suite_name(ref.domain, ref.name)
    raise ValueError(f"no suites for zone {zone!r}")

