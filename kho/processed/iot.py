"""Processed tables of the IoT monitoring streams (Dữ liệu quan trắc IoT): sensor_event and station.

Events land as one JSON-lines file per arrival hour; raw keeps every field as text and the
``measurements`` object as JSON text. Here:

* ``ts`` and ``received_at`` ("2026-10-30T08:00:00+07:00") become UTC instants, read with
  their own offset (a value without one is Vietnam time); late and out-of-order events are
  simply events whose ``arrival_delay_s`` is large: processed is ordered by ``measured_at``.
* ``measurements`` stays as the JSON text (firmware may add keys) and the keys every station
  type shares are typed columns (:data:`MEASUREMENT_KEYS`), parsed vectorised by Arrow's JSON
  reader. A null value (a sensor that did not answer) is null and listed in ``missing_keys``.
* An event delivered twice has the same ``event_id`` (the business key); the latest received
  copy wins survivorship.
* Sensor faults are flagged, never removed (the data owner decides): ``suspect_spike`` where a
  value jumps far above its station's other readings in the same hour of the batch
  (:data:`SPIKE_RULES`), ``suspect_stuck`` where a station repeats exactly the same readings
  for :data:`STUCK_MIN_REPEATS` intervals or more within the batch. Both look inside one batch
  only (one arrival hour), so a stuck episode is seen from its first full hour.

Rejected: no event id or station, an unknown station type, a measurement time that is missing
or unreadable, measurements that are not a JSON object.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from kho.lake import TableRef, Zone
from kho.processed._kit import (  # the shared rule kit
    Check, _assemble, _col, _completeness, _dedupe_codes, _flags, _record_id, _reject, _table,
)
from kho.processed.base import ProcessedTable
from kho.standardise import nfc, normalize_codes, parse_timestamps, resolve_unit_codes
from kho.standardise import _utf8
from kho.standardise._arrow import as_array, as_strings, bool_numpy, map_unique, reason_where, valid_mask

__all__ = ["TABLES", "SENSOR_EVENT", "STATION", "clean_sensor_events", "clean_stations", "parse_instants",
           "MEASUREMENT_KEYS", "SPIKE_RULES"]

DOMAIN = "iot"
OWNER = "Sở Nông nghiệp và Môi trường (environment monitoring); Sở Xây dựng (traffic counters)"
UTC_TS = pa.timestamp("us", tz="UTC")
LOCAL_OFFSET_S = 7 * 3600                     # Vietnam: UTC+7, no daylight saving
STATION_TYPES = {"air": "air", "water_level": "water_level", "water level": "water_level", "traffic": "traffic"}

# measurement key -> type of its typed column (the keys of the three station types). All float64:
# a column holds what the sensor sent (a faulty counter sends 59.1 cars), the flags say what is odd.
MEASUREMENT_KEYS: dict[str, pa.DataType] = {
    key: pa.float64() for key in ("pm25", "pm10", "aqi", "temperature_c", "humidity_pct", "water_level_cm",
                                  "motorbike", "car", "truck", "bus", "avg_speed_kmh")
}
# Spike: value > ratio x median + margin (or |value - median| > margin with ratio None) of the same
# station, key and hour within the batch, judged where the group has at least SPIKE_MIN_GROUP values.
SPIKE_RULES: dict[str, tuple[float | None, float]] = {
    "pm25": (3.0, 30.0), "pm10": (3.0, 50.0), "car": (3.0, 20.0), "motorbike": (3.0, 50.0), "truck": (3.0, 20.0),
    "bus": (3.0, 10.0), "water_level_cm": (None, 150.0),
}
SPIKE_MIN_GROUP = 4
STUCK_MIN_REPEATS = 3          # this many identical readings after the first (15 minutes at 5-minute intervals)
HAI_PHONG_BOX = ((20.4, 21.4), (105.9, 107.3))     # (lat, lon) bounds of the city, islands included
FUTURE_MARGIN = timedelta(days=2)             # a measurement later than as_of + this is a clock fault
# One arrival-hour file is a batch; the file, the event id and its arrival time identify a delivery
# (an event delivered twice can land in the same file).
EVENT_KEY = ("_source_file", "event_id", "received_at")


# -- the small rule kit every processed table of this module uses -------------------------------

# -- times ----------------------------------------------------------------------------------------------

_ISO_OFFSET = r"^(?P<local>[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)?" \
              r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})$"


def parse_instants(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """ISO 8601 text with an offset ("...T08:00:00+07:00", "...Z") -> UTC instants, and
    TIMESTAMP_MISSING / TIMESTAMP_UNPARSEABLE.

    The common shape is split by regex into the local part (parsed by the vectorised
    ``parse_timestamps``) and the offset (subtracted in int64); any other text goes through
    ``parse_timestamps`` whole, which reads it as Vietnam time.
    """
    text = pc.utf8_trim_whitespace(as_strings(values))
    parts = pc.extract_regex(text, _ISO_OFFSET)
    shaped = bool_numpy(pc.is_valid(parts))
    local = pc.if_else(pa.array(shaped), pc.struct_field(parts, "local"), text)
    parsed = parse_timestamps(local)
    offset = pc.replace_substring_regex(pc.struct_field(parts, "offset"), "^Z$", "+00:00")
    sign = pc.if_else(pc.starts_with(offset, "-"), -1, 1)
    digits = pc.replace_substring_regex(offset, r"[^0-9]", "")
    hours = pc.cast(pc.utf8_slice_codeunits(digits, 0, 2), pa.int64())
    minutes = pc.cast(pc.utf8_slice_codeunits(digits, 2, 4), pa.int64())
    seconds = pc.multiply(sign, pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)))
    seconds = pc.if_else(pa.array(shaped), seconds, LOCAL_OFFSET_S).fill_null(LOCAL_OFFSET_S)
    micros = pc.subtract(parsed.values.cast(pa.int64()), pc.multiply(seconds, 1_000_000))
    return micros.cast(UTC_TS), parsed.reasons


# -- measurements -----------------------------------------------------------------------------------------

def _read_objects(texts: pa.Array) -> pa.Table:
    """JSON objects (one per row; null -> {}) -> a table of the :data:`MEASUREMENT_KEYS` columns."""
    schema = pa.schema(list(MEASUREMENT_KEYS.items()))
    lines = pc.binary_join_element_wise(pc.replace_substring_regex(texts.fill_null("{}"), r"[\r\n]", " "), "", "\n")
    data, offsets = _utf8.buffers(lines)                 # the values back to back: one JSON object per line
    payload = data[offsets[0]:offsets[-1]].tobytes()
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=False)
    return pj.read_json(io.BytesIO(payload), read_options=pj.ReadOptions(block_size=max(1 << 20, len(payload) + 1)),
                        parse_options=options)


def _is_object(text: str | None) -> bool:
    if text is None:
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def parse_measurements(texts: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
    """(typed column per key, CODE_INVALID where the text is not a JSON object). Arrow reads the whole
    batch at once; only when that fails are rows judged one distinct value at a time."""
    n = len(texts)
    texts = as_strings(texts)
    if n == 0:
        return {k: pa.array([], t) for k, t in MEASUREMENT_KEYS.items()}, pa.array([], pa.string())
    good = bool_numpy(pc.starts_with(pc.utf8_trim_whitespace(texts), "{"))
    try:
        table = _read_objects(pc.if_else(pa.array(good), texts, pa.scalar(None, pa.string())))
    except (pa.ArrowInvalid, ValueError):
        good = bool_numpy(map_unique(texts, _is_object, pa.bool_()))
        table = _read_objects(pc.if_else(pa.array(good), texts, pa.scalar(None, pa.string())))
    columns = {key: as_array(table[key]).cast(type_) for key, type_ in MEASUREMENT_KEYS.items()}
    return columns, reason_where(~good, "CODE_INVALID")


def _missing_keys(texts: pa.Array, typed: dict[str, pa.Array]) -> pa.Array:
    """Keys present in the JSON with a null value, comma-separated (per row, vectorised)."""
    parts = []
    for key in MEASUREMENT_KEYS:
        present_null = pc.and_(pc.match_substring_regex(texts, f'"{key}"\\s*:\\s*null'), pc.is_null(typed[key]))
        parts.append(pc.if_else(present_null, key, ""))
    joined = pc.binary_join_element_wise(*parts, ",")
    return map_unique(joined, _dedupe_codes, pa.string())


# -- sensor faults ------------------------------------------------------------------------------------------

def _spikes(station: np.ndarray, hour: np.ndarray, typed: dict[str, pa.Array], stuck: np.ndarray) -> np.ndarray:
    """Rows where a value is far above (or, for water level, away from) its station-hour median.

    Readings of a stuck sensor are left out of the median: a counter stuck at its night value
    would otherwise make the morning's real traffic look like spikes.
    """
    out = np.zeros(len(station), dtype=bool)
    for key, (ratio, margin) in SPIKE_RULES.items():
        values = typed[key].to_numpy(zero_copy_only=False).astype(float)
        frame = pd.DataFrame({"s": station, "h": hour, "v": np.where(stuck, np.nan, values)})
        grouped = frame.groupby(["s", "h"])["v"]
        median = grouped.transform("median").to_numpy()
        count = grouped.transform("count").to_numpy()
        judged = (count >= SPIKE_MIN_GROUP) & ~np.isnan(values)
        if ratio is None:
            out |= judged & (np.abs(values - median) > margin)
        else:
            out |= judged & (values > ratio * median + margin)
    return out


def _stuck(station: np.ndarray, measured: np.ndarray, event: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Rows repeating their station's previous distinct reading, in runs of STUCK_MIN_REPEATS or more."""
    n = len(station)
    if n == 0:
        return np.zeros(0, dtype=bool)
    frame = pd.DataFrame({"s": station, "t": measured, "e": event, "m": texts, "row": np.arange(n)})
    frame = frame.sort_values(["s", "t", "e"], kind="stable").drop_duplicates(["s", "e"])   # re-deliveries once
    same = (frame["s"].to_numpy() == np.roll(frame["s"].to_numpy(), 1)) & \
           (frame["m"].to_numpy() == np.roll(frame["m"].to_numpy(), 1))
    same[0] = False
    run = np.cumsum(~same)                                  # a new run wherever the reading changes
    length = pd.Series(run).map(pd.Series(run).value_counts()).to_numpy()
    repeat = same & (length > STUCK_MIN_REPEATS)
    flagged = pd.MultiIndex.from_arrays([frame["s"].to_numpy()[repeat], frame["e"].to_numpy()[repeat]])
    return np.asarray(pd.MultiIndex.from_arrays([station, event]).isin(flagged), dtype=bool)


