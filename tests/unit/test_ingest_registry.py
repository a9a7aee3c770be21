"""The source registry: shipped files load, every rule fails with a message naming file, object and field."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kho.ingest.registry import (
    SOURCES_DIR,
    RegistryError,
    load_registry,
    load_source,
    raw_table,
)
from kho.lake import RAW_CITIZEN, TableRef, Zone

SYSTEMS = {"population", "civil_status", "insurance", "labour", "health", "education", "business_registration",
           "land", "construction_permits", "dossiers", "statistics", "iot"}

BASE: dict[str, Any] = {
    "system": "demo",
    "title": "Demo register",
    "owner": "Sở Demo",
    "transport": "direct",
    "connection_id": "kho_src_demo",
    "cadence": "@daily",
    "objects": [{
        "name": "person",
        "source": "nguoi",
        "load_mode": "incremental",
        "cursor_column": "ngay_cap_nhat",
        "lookback": "3d",
        "primary_key": ["id"],
        "pii_columns": ["ho_ten"],
        "expected_schema": [
            {"name": "id", "type": "bigint", "nullable": False},
            {"name": "ho_ten", "type": "string"},
            {"name": "so_luong", "type": "int"},
            {"name": "ngay_cap_nhat", "type": "timestamp"},
        ],
    }],
}


def write(folder: Path, data: dict[str, Any], name: str | None = None) -> Path:
    path = folder / f"{name or data['system']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def variant(**changes: Any) -> dict[str, Any]:
    """BASE with top-level changes; keys starting with 'obj_' change the first object (None deletes)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        target, key = (data["objects"][0], key[4:]) if key.startswith("obj_") else (data, key)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return data


def error_for(tmp_path: Path, data: dict[str, Any]) -> str:
    path = write(tmp_path, data)
    with pytest.raises(RegistryError) as exc:
        load_source(path)
    return str(exc.value)


# -- the shipped registry ------------------------------------------------------------------

def test_shipped_registry_loads_every_generated_system():
    registry = load_registry()
    assert set(registry.systems) == SYSTEMS
    assert {p.stem for p in SOURCES_DIR.glob("*.yaml")} == SYSTEMS
    assert len(registry) == 12
    for source, obj in registry.objects():
        assert obj.pool == f"raw.{source.domain}.{obj.name}"
        assert obj.partition_by == ["_ingest_date"]
        assert source.connection_id == f"kho_src_{source.system}"


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_each_shipped_file_loads_alone(system):
    source = load_source(SOURCES_DIR / f"{system}.yaml")
    assert source.system == system and source.objects


def test_shipped_load_modes_fit_the_sources():
    reg = load_registry()
    assert reg.get("population").object("citizen").load_mode == "snapshot_diff"
    assert {o.load_mode for o in reg.get("business_registration").objects} == {"snapshot_diff"}
    birth = reg.get("civil_status").object("birth_registration")
    assert (birth.load_mode, birth.cursor_column, birth.lookback) == ("incremental", "ngay_cap_nhat", timedelta(days=7))
    insurance = reg.get("insurance")
    participant = insurance.object("insurance_participant")
    assert insurance.transport == "file_drop" and participant.load_mode == "append_only"
    assert participant.schema_policy == "evolve"
    assert {c.change for c in participant.known_schema_changes} == {"renamed", "added"}
    # the recorded decision on the 2026-05 rename: ma_xa, read from ma_dvhc in older extracts
    assert participant.aliases == {"ma_dvhc": "ma_xa"} and "ma_dvhc" not in participant.columns
    assert participant.optional_columns == {"so_dien_thoai"} and "so_dien_thoai" in participant.pii_columns
    dossier = reg.get("dossiers").object("dossier")
    assert reg.get("dossiers").transport == "lgsp_api"
    assert (dossier.cursor_column, dossier.api.cursor_param, dossier.api.resume_param) == ("cap_nhat_luc", "cap_nhat_tu", "sau_id")
    assert reg.get("education").object("school").format.header_row == 8
    assert reg.get("education").object("enrolment").format.sheet == "SiSo"
    assert reg.get("iot").transport == "stream"
    assert reg.get("iot").object("sensor_event").format.type == "jsonl"
    assert reg.get("iot").cadence_of(reg.get("iot").object("station")) == "@daily"


