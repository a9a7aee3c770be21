"""``kho source new``: the three files a new source system starts from.

A data engineer declares a source, not a pipeline: the scaffold writes a registry entry that
already validates (one object, to be edited), a test that keeps it valid, and a docs stub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kho.ingest.registry import load_source

TRANSPORTS = ("direct", "lgsp_api", "file_drop", "stream")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

_YAML = """\
# {title}: registry entry scaffolded by `kho source new` on {date}.
# Edit the object below to the real table, file pattern or endpoint, its keys and schema,
# then run `kho source validate`. Field reference: docs/connectors.md.
system: {system}
title: {title}
owner: {owner}
transport: {transport}
connection_id: kho_src_{system}   # an Airflow connection or AIRFLOW_CONN_KHO_SRC_{upper}; never a secret here
cadence: "@daily"
description: TODO what the system holds and who enters it.
objects:
  - name: {object}
    source: {source}{format_block}
    description: TODO one sentence.
    load_mode: {load_mode}{mode_fields}
    schema_policy: freeze
    pii_columns: []
    expected_schema:
      - {{name: id, type: bigint, nullable: false, description: record id}}
      - {{name: updated_at, type: timestamp, description: last change in the source}}
"""

_TEST = '''\
"""Registry entry of the {system} source: it must keep loading and validating.

Scaffolded by `kho source new`; add connector tests against a real {system} server here
(see tests/integration/test_ingest.py for the pattern).
"""

from pathlib import Path

from kho.ingest.registry import load_registry, load_source

ENTRY = Path(__file__).resolve().parents[2] / "kho" / "ingest" / "sources" / "{system}.yaml"


def test_{system}_entry_validates() -> None:
    source = load_source(ENTRY)
    assert source.system == "{system}"
    assert source.objects, "declare at least one object"
    for obj in source.objects:
        assert obj.expected_schema, f"{{obj.name}}: declare the expected schema"


def test_{system}_is_part_of_the_registry() -> None:
    assert load_registry().get("{system}").system == "{system}"
'''

_DOC = """\
# {title} (`{system}`)

- Owner: {owner}
- Transport: {transport}
- Registry entry: `kho/ingest/sources/{system}.yaml`
- Raw tables: `raw/{system}/<object>`

TODO: what the system is, its objects and keys, known faults, how it maps to the city's framework.
"""


@dataclass(frozen=True)
class Scaffold:
    registry_entry: Path
    test: Path
    doc: Path


def scaffold(root: Path, system: str, *, transport: str, owner: str, title: str | None, today: str) -> Scaffold:
    """Write the three files; refuse to overwrite anything."""
    if not _NAME.match(system):
        raise ValueError(f"system name {system!r} must be lower_snake_case (letters, digits, _), 2-41 characters")
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    out = Scaffold(root / "kho" / "ingest" / "sources" / f"{system}.yaml",
                   root / "tests" / "unit" / f"test_source_{system}.py",
                   root / "docs" / "sources" / f"{system}.md")
    existing = [str(p) for p in (out.registry_entry, out.test, out.doc) if p.exists()]
    if existing:
        raise FileExistsError(f"not overwriting {', '.join(existing)}")
    title = title or system.replace("_", " ").capitalize()
    if transport == "file_drop":
        obj, source, fmt = "records", f"{system}/*.csv", "\n    format: {type: csv, delimiter: \",\", encoding: utf-8-sig}"
        mode, mode_fields = "append_only", ""
    elif transport == "stream":
        obj, source, fmt = "events", f"{system}/*.jsonl", "\n    format: {type: jsonl}"
        mode, mode_fields = "append_only", ""
    elif transport == "lgsp_api":
        obj, source = "records", "/api/v1/records"
        fmt = "\n    api: {records_field: du_lieu, page_size: 500, cursor_param: cap_nhat_tu}"
        mode, mode_fields = "incremental", "\n    cursor_column: updated_at\n    lookback: 1d\n    primary_key: [id]"
    else:
        obj, source, fmt = "records", "records", ""
        mode, mode_fields = "incremental", "\n    cursor_column: updated_at\n    lookback: 1d\n    primary_key: [id]"
    values = dict(system=system, title=title, owner=owner, transport=transport, object=obj, source=source,
                  format_block=fmt, load_mode=mode, mode_fields=mode_fields, date=today, upper=system.upper())
    out.registry_entry.parent.mkdir(parents=True, exist_ok=True)
    out.registry_entry.write_text(_YAML.format(**values), encoding="utf-8")
    try:
        load_source(out.registry_entry)
    except Exception:
        out.registry_entry.unlink()
        raise
    out.test.parent.mkdir(parents=True, exist_ok=True)
    out.test.write_text(_TEST.format(**values), encoding="utf-8")
    out.doc.parent.mkdir(parents=True, exist_ok=True)
    out.doc.write_text(_DOC.format(**values), encoding="utf-8")
    return out