def _all_zero(typed: dict[str, pa.Array], n: int) -> np.ndarray:
    """Rows whose readings are all zero or null (a quiet traffic counter at night is not stuck)."""
    quiet = np.ones(n, dtype=bool)
    for key in MEASUREMENT_KEYS:
        values = typed[key].to_numpy(zero_copy_only=False).astype(float)
        quiet &= np.isnan(values) | (values == 0)
    return quiet


# -- sensor_event ---------------------------------------------------------------------------------------

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("station_id", pa.string()), ("station_type", pa.string()),
    ("measured_at", UTC_TS), ("received_at", UTC_TS), ("arrival_delay_s", pa.int64()),
    ("measurements", pa.string()), *((k, t) for k, t in MEASUREMENT_KEYS.items()),
    ("missing_keys", pa.string()), ("suspect_spike", pa.bool_()), ("suspect_stuck", pa.bool_()),
    ("quality_flags", pa.string()),
])
EVENT_DOCS = {
    "event_id": "mã sự kiện: station id + measurement time; an event delivered twice keeps its id",
    "station_id": "mã trạm: station (joins station)",
    "station_type": "loại trạm: air | water_level | traffic",
    "measured_at": "thời điểm đo: measurement time (UTC instant; the source writes +07:00)",
    "received_at": "thời điểm nhận: arrival time (UTC); the latest received copy of an event wins",
    "arrival_delay_s": "seconds from measured_at to received_at (late and out-of-order events have large ones)",
    "measurements": "số liệu đo: the measurements object as JSON text, as delivered",
    "pm25": "PM2.5, µg/m³ (air)", "pm10": "PM10, µg/m³ (air)", "aqi": "VN_AQI (air)",
    "temperature_c": "temperature, °C (air)", "humidity_pct": "relative humidity, % (air)",
    "water_level_cm": "water level above station datum, cm (water_level)",
    "motorbike": "motorbikes in the interval (traffic)", "car": "cars in the interval (traffic)",
    "truck": "trucks in the interval (traffic)", "bus": "buses in the interval (traffic)",
    "avg_speed_kmh": "average speed, km/h (traffic)",
    "missing_keys": "measurement keys the station sent as null (comma-separated)",
    "suspect_spike": "a value far above its station's other readings of the hour (SPIKE_RULES); kept",
    "suspect_stuck": "the station repeated exactly the same readings for 15 minutes or more; kept",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}


