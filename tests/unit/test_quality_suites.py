"""The suite generator (kho.quality_suites): what it derives from the declarations, that the
committed suites are what it makes, and that hand-written expectations survive it.

Everything that writes works on a temporary copy of expectations/gx.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kho import quality, quality_suites as qs
from kho.cli import main

REPO = Path(__file__).resolve().parents[2]
REPO_GX = REPO / "expectations" / "gx"


@pytest.fixture(scope="module")
def specs() -> dict[str, qs.SuiteSpec]:
    generated, complete = qs.generate(REPO / "dbt_project")
    assert complete
    return {s.name: s for s in generated}


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "expectations"
    shutil.copytree(REPO_GX, root / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    return root


def kinds(spec: qs.SuiteSpec) -> list[tuple[str, str | None, str]]:
    """(type, column or columns, severity) of each generated expectation."""
    out = []
    for e in spec.expectations:
        k = e.kwargs
        column = k.get("column") or (",".join(k["column_list"]) if "column_list" in k else None)
        out.append((e.type, column, e.severity))
    return out


def find(spec: qs.SuiteSpec, kind: str, column: str | None = None) -> qs.Expect:
    found = [e for e in spec.expectations if e.type == kind and (column is None or e.kwargs.get("column") == column)]
    assert len(found) == 1, (kind, column, kinds(spec))
    return found[0]


# -- what the generator derives ---------------------------------------------------------------

def test_one_suite_per_table_of_every_zone(specs) -> None:
    from kho.ingest.registry import load_registry
    from kho.integrated.tables import TABLES
    from kho.processed.catalog import domains

    registry = load_registry()
    raw = {f"raw_{s.system}_{o.name}" for s, o in registry.objects()}
    processed = {f"processed_{d}_{t.name}" for d, ts in domains().items() for t in ts}
    integrated = {f"integrated_{m.ref.domain}_{m.ref.name}" for m in TABLES.values() if m.ref.zone.value == "integrated"}
    assert raw <= set(specs) and processed <= set(specs) and integrated <= set(specs)
    for spec in specs.values():
        assert spec.name.startswith(("raw_", "processed_", "integrated_", "topic_"))
        assert spec.name.split("_", 1)[0] in {"raw", "processed", "integrated", "topic"}
        assert spec.expectations, spec.name
        assert all(e.severity in quality.SEVERITIES for e in spec.expectations)


def test_raw_contract_of_a_database_source(specs) -> None:
    from kho.ingest.registry import load_registry

    obj = load_registry().get("population").object("citizen")
    spec = specs["raw_population_citizen"]
    assert spec.table == "raw/population/citizen" and spec.zone == "raw"
    columns = find(spec, "expect_table_columns_to_match_set").kwargs
    # freeze: the declared columns, the loader's columns and nothing else
    assert set(columns["column_set"]) == {c.name for c in obj.expected_schema} | {
        "_batch_id", "_ingested_at", "_source_system", "_source_object", "_record_hash", "_ingest_date", "_op"}
    assert columns["exact_match"] is True
    assert find(spec, "expect_column_values_to_be_of_type", "id").kwargs["type_"] == "BIGINT"
    assert find(spec, "expect_column_values_to_be_of_type", "ho_ten").kwargs["type_"] == "VARCHAR"
    assert ("expect_column_values_to_not_be_null", "id", "critical") in kinds(spec)
    assert find(spec, "expect_column_values_to_be_in_set", "_op").kwargs["value_set"] == ["D", "U"]
    for column in ("_batch_id", "_record_hash", "_op"):
        assert ("expect_column_values_to_not_be_null", column, "critical") in kinds(spec)


def test_raw_contract_types_follow_the_registry(specs) -> None:
    """int -> INTEGER, date -> DATE, timestamp -> TIMESTAMP, boolean -> BOOLEAN, as Delta reads back."""
    spec = specs["raw_health_visit_report"]
    types = {e.kwargs["column"]: e.kwargs["type_"] for e in spec.expectations
             if e.type == "expect_column_values_to_be_of_type"}
    assert types["so_luot_kham"] == "INTEGER" and types["ngay_bao_cao"] == "DATE"
    assert types["co_bhyt"] == "BOOLEAN" and types["id"] == "BIGINT"
    birth = {e.kwargs["column"]: e.kwargs["type_"] for e in specs["raw_civil_status_birth_registration"].expectations
             if e.type == "expect_column_values_to_be_of_type"}
    assert birth["ngay_cap_nhat"] == "TIMESTAMP"


def test_raw_contract_of_a_file_drop_keeps_text(specs) -> None:
    spec = specs["raw_iot_station"]
    types = {e.kwargs["column"]: e.kwargs["type_"] for e in spec.expectations
             if e.type == "expect_column_values_to_be_of_type"}
    assert types["lat"] == "VARCHAR"  # declared double: file drops land text, processed types it
    assert ("expect_column_values_to_not_be_null", "_source_file", "critical") in kinds(spec)
    assert not any(e.kwargs.get("column") == "_op" for e in spec.expectations)
    assert "_op" not in find(spec, "expect_table_columns_to_match_set").kwargs["column_set"]


def test_processed_suite(specs) -> None:
    spec = specs["processed_health_health_facility"]
    k = kinds(spec)
    assert ("expect_column_values_to_be_unique", "record_id", "critical") in k
    assert ("expect_column_values_to_not_be_null", "record_id", "critical") in k
    assert ("expect_column_values_to_not_be_null", "facility_code", "critical") in k  # business key
    assert ("expect_column_values_to_be_unique", "facility_code", "critical") in k
    codes = find(spec, "expect_column_values_to_be_in_set", "commune_code").kwargs["value_set"]
    assert len(codes) == 114 and codes == qs.commune_codes()
    completeness = find(spec, "expect_column_values_to_be_between", "_completeness").kwargs
    assert completeness["min_value"] == 0 and completeness["max_value"] == 9  # the table declares 9 columns
    from kho.processed.health import FACILITY_TYPES

    assert find(spec, "expect_column_values_to_be_in_set", "facility_type").kwargs["value_set"] == \
        sorted(set(FACILITY_TYPES.values()))


def test_processed_composite_key_and_optional_parts(specs) -> None:
    spec = specs["processed_land_land_transaction"]
    [compound] = [e for e in spec.expectations if e.type == "expect_compound_columns_to_be_unique"]
    from kho.processed.catalog import find as find_table

    assert compound.kwargs["column_list"] == list(find_table("land.land_transaction").business_key)
    not_null = {e.kwargs["column"] for e in spec.expectations if e.type == "expect_column_values_to_not_be_null"}
    assert {"commune_code", "map_sheet", "parcel_no"} <= not_null
    assert not not_null & qs.OPTIONAL_KEY_PARTS["land.land_transaction"]
    # every CCCD column has the shape check
    cccd = {e.kwargs["column"] for e in spec.expectations if e.type == "expect_column_values_to_match_regex"
            and e.kwargs["regex"] == qs.CCCD}
    assert cccd == {"transferor_cccd", "transferee_cccd"}


def test_integrated_entity_suite(specs) -> None:
    spec = specs["integrated_citizen_citizen"]
    unique = [e for e in spec.expectations if e.type == "expect_column_values_to_be_unique"]
    assert unique[0].kwargs == {"column": "citizen_key", "row_condition": {
        "column": {"name": "is_current"}, "operator": "==", "parameter": True, "type": "comparison"}}
    assert find(spec, "expect_column_values_to_be_null", "valid_to").kwargs["row_condition"]["parameter"] is True
    pair = find(spec, "expect_column_pair_values_a_to_be_greater_than_b").kwargs
    assert (pair["column_A"], pair["column_B"], pair["or_equal"]) == ("valid_to", "valid_from", True)
    assert find(spec, "expect_column_values_to_match_regex", "citizen_key").kwargs["regex"] == "^[0-9a-f]{32}$"
    # no clear CCCD outside the declared PII columns (cccd, full_name, birth_date, address)
    guarded = {e.kwargs["column"] for e in spec.expectations if e.type == "expect_column_values_to_not_match_regex"}
    assert guarded == {"sex", "commune_code"}
    columns = find(spec, "expect_table_columns_to_match_set").kwargs
    assert columns["exact_match"] is True and "cccd" in columns["column_set"]


def test_integrated_business_pseudonym_is_a_warning_where_sources_may_lack_it(specs) -> None:
    spec = specs["integrated_enterprise_business"]
    owner = find(spec, "expect_column_values_to_not_be_null", "owner_key")
    assert owner.severity == "warning" and owner.kwargs["row_condition"]["parameter"] == "household"
    assert find(spec, "expect_column_values_to_match_regex", "owner_key").severity == "critical"


def test_link_suite(specs) -> None:
    spec = specs["integrated_citizen_citizen_link"]
    [compound] = [e for e in spec.expectations if e.type == "expect_compound_columns_to_be_unique"]
    assert compound.kwargs["column_list"] == ["source_table", "role", "record_id"]
    key = find(spec, "expect_column_values_to_not_be_null", "citizen_key").kwargs
    assert key["row_condition"] == {"column": {"name": "match_status"}, "operator": "!=", "parameter": "no_key",
                                    "type": "comparison"}


def test_mart_suites_from_the_dbt_yml(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    folder = project / "models" / "marts" / "demo"
    folder.mkdir(parents=True)
    (folder / "things.yml").write_text("""
