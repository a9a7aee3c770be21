"""RestConnector against the real LGSP-style server (kho.sources.lgsp_api) over generated dossiers.

Each test starts its own uvicorn server in a thread on a free loopback port (the app keeps
per-server state: tokens, rate windows, revealed late updates), over one SQLite file
generated per module. sf=0.1 (about 5,100 dossiers, 26 pending late updates) rather than
0.01 (510 dossiers, 3 updates): enough rows for many keyset pages and for late updates to be
revealed while a read is under way, still generated in about half a second.
"""

from __future__ import annotations

import collections
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from kho.ingest.connections import Connection
from kho.ingest.connectors.base import CursorWindow, SourceSchemaError
from kho.ingest.connectors.rest import RestConnector, SourceApiError, SourceAuthError, _to_table
from kho.ingest.registry import ColumnSpec, ObjectConfig, SourceConfig, load_registry
from kho.ingest.types import ARROW_TYPES
from kho.sources import dossiers, lgsp_api
from tests.integration.lgsp_server import CONN_ID, serve

pytestmark = pytest.mark.integration

SEED = 7
SF = 0.1


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lgsp")
    dossiers.generate(folder, sf=SF, seed=SEED)
    return folder


@pytest.fixture(scope="module")
def db(data_dir: Path) -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(f"file:{dossiers.db_path(data_dir)}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    yield con
    con.close()


@pytest.fixture(scope="module")
def source() -> SourceConfig:
    return load_registry().get("dossiers")


def _obj(source: SourceConfig, name: str, page_size: int | None = None, **changes: Any) -> ObjectConfig:
    obj = next(o for o in source.objects if o.name == name)
    if page_size is not None:
        changes["api"] = obj.api.model_copy(update={"page_size": page_size})
    return obj.model_copy(update=changes)


def _rows(tables: list[pa.Table]) -> list[dict[str, Any]]:
    return [row for t in tables for row in t.to_pylist()]


def _read(source: SourceConfig, conn: Connection, obj: ObjectConfig, window: CursorWindow | None = None) -> list[pa.Table]:
    with RestConnector(source, conn, settings=None) as connector:  # settings unused by this connector
        return list(connector.read(obj, window))


# -- full snapshots --------------------------------------------------------------------------

def test_full_snapshot_reads_every_row_typed_in_declared_order(data_dir, db, source):
    procedure = _obj(source, "procedure", page_size=7)       # 40 rows -> 6 pages
    agency = _obj(source, "agency")                          # 513 rows -> 2 pages of 500
    with serve(data_dir, late_updates=False) as srv:
        connector = RestConnector(source, srv.connection(), settings=None)
        assert connector.describe(procedure)["url"] == f"http://127.0.0.1:{srv.port}/api/v1/tthc/thu-tuc"
        assert "secret" not in repr(connector.describe(procedure))
        procedures = list(connector.read(procedure))
        agencies = list(connector.read(agency))
        connector.close()
        assert srv.traffic.count(200, "/oauth/token") == 1   # one token for both objects
    table = pa.concat_tables(procedures)
    assert table.column_names == [c.name for c in procedure.expected_schema]
    assert table.schema.field("thoi_han_ngay").type == pa.int32()
    assert table.schema.field("le_phi").type == pa.int64()
    expected = [dict(r) for r in db.execute("SELECT * FROM thu_tuc ORDER BY ma_thu_tuc")]
    assert table.to_pylist() == expected
    expected_agencies = [dict(r) for r in db.execute("SELECT * FROM co_quan ORDER BY ma_co_quan, hieu_luc_tu")]
    assert _rows(agencies) == expected_agencies


def test_undeclared_keys_are_kept_as_text_after_declared_columns(data_dir, db, source):
    declared = [c for c in _obj(source, "procedure").expected_schema if c.name != "thoi_han_ngay"]
    procedure = _obj(source, "procedure", expected_schema=declared)
    with serve(data_dir, late_updates=False) as srv:
        table = pa.concat_tables(_read(source, srv.connection(), procedure))
    assert table.column_names == [c.name for c in declared] + ["thoi_han_ngay"]
    assert table.schema.field("thoi_han_ngay").type == pa.string()
    expected = {r["ma_thu_tuc"]: str(r["thoi_han_ngay"]) for r in db.execute("SELECT * FROM thu_tuc")}
    assert dict(zip(table["ma_thu_tuc"].to_pylist(), table["thoi_han_ngay"].to_pylist())) == expected


# -- incremental by keyset cursor ------------------------------------------------------------

def test_incremental_window_returns_exactly_the_rows_in_the_window(data_dir, db, source):
    dossier = _obj(source, "dossier", page_size=100)
    window = CursorWindow("2025-01-01 00:00:00", "2025-07-01 00:00:00")
    with serve(data_dir, late_updates=False) as srv:
        rows = _rows(_read(source, srv.connection(), dossier, window))
        requests_made = srv.traffic.data_requests()
        first_load = _rows(_read(source, srv.connection(), dossier, CursorWindow(None, "2023-03-01 00:00:00")))
    expected = [dict(r) for r in db.execute(
        "SELECT * FROM ho_so WHERE cap_nhat_luc >= ? AND cap_nhat_luc < ? ORDER BY cap_nhat_luc, id",
        (window.lower, window.upper))]
    assert len(expected) > 300
    assert rows == expected                                   # same rows, same values, keyset order
    # paging stops at the window's upper bound instead of reading to the end of the table
    assert requests_made <= len(expected) // 100 + 2
    expected_first = db.execute("SELECT count(*) FROM ho_so WHERE cap_nhat_luc < '2023-03-01 00:00:00'").fetchone()[0]
    assert len(first_load) == expected_first > 0


def test_keyset_read_sees_each_version_at_most_once_while_updates_are_revealed(data_dir, source):
    dossier = _obj(source, "dossier", page_size=200)
    with serve(data_dir, late_updates=True, reveal_per_request=1) as srv:
        pending = srv.state.pending_total
        rows = _rows(_read(source, srv.connection(), dossier, CursorWindow()))
        assert srv.state.revealed == pending > 10            # updates were revealed during the read
        final = {(r[0], r[1]) for r in srv.state.con.execute("SELECT id, cap_nhat_luc FROM ho_so")}
    versions = [(r["id"], r["cap_nhat_luc"]) for r in rows]
    duplicates = [v for v, n in collections.Counter(versions).items() if n > 1]
    assert duplicates == []
    # late updates move a dossier forward in time, so the keyset reaches every final version...
    assert final <= set(versions)
    # ...and a dossier read before its update was revealed is seen again, as its new version
    ids = collections.Counter(i for i, _ in versions)
    assert any(n == 2 for n in ids.values())
    assert max(ids.values()) <= 2


# -- rate limit, token expiry, credentials ---------------------------------------------------

def test_rate_limited_server_still_delivers_every_row(data_dir, db, source):
    procedure = _obj(source, "procedure", page_size=5)       # 8 data requests at 2 per second
    with serve(data_dir, late_updates=False, rate_limit=2) as srv:
        started = time.monotonic()
        conn = srv.connection(query="?max_attempts=6&backoff_factor=0.5")
        rows = _rows(_read(source, conn, procedure))
        elapsed = time.monotonic() - started
        throttled = srv.traffic.count(429)
    assert len(rows) == db.execute("SELECT count(*) FROM thu_tuc").fetchone()[0] == 40
    assert throttled > 0                                      # dlt's session retried the 429s
    assert elapsed >= 1.0                                     # ... after waiting Retry-After


def test_rate_limit_without_retries_fails_naming_the_connection(data_dir, source):
    procedure = _obj(source, "procedure", page_size=5)
    with serve(data_dir, late_updates=False, rate_limit=2) as srv:
        with pytest.raises(SourceApiError, match=rf"{CONN_ID}.*HTTP 429"):
            _read(source, srv.connection(query="?max_attempts=1"), procedure)


def test_token_expiring_mid_run_is_renewed(data_dir, db, source):
    procedure = _obj(source, "procedure", page_size=5)
    with serve(data_dir, late_updates=False, rate_limit=0, token_ttl=3600) as srv:
        def expire_after_third_page(path: str, data_requests: int) -> None:
            if path.startswith(lgsp_api.API_PREFIX) and data_requests == 3 and srv.clock_offset[0] == 0:
                srv.clock_offset[0] = 3601.0                  # the server now sees the token as expired

        srv.traffic.before = expire_after_third_page
        rows = _rows(_read(source, srv.connection(), procedure))
        assert srv.traffic.count(401) == 1
        assert srv.traffic.count(200, "/oauth/token") == 2
    expected = [dict(r) for r in db.execute("SELECT * FROM thu_tuc ORDER BY ma_thu_tuc")]
    assert rows == expected


def test_wrong_credentials_name_the_connection(data_dir, source):
    with serve(data_dir, late_updates=False) as srv:
        with pytest.raises(SourceAuthError) as caught:
            _read(source, srv.connection(password="not-the-secret"), _obj(source, "procedure"))
    message = str(caught.value)
    assert CONN_ID in message and "invalid_client" in message and "kho-dev" in message
    assert "not-the-secret" not in message


# -- schema contract -------------------------------------------------------------------------

def test_declared_column_the_api_no_longer_returns_raises_schema_error(data_dir, source):
    base = _obj(source, "procedure")
    procedure = _obj(source, "procedure", expected_schema=[*base.expected_schema,
                                                           ColumnSpec(name="ma_linh_vuc", type="string")])
    tables: list[pa.Table] = []
    with serve(data_dir, late_updates=False) as srv:
        with pytest.raises(SourceSchemaError, match="'ma_linh_vuc'"):
            for table in RestConnector(source, srv.connection(), settings=None).read(procedure):
                tables.append(table)
    # the other columns were still delivered (the first page), without an invented null column
    assert len(tables) == 1 and tables[0].num_rows == 40
    assert tables[0].column_names == [c.name for c in base.expected_schema]


def test_value_that_does_not_cast_raises_schema_error_naming_column_type_value(data_dir, db, source):
    declared = [c.model_copy(update={"type": "int"}) if c.name == "ten_thu_tuc" else c
                for c in _obj(source, "procedure").expected_schema]
    procedure = _obj(source, "procedure", expected_schema=declared)
    first = db.execute("SELECT ma_thu_tuc, ten_thu_tuc FROM thu_tuc ORDER BY ma_thu_tuc").fetchone()
    with serve(data_dir, late_updates=False) as srv:
        with pytest.raises(SourceSchemaError) as caught:
            _read(source, srv.connection(), procedure)
    assert (f"column 'ten_thu_tuc' is declared int but the API returned {first[1]!r} "
            f"(row ma_thu_tuc={first[0]!r})") in str(caught.value)


def test_json_values_cast_to_declared_types(source):
    """JSON gives numbers for text columns, nested objects and zoned or Vietnamese-format times."""
    obj = _obj(source, "procedure", expected_schema=[
        ColumnSpec(name="ma", type="string"), ColumnSpec(name="so", type="bigint"),
        ColumnSpec(name="ty_le", type="double"), ColumnSpec(name="tien", type="decimal"),
        ColumnSpec(name="ngay", type="date"), ColumnSpec(name="luc", type="timestamp"),
        ColumnSpec(name="co", type="boolean")], natural_key=[])
    records = [
        {"ma": 12, "so": "42", "ty_le": 1, "tien": "10.50", "ngay": "31/12/2025", "luc": "2026-01-02T03:04:05Z",
         "co": "true", "them": {"a": [1, "b"]}},
        {"ma": 1.5, "so": 7.0, "ty_le": "2.5", "tien": 3, "ngay": "2025-01-02", "luc": "2026-01-02 10:00:00",
         "co": 0, "them": True},
        {"ma": None, "so": "", "ty_le": None, "tien": None, "ngay": None, "luc": None, "co": None},
    ]
    table = _to_table(records, obj, "test")
    assert table.column_names == ["ma", "so", "ty_le", "tien", "ngay", "luc", "co", "them"]
    assert [str(t) for t in table.schema.types] == [
        "string", "int64", "double", str(ARROW_TYPES["decimal"]), "date32[day]", "timestamp[us]", "bool", "string"]
    first, second, _ = table.to_pylist()
    assert first["ma"] == "12" and second["ma"] == "1.5"
    assert first["them"] == '{"a": [1, "b"]}' and second["them"] == "true"
    assert str(first["luc"]) == "2026-01-02 10:04:05"          # UTC brought to local (UTC+07:00) time
    assert str(first["ngay"]) == "2025-12-31" and first["co"] is True and second["co"] is False
    with pytest.raises(SourceSchemaError, match=r"'so' is declared bigint but the API returned 1.5"):
        _to_table([{"so": 1.5}], obj, "test")
