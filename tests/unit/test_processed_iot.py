"""Processed IoT tables (kho.processed.iot) on a generated stream drop, loaded by the real loader.

Six arrival hours of events (one JSONL file each) and stations.json are generated into
tmp_path with the sensor faults at raised rates, loaded into an isolated lake and cleaned.
The generator decides every fault up front per station and day (``iot._Day``: spike factor,
stuck window, delay kind per slot), which is the oracle for the spike, stuck and late flags.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.processed import iot as p
from kho.processed.base import RULE_COLUMNS
from kho.settings import get_settings
from kho.sources import iot as gen

SEED = 7
DAY = date(2026, 11, 27)
START, END = "2026-10-30T06:00:00+07:00", "2026-10-30T12:00:00+07:00"
FAULTS = {"spike": 0.03, "stuck": 0.6, "missing_value": 0.02, "exact_duplicate": 0.02, "late": 0.02,
          "out_of_order": 0.03}
RATES = {**gen.DEFAULT_FAULT_RATES, **FAULTS}
SPIKED_KEY = {"air": "pm25", "water_level": "water_level_cm", "traffic": "car"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("iot")
    stats = gen.generate(root, seed=SEED, fault_rates=FAULTS, start=START, end=END)
    return {"folder": root / "iot", "stats": stats, "raw": {}}


@pytest.fixture
def raw(source, isolated_settings, monkeypatch):
    """Both raw tables, loaded once per module by the real loader into an isolated lake."""
    if not source["raw"]:
        monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_IOT", f"file://{source['folder']}")
        get_settings.cache_clear()
        system = load_registry().get("iot")
        for name in ("sensor_event", "station"):
            load_object(get_settings(), system, system.object(name), day_interval(DAY))
            source["raw"][name] = DeltaTable(f"{get_settings().lake_root}/raw/iot/{name}").to_pyarrow_table()
    return source["raw"]


@pytest.fixture
def events(raw):
    """Cleaned per raw batch (one arrival-hour file), as the job does."""
    table = raw["sensor_event"]
    parts = [p.clean_sensor_events(table.filter(pc.equal(table["_batch_id"], b)), DAY)
             for b in sorted(set(table["_batch_id"].to_pylist()))]
    raws = [table.filter(pc.equal(table["_batch_id"], b)) for b in sorted(set(table["_batch_id"].to_pylist()))]
    return pa.concat_tables(raws), pa.concat_tables(parts)


def _plans():
    cache: dict = {}

    def plan(station: str, ts: datetime):
        local = ts.astimezone(gen.TZ).replace(tzinfo=None)
        key = (station, local.date())
        if key not in cache:
            cache[key] = gen._Day(SEED, gen.STATION_BY_ID[station], local.date(), gen.DEFAULT_INTERVAL_S, RATES)
        slot = (local.hour * 3600 + local.minute * 60 + local.second) // gen.DEFAULT_INTERVAL_S
        return cache[key], slot
    return plan


def test_contract_times_and_typed_measurements(events, source):
    raw, out = events
    assert out.num_rows == raw.num_rows == source["stats"].rows["events"] > 0
    assert out.schema.names == p.EVENT_SCHEMA.names + list(RULE_COLUMNS)
    for field in p.EVENT_SCHEMA:
        assert out.schema.field(field.name).type == field.type, field.name
    assert len(set(out["record_id"].to_pylist())) == out.num_rows
    assert out["_reject_reason"].null_count == out.num_rows and out["quality_flags"].null_count == out.num_rows
    for r, o in zip(raw.to_pylist(), out.to_pylist()):
        assert o["measured_at"] == datetime.fromisoformat(r["ts"]) and o["measured_at"].utcoffset() == timedelta(0)
        assert o["received_at"] == datetime.fromisoformat(r["received_at"])
        assert o["arrival_delay_s"] == (o["received_at"] - o["measured_at"]).total_seconds()
        values = json.loads(r["measurements"])
        assert o["measurements"] == r["measurements"]
        for key in p.MEASUREMENT_KEYS:
            assert o[key] == values.get(key), key
        assert (o["missing_keys"] or "") == ",".join(k for k in p.MEASUREMENT_KEYS if k in values and values[k] is None)


def test_duplicates_and_late_events(events, source):
    raw, out = events
    ids = Counter(out["event_id"].to_pylist())
    repeated = sum(c - 1 for c in ids.values())
    stats = source["stats"].faults
    assert 0 < repeated <= stats["exact_duplicate"]
    by_id: dict[str, list[dict]] = {}
    for o in out.to_pylist():
        by_id.setdefault(o["event_id"], []).append(o)
    for copies in (c for c in by_id.values() if len(c) > 1):
        assert len({c["received_at"] for c in copies}) == len(copies)          # survivorship has an order
        assert len({(c["measurements"], c["measured_at"]) for c in copies}) == 1
    plan = _plans()
    late = 0
    for o in out.to_pylist():
        day, slot = plan(o["station_id"], o["measured_at"])
        kind = day.plan[slot][3]
        if kind == "late":
            late += 1
            assert o["arrival_delay_s"] >= 3600
        elif kind == "out_of_order":
            assert 1.5 * gen.DEFAULT_INTERVAL_S <= o["arrival_delay_s"] <= 4 * gen.DEFAULT_INTERVAL_S + 300
        else:
            assert o["arrival_delay_s"] <= 20 + 300
    assert late > 0


def test_spike_and_stuck_flags_follow_the_generators_plan(events):
    _, out = events
    plan = _plans()
    truth_spike, truth_stuck = set(), set()
    judged_spike = set()
    rows = out.to_pylist()
    group = Counter((o["_batch"], o["station_id"], o["measured_at"].replace(minute=0, second=0))
                    for o in ({**r, "_batch": r["record_id"].split("\u241f")[0]} for r in rows))
    for o in rows:
        day, slot = plan(o["station_id"], o["measured_at"])
        key = SPIKED_KEY[o["station_type"]]
        if day.plan[slot][0] is not None and o[key] is not None:
            truth_spike.add(o["record_id"])
            if group[(o["record_id"].split("\u241f")[0], o["station_id"],
                      o["measured_at"].replace(minute=0, second=0))] >= p.SPIKE_MIN_GROUP:
                judged_spike.add(o["record_id"])
        if day.stuck and day.stuck[0] < slot < day.stuck[1]:
            truth_stuck.add(o["record_id"])
    flagged_spike = {o["record_id"] for o in rows if o["suspect_spike"]}
    flagged_stuck = {o["record_id"] for o in rows if o["suspect_stuck"]}
    assert judged_spike and truth_stuck
    assert len(flagged_spike & judged_spike) >= 0.9 * len(judged_spike)        # recall where a group exists
    assert len(flagged_spike - truth_spike) <= 0.1 * len(flagged_spike)         # precision
    assert len(flagged_stuck - truth_stuck) <= 0.05 * len(flagged_stuck)        # precision
    assert len(flagged_stuck & truth_stuck) >= 0.5 * len(truth_stuck)          # a run must show inside one file
    assert not any(o["suspect_stuck"] for o in rows if o["record_id"] not in truth_stuck and o["station_type"] == "air")


def test_stations(raw):
    out = p.clean_stations(raw["station"], DAY)
    assert out.num_rows == raw["station"].num_rows == len(gen.STATIONS)
    assert out.schema.names == p.STATION_SCHEMA.names + list(RULE_COLUMNS)
    assert out["_reject_reason"].null_count == out.num_rows
    by_id = {o["station_id"]: o for o in out.to_pylist()}
    for st in gen.STATIONS:
        row = by_id[st.station_id]
        assert row["commune_code"] == st.unit_code and (row["latitude"], row["longitude"]) == (st.lat, st.lon)
        assert row["station_type"] == st.station_type and row["station_name"] == st.name
    assert p.clean_stations(raw["station"].slice(0, 0), DAY).num_rows == 0


def test_hand_built_edge_cases():
    good = '{"pm25":50.7,"pm10":84.9,"aqi":101,"temperature_c":26.3,"humidity_pct":82}'
    rows = [
        ("KK-NQ-01-20261030080000", "KK-NQ-01", "air", "2026-10-30T08:00:00+07:00", "2026-10-30T08:00:01+07:00", good),
        ("KK-NQ-01-20261030080500", "KK-NQ-01", "air", "2026-10-30T01:05:00Z", "2026-10-30 08:05:03", good),
        ("KK-NQ-01-20261030081000", "KK-NQ-01", "air", "2026-10-30T08:10:00+07:00", None, '{"pm25":'),
        ("KK-NQ-01-20261030081500", "KK-NQ-01", "radar", "2026-10-30T08:15:00+07:00", None, good),
        (None, "KK-NQ-01", "air", "2026-10-30T08:20:00+07:00", None, good),
        ("KK-NQ-01-20271030082500", "KK-NQ-01", "air", "2027-10-30T08:25:00+07:00", None, good),
        ("KK-NQ-01-20261030083000", "KK-NQ-01", "air", "30/10/2026 08:30", "không rõ", '{"pm25":null,"pm10":1}'),
        ("KK-NQ-01-20261030083500", "KK-NQ-01", "air", "", None, good),
    ]
    raw = pa.table({"event_id": [r[0] for r in rows], "station_id": [r[1] for r in rows],
                    "station_type": [r[2] for r in rows], "ts": [r[3] for r in rows],
                    "received_at": [r[4] for r in rows], "measurements": [r[5] for r in rows],
                    "_source_file": ["iot_20261030_08.jsonl"] * len(rows)})
    out = p.clean_sensor_events(raw, DAY).to_pylist()
    assert out[0]["_reject_reason"] is None and out[0]["aqi"] == 101 and out[0]["pm25"] == 50.7
    assert out[1]["measured_at"] == datetime(2026, 10, 30, 1, 5, tzinfo=timezone.utc)
    assert out[1]["received_at"] == datetime(2026, 10, 30, 1, 5, 3, tzinfo=timezone.utc)   # no offset: Vietnam time
    assert out[2]["_reject_reason"] == "CODE_INVALID" and "measurements" in out[2]["_reject_detail"]
    assert out[3]["_reject_reason"] == "CODE_INVALID" and "station_type 'radar'" in out[3]["_reject_detail"]
    assert out[4]["_reject_reason"] == "CODE_INVALID"
    assert out[5]["_reject_reason"] == "TIMESTAMP_OUT_OF_RANGE"
    assert out[6]["_reject_reason"] is None and out[6]["measured_at"] == datetime(2026, 10, 30, 1, 30,
                                                                                   tzinfo=timezone.utc)
    assert out[6]["quality_flags"] == "TIMESTAMP_UNPARSEABLE" and out[6]["missing_keys"] == "pm25"
    assert out[6]["pm25"] is None and out[6]["pm10"] == 1.0
    assert out[7]["_reject_reason"] == "TIMESTAMP_MISSING"

    stations = pa.table({"station_id": ["X-1", "X-2"], "station_type": ["air", "traffic"], "name": ["A", "B"],
                         "lat": ["20.86", "10.77"], "lon": ["106.68", "106.70"], "owner": ["o", "o"],
                         "unit_code": ["11311", "11311"], "unit_name": ["Hồng Bàng", "Hồng Bàng"],
                         "_source_file": ["stations.json"] * 2})
    out = p.clean_stations(stations, DAY).to_pylist()
    assert out[0]["_reject_reason"] is None and out[0]["latitude"] == 20.86
    assert out[1]["_reject_reason"] == "CODE_INVALID" and "lat, lon '10.77, 106.70'" in out[1]["_reject_detail"]


def test_empty_batch(raw):
    out = p.clean_sensor_events(raw["sensor_event"].slice(0, 0), DAY)
    assert out.num_rows == 0 and out.schema.names == p.EVENT_SCHEMA.names + list(RULE_COLUMNS)


def test_declarations():
    registry = load_registry().get("iot")
    for table in p.TABLES:
        obj = registry.object(table.raw.name)
        assert set(table.record_key) <= {c.name for c in obj.expected_schema} | {"_source_file"}
        assert set(table.column_docs) == set(table.schema.names)
        assert set(table.business_key) <= set(table.schema.names) and table.source_timestamp in table.schema.names
    assert p.SENSOR_EVENT.business_key == ("event_id",) and p.SENSOR_EVENT.source_timestamp == "received_at"