version: 2
models:
  - name: things_by_month
    config: {contract: {enforced: true}}
    columns:
      - {name: month, data_type: date, constraints: [{type: not_null}]}
      - {name: things, data_type: bigint, data_tests: [not_null]}
      - {name: share, data_type: "decimal(9,4)"}
      - {name: label, data_type: text}
""")
    suites, complete = qs.mart_suites(project)
    assert complete
    [spec] = suites
    assert spec.name == "topic_demo_things_by_month" and spec.table == "demo.things_by_month"
    types = {e.kwargs["column"]: e.kwargs["type_"] for e in spec.expectations
             if e.type == "expect_column_values_to_be_of_type"}
    assert types == {"month": "DATE", "things": "BIGINT", "share": "DECIMAL(9,4)", "label": "VARCHAR"}
    not_null = [e.kwargs["column"] for e in spec.expectations if e.type == "expect_column_values_to_not_be_null"]
    assert not_null == ["month", "things"]
    assert find(spec, "expect_table_columns_to_match_set").kwargs["column_set"] == ["month", "things", "share",
                                                                                   "label"]


def test_a_half_written_mart_yml_is_skipped_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "dbt_project" / "models" / "marts" / "demo"
    folder.mkdir(parents=True)
    (folder / "broken.yml").write_text("models:\n  - name: x\n    columns: [\n")
    warnings: list[str] = []
    suites, complete = qs.mart_suites(tmp_path / "dbt_project", warnings)
    assert suites == [] and complete is False
    assert "broken.yml" in warnings[0]


# -- the committed suites ---------------------------------------------------------------------

def test_committed_suites_are_in_sync_with_the_generator() -> None:
    """`kho quality suites --check`: regenerate after changing a registry entry, a processed
    table, an integrated job or a mart yml, and commit expectations/."""
    result = CliRunner().invoke(main, ["quality", "suites", "--check"])
    assert result.exit_code == 0, result.output


def test_gx_resave_leaves_every_suite_file_unchanged(ctx: Path) -> None:
    """GX re-saves a suite whenever a validation uses it; the committed form must be GX's own."""
    gx = quality.import_gx()
    context = gx.get_context(mode="file", project_root_dir=str(ctx))
    folder = ctx / "gx" / "expectations"
    for path in sorted(folder.glob("*.json")):
        before = path.read_text()
        context.suites.add_or_update(context.suites.get(path.stem))
        assert path.read_text() == before, path.name