def clean_sensor_events(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``sensor_event`` rows -> :data:`EVENT_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    event_id = nfc(_col(table, "event_id"))
    station = nfc(_col(table, "station_id"))
    kind = normalize_codes(_col(table, "station_type"), STATION_TYPES, pa.string())
    measured, measured_reason = parse_instants(_col(table, "ts"))
    received, received_reason = parse_instants(_col(table, "received_at"))
    texts = as_strings(_col(table, "measurements"))
    typed, json_reason = parse_measurements(texts)
    limit = datetime(as_of.year, as_of.month, as_of.day) + FUTURE_MARGIN
    future = reason_where(bool_numpy(pc.greater(measured, pa.scalar(limit, pa.timestamp("us")).cast(UTC_TS))),
                          "TIMESTAMP_OUT_OF_RANGE")
    delay = pc.divide(pc.subtract(received.cast(pa.int64()), measured.cast(pa.int64())), 1_000_000)

    station_np = station.fill_null("").to_numpy(zero_copy_only=False)
    measured_np = measured.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    stuck = _stuck(station_np, measured_np, event_id.fill_null("").to_numpy(zero_copy_only=False),
                   texts.fill_null("").to_numpy(zero_copy_only=False)) & ~_all_zero(typed, n)
    spike = _spikes(station_np, measured_np // 3_600_000_000, typed, stuck)
    reason, detail = _reject(n, [
        Check(reason_where(~valid_mask(event_id), "CODE_INVALID"), "event_id", _col(table, "event_id")),
        Check(reason_where(~valid_mask(station), "CODE_INVALID"), "station_id", _col(table, "station_id")),
        Check(kind.reasons, "station_type", _col(table, "station_type")),
        Check(pc.coalesce(measured_reason, future), "ts", _col(table, "ts")),
        Check(json_reason, "measurements", texts),
    ])
    values = {"event_id": event_id, "station_id": station, "station_type": kind.values, "measured_at": measured,
              "received_at": received, "arrival_delay_s": delay, "measurements": texts,
              **{k: typed[k] for k in MEASUREMENT_KEYS}, "missing_keys": _missing_keys(texts, typed),
              "suspect_spike": pa.array(spike), "suspect_stuck": pa.array(stuck),
              "quality_flags": _flags(n, received_reason)}
    completeness = _completeness(n, [values["received_at"], *(typed[k] for k in MEASUREMENT_KEYS)])
    return _assemble(EVENT_SCHEMA, values, _record_id(table, EVENT_KEY), reason, detail, completeness)



# -- station ----------------------------------------------------------------------------------------------

STATION_SCHEMA = pa.schema([
    ("station_id", pa.string()), ("station_type", pa.string()), ("station_name", pa.string()),
    ("latitude", pa.float64()), ("longitude", pa.float64()), ("owner", pa.string()),
    ("reported_unit_code", pa.string()), ("commune_code", pa.string()), ("unit_name", pa.string()),
    ("delivered_at", UTC_TS), ("quality_flags", pa.string()),
])
STATION_DOCS = {
    "station_id": "mã trạm: station id (KK- air, TV- water level, GT- traffic)",
    "station_type": "loại trạm: air | water_level | traffic",
    "station_name": "tên trạm: name (NFC)",
    "latitude": "vĩ độ: WGS-84 latitude; a position outside Hải Phòng is rejected",
    "longitude": "kinh độ: WGS-84 longitude",
    "owner": "đơn vị quản lý: owning agency",
    "reported_unit_code": "mã đơn vị hành chính: unit code as the station list gives it",
    "commune_code": "the current (114-unit) commune: reported_unit_code through the crosswalk (flagged when "
                    "unresolved)",
    "unit_name": "tên đơn vị hành chính: unit name as the station list gives it",
    "delivered_at": "when the station list was ingested (UTC): the latest list wins",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}
STATION_KEY = ("_source_file", "station_id")


def _floats(values: pa.Array) -> pa.Array:
    arr = as_array(values)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return arr.cast(pa.float64())
    text = pc.utf8_trim_whitespace(as_strings(arr))
    number = bool_numpy(pc.match_substring_regex(text, r"^[-+]?[0-9]+(\.[0-9]+)?$"))
    return pc.cast(pc.if_else(pa.array(number), text, pa.scalar(None, pa.string())), pa.float64())


def clean_stations(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``station`` rows (stations.json) -> :data:`STATION_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    station = nfc(_col(table, "station_id"))
    kind = normalize_codes(_col(table, "station_type"), STATION_TYPES, pa.string())
    lat, lon = _floats(_col(table, "lat")), _floats(_col(table, "lon"))
    (lat_low, lat_high), (lon_low, lon_high) = HAI_PHONG_BOX
    outside = ~bool_numpy(pc.and_(pc.and_(pc.greater_equal(lat, lat_low), pc.less_equal(lat, lat_high)),
                                  pc.and_(pc.greater_equal(lon, lon_low), pc.less_equal(lon, lon_high))))
    position = pc.binary_join_element_wise(as_strings(_col(table, "lat")).fill_null("?"),
                                           as_strings(_col(table, "lon")).fill_null("?"), ", ")
    units = resolve_unit_codes(_col(table, "unit_code"))
    reason, detail = _reject(n, [
        Check(reason_where(~valid_mask(station), "CODE_INVALID"), "station_id", _col(table, "station_id")),
        Check(kind.reasons, "station_type", _col(table, "station_type")),
        Check(reason_where(outside, "CODE_INVALID"), "lat, lon", position),
    ])
    values = {"station_id": station, "station_type": kind.values, "station_name": nfc(_col(table, "name")),
              "latitude": lat, "longitude": lon, "owner": nfc(_col(table, "owner")),
              "reported_unit_code": nfc(_col(table, "unit_code")), "commune_code": units.codes,
              "unit_name": nfc(_col(table, "unit_name")), "delivered_at": _col(table, "_ingested_at").cast(UTC_TS),
              "quality_flags": _flags(n, units.reasons)}
    completeness = _completeness(n, [values[c] for c in ("station_name", "latitude", "longitude", "owner",
                                                         "commune_code")])
    return _assemble(STATION_SCHEMA, values, _record_id(table, STATION_KEY), reason, detail, completeness)


# -- declarations -------------------------------------------------------------------------------------------

SENSOR_EVENT = ProcessedTable(
    domain=DOMAIN, name="sensor_event", raw=TableRef(Zone.RAW, DOMAIN, "sensor_event"),
    record_key=EVENT_KEY, clean=clean_sensor_events, schema=EVENT_SCHEMA,
    business_key=("event_id",), source_timestamp="received_at",
    description="Air quality, water level and traffic-count events of the fixed stations, one row per event, with "
                "typed measurements and sensor-fault flags.",
    term_vi="sự kiện quan trắc IoT", owner=OWNER, column_docs=EVENT_DOCS,
)
STATION = ProcessedTable(
    domain=DOMAIN, name="station", raw=TableRef(Zone.RAW, DOMAIN, "station"),
    record_key=STATION_KEY, clean=clean_stations, schema=STATION_SCHEMA,
    business_key=("station_id",), source_timestamp="delivered_at",
    description="Monitoring stations with position, owner and current commune.",
    term_vi="trạm quan trắc", owner=OWNER, column_docs=STATION_DOCS,
)

TABLES = [SENSOR_EVENT, STATION]