def test_shipped_pii_covers_identifiers():
    reg = load_registry()
    assert set(reg.get("population").object("citizen").pii_columns) >= {"so_dinh_danh", "ho_ten", "ngay_sinh", "dia_chi"}
    assert "ma_so_bhxh" in reg.get("insurance").object("insurance_participant").pii_columns
    assert reg.get("statistics").object("monthly_indicator").pii_columns == []
    for source, obj in reg.objects():
        for col in obj.expected_schema:
            if col.name.startswith(("so_cccd", "so_dinh_danh", "ho_ten")):
                assert col.name in obj.pii_columns, f"{source.system}.{obj.name}.{col.name} should be PII"


def test_shipped_schemas_match_the_generators():
    from kho.sources import civil_status, dossiers, enterprise, health, insurance, labour, land, permits, population

    reg = load_registry()

    def cols(system: str, name: str) -> tuple[str, ...]:
        return tuple(c.name for c in reg.get(system).object(name).expected_schema)

    assert cols("population", "citizen") == population.COLUMNS
    assert cols("civil_status", "birth_registration") == civil_status.TABLE_COLUMNS["khai_sinh"]
    assert cols("civil_status", "death_registration") == civil_status.TABLE_COLUMNS["khai_tu"]
    assert cols("insurance", "insurance_participant") == insurance.COLUMNS_V2  # the accepted 2026-05 layout
    assert cols("health", "visit_report") == health.TABLE_COLUMNS["luot_kham"]
    assert cols("business_registration", "enterprise") == enterprise.COLUMNS["doanh_nghiep"]
    assert cols("land", "land_certificate") == land.COLUMNS["giay_chung_nhan"]
    assert cols("construction_permits", "construction_permit") == permits.COLUMNS
    assert "cap_nhat_luc" in cols("dossiers", "dossier") and dossiers.SYSTEM.name == "dossiers"
    assert labour.SYSTEM.objects["ho_ngheo_can_ngheo"] == tuple(reg.get("labour").object("poor_household").natural_key)


# -- raw_table and the Registry API --------------------------------------------------------

def test_raw_table_paths(tmp_path):
    reg = load_registry()
    pop = reg.get("population")
    assert raw_table(pop, pop.object("citizen")) == RAW_CITIZEN
    land = reg.get("land")
    ref = raw_table(land, land.object("land_parcel"))
    assert ref == TableRef(Zone.RAW, "land", "land_parcel") and str(ref) == "raw/land/land_parcel"
    assert "raw/iot/sensor_event" in reg.raw_tables()
    custom = load_source(write(tmp_path, variant(domain="people")))
    assert str(raw_table(custom, custom.objects[0])) == "raw/people/person"
    assert custom.objects[0].pool == "raw.people.person"


def test_registry_get_unknown_and_object_lookup():
    reg = load_registry()
    with pytest.raises(KeyError, match="unknown source system 'nope'"):
        reg.get("nope")
    with pytest.raises(KeyError, match="no object 'x'"):
        reg.get("land").object("x")


def test_models_are_frozen():
    source = load_registry().get("population")
    with pytest.raises(Exception):
        source.cadence = "@hourly"  # type: ignore[misc]


def test_lookback_accepts_short_and_iso(tmp_path):
    assert load_source(write(tmp_path, variant(obj_lookback="PT6H"))).objects[0].lookback == timedelta(hours=6)
    assert load_source(write(tmp_path, variant(obj_lookback="2w"))).objects[0].lookback == timedelta(weeks=2)


# -- every validation rule fails with file, object and field -------------------------------