# -- hand-written expectations ----------------------------------------------------------------

def _write(path: Path, doc: dict) -> None:
    path.write_text(qs.dumps(doc))


def test_hand_written_expectations_are_kept(ctx: Path, tmp_path: Path) -> None:
    folder = ctx / "gx" / "expectations"
    path = folder / "processed_dossiers_procedure.json"
    doc = json.loads(path.read_text())
    hand = {"id": "11111111-2222-3333-4444-555555555555", "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "fee_vnd", "min_value": 0.0, "max_value": 10000000.0},
            "meta": {"owner": "Van phong UBND"}, "severity": "warning"}
    generated = [e for e in doc["expectations"] if e["meta"].get(qs.GENERATED)]
    # a generated expectation that went stale (e.g. the declaration changed since)
    stale = {**generated[0], "id": "99999999-2222-3333-4444-555555555555",
             "kwargs": {"column": "no_longer_there"}, "type": "expect_column_values_to_not_be_null"}
    doc["expectations"] = [hand, stale, *generated[1:]]
    _write(path, doc)

    report = qs.sync(context_root=ctx, dbt_project_dir=REPO / "dbt_project")
    assert "processed_dossiers_procedure" in report.written
    after = json.loads(path.read_text())
    assert after["expectations"][-1] == hand                       # kept as written, after the generated ones
    assert all(e["kwargs"].get("column") != "no_longer_there" for e in after["expectations"])
    assert [e for e in after["expectations"] if e["meta"].get(qs.GENERATED)] == generated
    assert after["id"] == doc["id"]
    # a second run changes nothing
    again = qs.sync(context_root=ctx, dbt_project_dir=REPO / "dbt_project")
    assert "processed_dossiers_procedure" in again.unchanged and again.in_sync


