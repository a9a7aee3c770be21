"""Tests for kho.quality, the Great Expectations adapter.

Every test validates against a temporary copy of expectations/gx, so nothing is written
into the repository. The first validation in the session pays GX's import (seconds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # when kho is not installed into the venv
    sys.path.insert(0, str(REPO))

from kho import quality  # noqa: E402
from kho.quality import (  # noqa: E402
    ExpectationOutcome,
    QualityVerdict,
    SuiteNotFoundError,
    TableNotFoundError,
    validate_duckdb_table,
)

CITIZEN = "processed_population_citizen"
MART = "topic_citizen_population_by_commune_sex_age"
REPO_GX = REPO / "expectations" / "gx"
AGE_BANDS = [f"{a:02d}-{a + 4:02d}" for a in range(0, 80, 5)] + ["80+"]


# -- fixtures and table builders -------------------------------------------------------


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    """A throw-away copy of the committed GX context (without any run-time output)."""
    root = tmp_path / "expectations"
    shutil.copytree(REPO_GX, root / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_citizen_db(path: Path, rows: int = 100, *fixups: str) -> Path:
    """A processed_population_citizen table that passes the suite; ``fixups`` are SQL
    statements run afterwards to break it on purpose."""
    con = duckdb.connect(str(path))
    con.execute(
        f"""
        CREATE TABLE citizen AS
        SELECT
            '0' || lpad(i::VARCHAR, 11, '0')                     AS cccd,
            'Nguyen Van ' || i                                   AS full_name,
            DATE '1940-01-01' + (i * 97 % 30000)::INTEGER        AS birth_date,
            CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END            AS sex,
            lpad((31000 + i % 40)::VARCHAR, 5, '0')              AS commune_code,
            'So ' || i || ' Le Loi, Hai Phong'                   AS address,
            TIMESTAMP '2026-01-15 08:00:00'                      AS updated_at,
            'batch-001'                                          AS _batch_id
        FROM range({rows}) t(i)
        """
    )
    for sql in fixups:
        con.execute(sql)
    con.close()
    return path


def make_mart_db(path: Path, communes: int = 110, *fixups: str) -> Path:
    con = duckdb.connect(str(path))
    bands = ", ".join(f"('{b}')" for b in AGE_BANDS)
    con.execute(
        f"""
        CREATE TABLE population_by_commune_sex_age AS
        SELECT
            lpad((31000 + c)::VARCHAR, 5, '0')  AS commune_code,
            'Phuong ' || c                      AS commune_name,
            s.sex                               AS sex,
            b.age_band                          AS age_band,
            (10 + c + length(b.age_band))::BIGINT AS population,
            DATE '2026-01-01'                   AS as_of_date
        FROM range({communes}) r(c)
        CROSS JOIN (VALUES ('M'), ('F')) s(sex)
        CROSS JOIN (VALUES {bands}) b(age_band)
        """
    )
    for sql in fixups:
        con.execute(sql)
    con.close()
    return path


def outcome(verdict: QualityVerdict, expectation: str, column: str | None) -> ExpectationOutcome:
    found = [o for o in verdict.outcomes if o.expectation == expectation and o.column == column]
    assert len(found) == 1, (expectation, column, verdict.outcomes)
    return found[0]


# -- suites (no GX needed) ------------------------------------------------------------


def test_list_suites_finds_the_committed_suites(ctx: Path) -> None:
    suites = quality.list_suites(context_root=ctx)
    assert suites == sorted(suites) and {CITIZEN, MART} <= set(suites)
    assert quality.list_suites() == suites  # the repo's own context (the copy's source)


@pytest.mark.parametrize("name", quality.list_suites())
def test_committed_suite_is_gx_native_with_severity(name: str) -> None:
    """GX rewrites a suite file on every run; keeping ids and GX's own layout (sorted keys,
    2-space indent) in the committed file makes that rewrite a no-op."""
    path = REPO_GX / "expectations" / f"{name}.json"
    doc = json.loads(path.read_text())
    assert doc["name"] == name and doc["id"]
    for e in doc["expectations"]:
        # GX 1.x serialises severity as a top-level field of each expectation
        assert e["severity"] in quality.SEVERITIES
        assert e["id"] and e["type"].startswith("expect_")
    assert path.read_text() == json.dumps(doc, indent=2, sort_keys=True), "not in GX's layout"


def test_severities_of_the_pipeline_suites() -> None:
    warnings = {}
    for name in (CITIZEN, MART):
        doc = json.loads((REPO_GX / "expectations" / f"{name}.json").read_text())
        warnings[name] = [
            (e["type"], e["kwargs"].get("column")) for e in doc["expectations"]
            if e["severity"] == "warning"
        ]
    assert warnings[CITIZEN] == [("expect_column_values_to_not_be_null", "address")]
    assert warnings[MART] == [("expect_column_unique_value_count_to_be_between", "commune_code")]


def test_missing_suite_raises_a_clear_error(ctx: Path, tmp_path: Path) -> None:
    db = make_citizen_db(tmp_path / "c.duckdb")
    with pytest.raises(SuiteNotFoundError) as err:
        validate_duckdb_table("no_such_suite", db, "citizen", context_root=ctx)
    message = str(err.value)
    assert str(ctx / "gx" / "expectations" / "no_such_suite.json") in message
    assert CITIZEN in message  # lists what exists
    assert isinstance(err.value, FileNotFoundError)


def test_missing_database_or_table_raises(ctx: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="DuckDB file not found"):
        validate_duckdb_table(CITIZEN, tmp_path / "nope.duckdb", "citizen", context_root=ctx)
    db = make_citizen_db(tmp_path / "c.duckdb")
    with pytest.raises(TableNotFoundError, match="no_table"):
        validate_duckdb_table(CITIZEN, db, "no_table", context_root=ctx)


def test_importing_the_module_does_not_import_gx() -> None:
    code = "import sys, kho.quality; print('great_expectations' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


# -- validations ------------------------------------------------------------------------


def test_passing_table(ctx: Path, tmp_path: Path) -> None:
    db = make_citizen_db(tmp_path / "citizen.duckdb", rows=300)
    db_before = _sha(db)
    v = validate_duckdb_table(CITIZEN, db, "citizen", context_root=ctx)

    assert v.passed is True
    assert v.suite == CITIZEN and v.target == "citizen"
    assert v.failures() == [] and v.summary() == ""
    assert len(v.outcomes) == 11 and all(o.success for o in v.outcomes)
    assert outcome(v, "expect_table_row_count_to_be_between", None).observed_value == 300
    assert outcome(v, "expect_column_values_to_match_regex", "cccd").element_count == 300
    assert v.run_time.tzinfo is not None
    assert v.data_docs is not None and v.data_docs.name == "index.html" and v.data_docs.is_file()
    assert v.duration_s is not None and v.duration_s > 0

    # the committed files are left byte-identical, the table is untouched, and GX's
    # connection is closed (a read-write open in this process would otherwise fail)
    for rel in ("great_expectations.yml", f"expectations/{CITIZEN}.json"):
        assert _sha(ctx / "gx" / rel) == _sha(REPO_GX / rel), rel
    assert _sha(db) == db_before
    duckdb.connect(str(db)).close()
    # GX's run-time objects went to uncommitted/
    assert list((ctx / "gx" / "uncommitted" / "checkpoints").glob("cp__*.json"))

    # a rerun (same names, add_or_update everywhere) works too
    again = validate_duckdb_table(CITIZEN, db, "citizen", context_root=ctx)
    assert again.passed and again.run_time > v.run_time


def test_critical_violation_fails_with_counts(ctx: Path, tmp_path: Path) -> None:
    db = make_citizen_db(
        tmp_path / "citizen.duckdb", 200,
        # cccd breaks the regex on 3 rows (still 12 digits, but not starting with 0)
        "UPDATE citizen SET cccd = '1' || substr(cccd, 2) WHERE full_name IN "
        "('Nguyen Van 1', 'Nguyen Van 2', 'Nguyen Van 3')",
        "UPDATE citizen SET sex = 'X' WHERE full_name IN ('Nguyen Van 10', 'Nguyen Van 11')",
        "UPDATE citizen SET birth_date = DATE '1899-12-31' WHERE full_name = 'Nguyen Van 20'",
    )
    v = validate_duckdb_table(CITIZEN, db, "citizen", context_root=ctx)

    assert v.passed is False
    regex = outcome(v, "expect_column_values_to_match_regex", "cccd")
    assert (regex.success, regex.severity) == (False, "critical")
    assert (regex.unexpected_count, regex.element_count) == (3, 200)
    assert regex.unexpected_percent == pytest.approx(1.5)
    assert regex.exception is None
    assert outcome(v, "expect_column_values_to_be_in_set", "sex").unexpected_count == 2
    assert outcome(v, "expect_column_values_to_be_between", "birth_date").unexpected_count == 1
    assert outcome(v, "expect_column_values_to_match_regex", "commune_code").success

    failed = {(o.expectation, o.column) for o in v.failures("critical")}
    assert failed == {
        ("expect_column_values_to_match_regex", "cccd"),
        ("expect_column_values_to_be_in_set", "sex"),
        ("expect_column_values_to_be_between", "birth_date"),
    }
    assert v.failures("warning") == []
    lines = v.summary().splitlines()
    assert len(lines) == 3
    assert ("[critical] expect_column_values_to_match_regex on column cccd failed on 3 of 200 "
            "rows (1.5%)") in lines


def test_page_only_validations_defer_the_index_but_never_hide_a_failure(ctx: Path, tmp_path: Path) -> None:
    from kho.quality import refresh_data_docs

    good = make_citizen_db(tmp_path / "good.duckdb", 50)
    first = validate_duckdb_table(CITIZEN, good, "citizen", context_root=ctx, data_docs_index=False)
    index = first.data_docs  # no index yet: the first validation builds it anyway
    assert index is not None and index.is_file()
    pages = index.parent / "validations" / CITIZEN
    before = (index.stat().st_mtime_ns, index.read_text())
    second = validate_duckdb_table(CITIZEN, good, "citizen", context_root=ctx, data_docs_index=False)
    assert second.passed
    assert (index.stat().st_mtime_ns, index.read_text()) == before  # the index was left alone
    assert len(list(pages.rglob("*.html"))) == 2  # but both results have their page

    assert refresh_data_docs(context_root=ctx) == index
    assert index.read_text() != before[1]  # now it lists the second result too

    bad = make_citizen_db(tmp_path / "bad.duckdb", 50, "UPDATE citizen SET sex = 'X'")
    before = index.read_text()
    failed = validate_duckdb_table(CITIZEN, bad, "citizen", context_root=ctx, data_docs_index=False)
    assert not failed.passed and index.read_text() != before  # a failure rebuilds the index at once


def test_warning_only_violation_passes(ctx: Path, tmp_path: Path) -> None:
    # 10% of addresses missing: the "mostly 0.95" warning fails, nothing critical does
    db = make_citizen_db(
        tmp_path / "citizen.duckdb", 100,
        "UPDATE citizen SET address = NULL WHERE right(cccd, 1) = '7'",
    )
    v = validate_duckdb_table(CITIZEN, db, "citizen", context_root=ctx)

    assert v.passed is True
    assert v.failures("critical") == []
    [warning] = v.failures("warning")
    assert v.failures() == [warning]
    assert (warning.expectation, warning.column) == ("expect_column_values_to_not_be_null",
                                                     "address")
    assert (warning.unexpected_count, warning.element_count) == (10, 100)
    assert v.summary() == (
        "[warning] expect_column_values_to_not_be_null on column address failed on 10 of "
        "100 rows (10%)"
    )


def test_mart_suite_pass_then_duplicates_and_few_communes(ctx: Path, tmp_path: Path) -> None:
    good = make_mart_db(tmp_path / "mart.duckdb", 110)
    v = validate_duckdb_table(MART, good, "population_by_commune_sex_age", context_root=ctx)
    assert v.passed, v.summary()
    assert outcome(v, "expect_column_unique_value_count_to_be_between",
                   "commune_code").observed_value == 110

    bad = make_mart_db(
        tmp_path / "mart_bad.duckdb", 50,
        "INSERT INTO population_by_commune_sex_age "
        "SELECT * FROM population_by_commune_sex_age WHERE commune_code = '31007' "
        "AND sex = 'F' AND age_band = '80+'",
    )
    v = validate_duckdb_table(MART, bad, "population_by_commune_sex_age", context_root=ctx)
    assert v.passed is False
    dup = outcome(v, "expect_compound_columns_to_be_unique", "commune_code,sex,age_band")
    assert (dup.success, dup.unexpected_count, dup.element_count) == (False, 2, 50 * 2 * 17 + 1)
    [warning] = v.failures("warning")
    assert warning.column == "commune_code" and warning.observed_value == 50
    assert "on columns commune_code, sex, age_band failed on 2 of 1,701 rows" in v.summary()


def test_table_in_another_schema(ctx: Path, tmp_path: Path) -> None:
    db = make_citizen_db(
        tmp_path / "citizen.duckdb", 40,
        "CREATE SCHEMA processed",
        "CREATE TABLE processed.citizen AS SELECT * FROM main.citizen",
        "UPDATE processed.citizen SET commune_code = '3100' WHERE full_name = 'Nguyen Van 5'",
    )
    v = validate_duckdb_table(CITIZEN, db, "processed.citizen", context_root=ctx)
    assert v.target == "processed.citizen" and v.passed is False
    assert all(o.exception is None for o in v.outcomes), v.summary()
    [failure] = v.failures()
    assert (failure.column, failure.unexpected_count) == ("commune_code", 1)


def test_to_rows_is_json_serialisable(ctx: Path, tmp_path: Path) -> None:
    db = make_citizen_db(
        tmp_path / "citizen.duckdb", 50,
        "UPDATE citizen SET address = NULL WHERE right(cccd, 1) IN ('1', '2')",
    )
    v = validate_duckdb_table(CITIZEN, db, "citizen", context_root=ctx)
    rows = v.to_rows(batch_id="batch-001", ingested_at=dt.datetime(2026, 1, 15, 8, 0))

    assert len(rows) == len(v.outcomes) == 11
    text = json.dumps(rows, allow_nan=False)  # strict JSON: no NaN, no datetime objects
    assert json.loads(text) == rows
    for row in rows:
        assert row["suite"] == CITIZEN and row["target"] == "citizen"
        assert row["batch_id"] == "batch-001" and row["ingested_at"] == "2026-01-15T08:00:00"
        assert dt.datetime.fromisoformat(row["run_time"]) == v.run_time
        assert all(isinstance(x, (str, int, float, bool, type(None))) for x in row.values())
    count = next(r for r in rows if r["expectation"] == "expect_table_row_count_to_be_between")
    assert json.loads(count["observed_value"]) == 50
    address = next(r for r in rows if r["column"] == "address")
    assert (address["severity"], address["success"], address["unexpected_count"]) == (
        "warning", False, 10)
    assert address["passed"] is True

    with pytest.raises(ValueError, match="shadow"):
        v.to_rows(suite="other")


def test_context_root_from_environment(ctx: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_EXPECTATIONS_DIR", str(ctx))
    assert quality.resolve_context_root() == ctx.resolve()
    assert quality.resolve_context_root(ctx / "gx") == ctx.resolve()  # the gx folder works too
    db = make_citizen_db(tmp_path / "citizen.duckdb")
    v = validate_duckdb_table(CITIZEN, db, "citizen")
    assert v.passed and v.data_docs is not None and ctx.resolve() in v.data_docs.parents


def test_parallel_processes_on_different_suites(ctx: Path, tmp_path: Path) -> None:
    citizen = make_citizen_db(tmp_path / "citizen.duckdb")
    mart = make_mart_db(tmp_path / "mart.duckdb")
    script = (
        "import sys\n"
        "from kho.quality import validate_duckdb_table as v\n"
        "r = v(sys.argv[1], sys.argv[2], sys.argv[3], context_root=sys.argv[4])\n"
        "print('PASSED' if r.passed else 'FAILED')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    jobs = [(CITIZEN, citizen, "citizen"), (MART, mart, "population_by_commune_sex_age")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, suite, str(db), table, str(ctx)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for suite, db, table in jobs
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.strip() == "PASSED", (out, err)
    assert _sha(ctx / "gx" / "great_expectations.yml") == _sha(REPO_GX / "great_expectations.yml")


# -- the verdict object on its own -----------------------------------------------------


def test_verdict_helpers_without_gx() -> None:
    def o(name, col, sev, ok, **kw):
        base = dict(element_count=None, unexpected_count=None, unexpected_percent=None,
                    observed_value=None)
        return ExpectationOutcome(name, col, sev, ok, **{**base, **kw})

    v = QualityVerdict(
        suite="s", target="t", passed=False, run_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        data_docs=None,
        outcomes=(
            o("expect_a", "x", "info", False, element_count=1_000_000, unexpected_count=1,
              unexpected_percent=0.0001),
            o("expect_b", None, "critical", False, observed_value={"n": 0}),
            o("expect_c", "y", "warning", True),
            o("expect_d", "z", "critical", False, exception="boom"),
        ),
    )
    assert [x.expectation for x in v.failures()] == ["expect_a", "expect_b", "expect_d"]
    assert [x.expectation for x in v.failures("critical")] == ["expect_b", "expect_d"]
    with pytest.raises(ValueError):
        v.failures("fatal")
    assert v.summary().splitlines() == [
        '[critical] expect_b failed (observed value: {"n": 0})',
        "[critical] expect_d on column z could not be evaluated: boom",
        "[info] expect_a on column x failed on 1 of 1,000,000 rows (0.0001%)",
    ]
    assert json.loads(json.dumps(v.to_rows()))[1]["observed_value"] == '{"n": 0}'