CASES = [
    ("typo in a field name", variant(obj_primay_key=["id"]), "primay_key", "unknown field"),
    ("unknown transport", variant(transport="ftp"), "transport", "ftp"),
    ("bad load mode", variant(obj_load_mode="cdc"), "load_mode", "cdc"),
    ("bad column type", variant(obj_expected_schema=[{"name": "id", "type": "varchar"}]), "expected_schema[0].type", "varchar"),
    ("incremental without cursor", variant(obj_cursor_column=None), "cursor_column", "required"),
    ("incremental without lookback", variant(obj_lookback=None), "lookback", "required"),
    ("cursor not in schema", variant(obj_cursor_column="updated_at"), "cursor_column", "not in expected_schema"),
    ("integer cursor with time lookback", variant(obj_cursor_column="so_luong"), "cursor_column", "is int"),
    ("lookback unparseable", variant(obj_lookback="soon"), "lookback", "not a duration"),
    ("lookback bare number", variant(obj_lookback=3), "lookback", "with a unit"),
    ("cursor on full snapshot", variant(obj_load_mode="full_snapshot", obj_lookback=None), "cursor_column", "only for load_mode incremental"),
    ("lookback on append only", variant(obj_load_mode="append_only", obj_cursor_column=None), "lookback", "only for load_mode incremental"),
    ("snapshot diff without key", variant(obj_load_mode="snapshot_diff", obj_cursor_column=None, obj_lookback=None,
                                          obj_primary_key=None), "primary_key", "required when load_mode is snapshot_diff"),
    ("incremental without key", variant(obj_primary_key=[]), "primary_key", "required when load_mode is incremental"),
    ("pk not in schema", variant(obj_primary_key=["ma"]), "primary_key", "'ma' not in expected_schema"),
    ("pii not in schema", variant(obj_pii_columns=["so_cccd"]), "pii_columns", "'so_cccd' not in expected_schema"),
    ("natural key not in schema", variant(obj_natural_key=["ma"]), "natural_key", "not in expected_schema"),
    ("duplicate column", variant(obj_expected_schema=[{"name": "id", "type": "bigint"}, {"name": "id", "type": "string"}],
                                 obj_pii_columns=[], obj_cursor_column=None, obj_lookback=None, obj_load_mode="full_snapshot",
                                 obj_primary_key=[]), "expected_schema", "duplicate column"),
    ("ingestion column in schema", variant(obj_expected_schema=BASE["objects"][0]["expected_schema"]
                                           + [{"name": "_batch_id", "type": "string"}]), "expected_schema", "ingestion columns"),
    ("empty schema", variant(obj_expected_schema=[]), "expected_schema", "at least 1"),
    ("bad partition column", variant(obj_partition_by=["nam"]), "partition_by", "'nam'"),
    ("bad cron", variant(cadence="every day"), "cadence", "cron"),
    ("bad preset", variant(cadence="@fortnightly"), "cadence", "unknown preset"),
    ("bad object cadence", variant(obj_cadence="61 * * * *"), "objects[0].cadence", "not a valid cron"),
    ("bad table name", variant(obj_name="Person-Table"), "objects[0].name", "pattern"),
    ("format on direct source", variant(obj_format={"type": "csv"}), "objects[0].format", "only for file_drop"),
    ("file drop without format", variant(transport="file_drop", obj_source="x_*.csv", obj_load_mode="append_only",
                                         obj_cursor_column=None, obj_lookback=None), "objects[0].format", "required"),
    ("delimiter on xlsx", variant(transport="file_drop", obj_source="x_*.xlsx", obj_load_mode="append_only",
                                  obj_cursor_column=None, obj_lookback=None,
                                  obj_format={"type": "xlsx", "delimiter": ";"}), "objects[0].format.delimiter", "only for csv"),
    ("sheet on csv", variant(transport="file_drop", obj_source="x_*.csv", obj_load_mode="append_only",
                             obj_cursor_column=None, obj_lookback=None,
                             obj_format={"type": "csv", "sheet": "A"}), "objects[0].format.sheet", "only for xlsx"),
    ("data before header", variant(transport="file_drop", obj_source="x_*.xlsx", obj_load_mode="append_only",
                                   obj_cursor_column=None, obj_lookback=None,
                                   obj_format={"type": "xlsx", "header_row": 8, "data_start_row": 8}),
     "objects[0].format.data_start_row", "after header_row"),
    ("absolute file glob", variant(transport="file_drop", obj_source="/etc/*.csv", obj_load_mode="append_only",
                                   obj_cursor_column=None, obj_lookback=None, obj_format={"type": "csv"}),
     "objects[0].source", "relative to the drop folder"),
    ("api block on direct", variant(obj_api={"page_size": 10}), "objects[0].api", "only for transport lgsp_api"),
    ("lgsp incremental without cursor param", variant(transport="lgsp_api", obj_source="/api/v1/x"),
     "objects[0].api.cursor_param", "needs the API's cursor parameter"),
    ("lgsp endpoint without slash", variant(transport="lgsp_api", obj_source="api/v1/x", obj_api={"cursor_param": "tu"}),
     "objects[0].source", "starts with '/'"),
    ("rename without target", variant(obj_known_schema_changes=[{"effective": "2026-05", "change": "renamed",
                                                                 "column": "ho_ten"}]),
     "objects[0].known_schema_changes[0].new_name", "required for a rename"),
    ("secret in yaml", variant(password="hunter2"), "password", "unknown field"),
    ("bad connection id", variant(connection_id="postgresql://kho:kho@host/db"), "connection_id", "pattern"),
    ("no objects", variant(objects=[]), "objects", "at least 1"),
]