def test_switched_off_and_hand_only_suites_are_left_alone(ctx: Path) -> None:
    folder = ctx / "gx" / "expectations"
    before = {p.name: p.read_text() for p in folder.glob("*.json")}
    report = qs.sync(context_root=ctx, dbt_project_dir=REPO / "dbt_project")
    assert {"processed_population_citizen", "topic_citizen_population_by_commune_sex_age"} <= set(report.hand_written)
    for name in ("processed_population_citizen.json", "topic_citizen_population_by_commune_sex_age.json",
                 "processed_population_batch.json"):
        assert (folder / name).read_text() == before[name]


def test_suites_of_tables_that_are_gone(ctx: Path) -> None:
    folder = ctx / "gx" / "expectations"
    generated = {"id": "aaaaaaaa-2222-3333-4444-555555555555", "type": "expect_column_values_to_not_be_null",
                 "kwargs": {"column": "x"}, "meta": {qs.GENERATED: True, "source": "gone"}, "severity": "critical"}
    hand = {"id": "bbbbbbbb-2222-3333-4444-555555555555", "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "y"}, "meta": {}, "severity": "critical"}
    only_generated = folder / "processed_gone_table.json"
    mixed = folder / "processed_gone_mixed.json"
    _write(only_generated, {"expectations": [generated], "id": "x", "meta": {}, "name": only_generated.stem,
                            "notes": ""})
    _write(mixed, {"expectations": [generated, hand], "id": "y", "meta": {}, "name": mixed.stem, "notes": ""})

    check = qs.sync(check=True, context_root=ctx, dbt_project_dir=REPO / "dbt_project")
    assert {"processed_gone_table", "processed_gone_mixed"} <= set(check.removed) and not check.in_sync
    assert only_generated.exists()                                  # --check writes nothing

    qs.sync(context_root=ctx, dbt_project_dir=REPO / "dbt_project")
    assert not only_generated.exists()
    assert json.loads(mixed.read_text())["expectations"] == [hand]


def test_check_reports_a_suite_edited_by_hand(ctx: Path) -> None:
    path = ctx / "gx" / "expectations" / "raw_population_citizen.json"
    doc = json.loads(path.read_text())
    doc["expectations"][0]["severity"] = "warning"                 # a generated one, changed in place
    _write(path, doc)
    report = qs.sync(check=True, context_root=ctx, dbt_project_dir=REPO / "dbt_project")
    assert report.written == ["raw_population_citizen"]


def test_suite_for_each_zone() -> None:
    assert qs.suite_for("raw", "raw/population/citizen") == "raw_population_citizen"
    assert qs.suite_for("processed", "processed/land/land_parcel") == "processed_land_land_parcel"
    assert qs.suite_for("integrated", "integrated/citizen/citizen") == "integrated_citizen_citizen"
    assert qs.suite_for("topic", "citizen.population_by_commune_sex_age") == \
        "topic_citizen_population_by_commune_sex_age"
    with pytest.raises(KeyError, match="not a registered raw table"):
        qs.suite_for("raw", "raw/nowhere/nothing")


def test_cccd_inside_finds_a_cccd_between_separators_not_digit_runs_of_a_hash() -> None:
    import re

    from kho.quality_suites import CCCD_INSIDE

    found = re.compile(CCCD_INSIDE).search
    assert found("012345678901")
    assert found("lao_dong_2026.xlsx\u241f031204005678\u241f5df8")  # a labour record id: file, CCCD, hash
    assert found("holder 031204005678")
    # a SHA-256 in a record id: 'c002507976348a' holds 0 + 11 digits between letters
    assert not found("AA 517036\u241f75966dc25c2de635146c002507976348aa3b965a9d07505ff9f0a400dad098fa")
    assert not found("0123456789012")  # 13 digits: not a CCCD
    assert not found("0312-0400-5678")