@pytest.mark.parametrize("label,data,field_path,message", CASES, ids=[c[0] for c in CASES])
def test_invalid_file_names_file_object_and_field(tmp_path, label, data, field_path, message):
    text = error_for(tmp_path, data)
    assert "demo.yaml" in text
    assert f"field {field_path}" in text or f"field objects[0].{field_path}" in text, text
    assert message in text, text
    if field_path.startswith(("objects[0].", "primay", "load_mode", "expected", "cursor", "lookback", "primary",
                              "pii", "natural", "partition")):
        assert "object 'person'" in text or "object 'Person-Table'" in text, text


def test_error_carries_line_number(tmp_path):
    text = error_for(tmp_path, variant(obj_cursor_column="updated_at"))
    path = tmp_path / "demo.yaml"
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if "cursor_column" in l)
    assert f"(line {line})" in text


def test_several_problems_reported_together(tmp_path):
    data = variant(obj_cursor_column="x", obj_pii_columns=["cccd"], cadence="nightly")
    with pytest.raises(RegistryError) as exc:
        load_source(write(tmp_path, data))
    fields = " ".join(exc.value.problems)
    assert "cursor_column" in fields and "pii_columns" in fields and "cadence" in fields
    assert len(exc.value.problems) == 3


def test_system_must_match_file_name(tmp_path):
    path = write(tmp_path, variant(), name="other")
    with pytest.raises(RegistryError, match=r"other\.yaml.*field system: 'demo' must match the file name"):
        load_source(path)


def test_broken_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text("system: demo\nobjects: [\n  - name: x\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"demo\.yaml \(line \d+\): not valid YAML"):
        load_source(path)


# -- duplicates across files -------------------------------------------------------------------

def test_duplicate_system_across_files(tmp_path):
    write(tmp_path, variant())
    (tmp_path / "demo.yml").write_text((tmp_path / "demo.yaml").read_text(), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"demo\.yml: field system: 'demo' is already declared in .*demo\.yaml"):
        load_registry(tmp_path)


def test_duplicate_raw_table_across_files(tmp_path):
    write(tmp_path, variant())
    write(tmp_path, variant(system="demo2", domain="demo", connection_id="kho_src_demo2"))
    with pytest.raises(RegistryError) as exc:
        load_registry(tmp_path)
    text = str(exc.value)
    assert "demo2.yaml" in text and "object 'person'" in text and "raw/demo/person" in text
    assert "one writer per Delta table" in text


def test_duplicate_raw_table_within_a_file(tmp_path):
    data = variant()
    data["objects"].append(copy.deepcopy(data["objects"][0]))
    text = error_for(tmp_path, data)
    assert "field objects[1].name" in text and "declared twice" in text


def test_registry_reports_every_broken_file(tmp_path):
    write(tmp_path, variant(cadence="nightly"))
    write(tmp_path, variant(system="demo2", connection_id="kho_src_demo2", obj_name="other", obj_lookback="soon"))
    with pytest.raises(RegistryError) as exc:
        load_registry(tmp_path)
    assert len(exc.value.problems) == 2
    assert "demo.yaml" in exc.value.problems[0] and "demo2.yaml" in exc.value.problems[1]


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(RegistryError, match="no \\*.yaml source files"):
        load_registry(tmp_path)
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "missing")
