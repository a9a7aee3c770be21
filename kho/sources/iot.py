"""IoT monitoring streams, generated: air quality and water level stations, traffic counters.

Owners: Sở Nông nghiệp và Môi trường (environment and hydro-meteorological monitoring; seed
§VII.3.2.2 ~5714-5720, the "monitoring service platform") and Sở Xây dựng (traffic counters;
~5765-5775, checklist item 64). Other issues stream from here (a Kafka producer, Spark
Structured Streaming, file drops), so the API is an iterator:

* :func:`iter_events` ``(seed, start, end, *, stations=None, interval_s=300, fault_rates=None,
  by="arrival")`` yields events lazily, in ARRIVAL order (what a broker sees). Each event::

      {"event_id": "KK-HB-01-20261031070500", "station_id": "KK-HB-01", "station_type": "air",
       "ts": "2026-10-31T07:05:00+07:00", "received_at": "2026-10-31T07:05:09+07:00",
       "measurements": {"pm25": 41.3, "pm10": 70.2, "aqi": 82, "temperature_c": 24.1, "humidity_pct": 78}}

  Measurement keys: air ``pm25``, ``pm10`` (µg/m³), ``aqi`` (VN_AQI from the two, QĐ
  1459/QĐ-TCMT breakpoints on instantaneous values - a simplification of the hourly NowCast
  rule), ``temperature_c``, ``humidity_pct``; water ``water_level_cm`` (above station datum);
  traffic ``motorbike``, ``car``, ``truck``, ``bus`` (vehicles in the interval) and
  ``avg_speed_kmh``.
  ``by="arrival"`` selects events that ARRIVE in [start, end): consecutive windows partition the
  stream exactly, late events included. ``by="ts"`` selects events measured in [start, end).
* :func:`write_jsonl` ``(dir, start, end, ...)`` writes a file drop: one JSON-lines file per
  arrival hour, ``iot_YYYYMMDD_HH.jsonl``, plus ``stations.json``.

Deterministic and window-independent: a value is a function of (seed, station, day, slot,
interval_s) only, so the same event has the same bytes whichever window produced it. Memory is
bounded: one day of values per station and a heap of in-flight (late) events.

Patterns: traffic peaks 07-09 h and 17-19 h, lower at weekends and around Tết; PM2.5 higher at
night and in winter (Nov-Feb), with day-to-day weather swings; water level follows the tide
(M2 12,42 h dominant as specified, with S2, K1 and O1; note the real Hòn Dấu tide is mostly
diurnal - adjust a station's ``tide`` amplitudes if a study needs it) plus a rainy-season rise on rivers.

Faults (``DEFAULT_FAULT_RATES``): missing measurement values (``null``), a sensor stuck at a
constant for 1-6 hours, spikes, out-of-order arrival (a few intervals late), late arrival
(1-6 hours), exact duplicates (``exact_duplicate``: the same event, same ``event_id``, delivered
twice). Station coordinates and placements
are approximate [derived]; station codes are this project's.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kho import reference
from kho.sources.base import GenerationStats, SourceSystem, write_manifest

SYSTEM = SourceSystem(
    name="iot",
    title="IoT monitoring streams: air quality, water level, traffic counts",
    title_vi="Dữ liệu quan trắc IoT: chất lượng không khí, mực nước, đếm lưu lượng giao thông",
    owner="Sở Nông nghiệp và Môi trường (quan trắc môi trường); Sở Xây dựng (đếm phương tiện giao thông)",
    form="stream",
    engine=None,
    objects={"events": ("event_id",), "stations": ("station_id",)},
    description="JSON events (station_id, ts +07:00, measurements) from fixed stations; hourly JSONL file drops.",
)

TZ = timezone(timedelta(hours=7))
DEFAULT_INTERVAL_S = 300
DEFAULT_START = datetime(2026, 10, 25)
DEFAULT_END = datetime(2026, 11, 1)
MAX_LATE_S = 6 * 3600
DEFAULT_FAULT_RATES: dict[str, float] = {
    "missing_value": 0.01,      # per measurement
    "stuck": 0.03,              # per station-day: one episode of 1-6 h
    "spike": 0.003,             # per event
    "out_of_order": 0.01,       # per event: arrives 1.5-4 intervals late
    "late": 0.005,              # per event: arrives 1-6 h late
    "exact_duplicate": 0.005,   # per event: delivered twice
}
_TET = (date(2023, 1, 22), date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6))


@dataclass(frozen=True)
class Station:
    station_id: str
    station_type: str          # "air" | "water_level" | "traffic"
    name: str
    unit_name: str             # commune-level unit (looked up to its code)
    lat: float
    lon: float
    owner: str
    base: float                # air: PM2.5 level; water: mean level (cm); traffic: vehicles/day
    ratio: float = 1.7         # air: PM10/PM2.5; traffic: share of motorbikes
    tide: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)   # M2, S2, K1, O1 amplitudes (cm)
    river: float = 0.0         # water: rainy-season rise (cm)
    speed: float = 40.0        # traffic: free-flow speed (km/h)
    truck: float = 0.05        # traffic: share of trucks

    @property
    def unit_code(self) -> str:
        return _unit_code(self.unit_name)


_ENV = "Sở Nông nghiệp và Môi trường"
_CON = "Sở Xây dựng"
STATIONS: tuple[Station, ...] = (
    Station("KK-HB-01", "air", "Trạm quan trắc không khí tự động Hồng Bàng", "Hồng Bàng", 20.8652, 106.6803, _ENV, 36.0, 1.70),
    Station("KK-LC-01", "air", "Trạm quan trắc không khí tự động Lê Chân", "Lê Chân", 20.8482, 106.6836, _ENV, 38.0, 1.75),
    Station("KK-NQ-01", "air", "Trạm quan trắc không khí tự động Ngô Quyền", "Ngô Quyền", 20.8591, 106.7012, _ENV, 35.0, 1.70),
    Station("KK-HA-01", "air", "Trạm quan trắc không khí tự động Hải An (khu cảng)", "Hải An", 20.8302, 106.7448, _ENV, 42.0, 1.90),
    Station("KK-TN-01", "air", "Trạm quan trắc không khí tự động Thủy Nguyên", "Thủy Nguyên", 20.9213, 106.6702, _ENV, 44.0, 1.95),
    Station("KK-HD-01", "air", "Trạm quan trắc không khí tự động Hải Dương", "Hải Dương", 20.9401, 106.3305, _ENV, 40.0, 1.75),
    Station("KK-CL-01", "air", "Trạm quan trắc không khí tự động Chí Linh", "Chí Linh", 21.1302, 106.3897, _ENV, 34.0, 1.80),
    Station("KK-KM-01", "air", "Trạm quan trắc không khí tự động Kinh Môn (khu xi măng)", "Kinh Môn", 20.9998, 106.5102, _ENV, 47.0, 2.10),
    Station("KK-CH-01", "air", "Trạm quan trắc không khí tự động Cát Bà", "Cát Hải", 20.7271, 107.0483, _ENV, 15.0, 1.60),
    Station("TV-HD-01", "water_level", "Trạm hải văn Hòn Dấu", "Nam Đồ Sơn", 20.6672, 106.8167, _ENV, 190.0,
            tide=(85.0, 22.0, 45.0, 38.0)),
    Station("TV-CC-01", "water_level", "Trạm thủy văn Cửa Cấm", "Ngô Quyền", 20.8660, 106.7101, _ENV, 175.0,
            tide=(70.0, 18.0, 38.0, 32.0), river=40.0),
    Station("TV-CH-01", "water_level", "Trạm hải văn Cát Bà", "Cát Hải", 20.7178, 107.0502, _ENV, 200.0,
            tide=(90.0, 24.0, 48.0, 40.0)),
    Station("TV-TB-01", "water_level", "Trạm thủy văn sông Thái Bình (Chí Linh)", "Chí Linh", 21.1151, 106.3003, _ENV, 120.0,
            tide=(18.0, 5.0, 10.0, 8.0), river=180.0),
    Station("GT-CB-01", "traffic", "Trạm đếm xe cầu Bính", "Hồng Bàng", 20.8731, 106.6692, _CON, 62_000, 0.72, speed=45, truck=0.06),
    Station("GT-LT-01", "traffic", "Trạm đếm xe nút Lạch Tray - Nguyễn Văn Linh", "Lê Chân", 20.8455, 106.6912, _CON, 95_000, 0.80, speed=35, truck=0.03),
    Station("GT-LHP-01", "traffic", "Trạm đếm xe đường Lê Hồng Phong", "Ngô Quyền", 20.8473, 106.7125, _CON, 70_000, 0.74, speed=40, truck=0.03),
    Station("GT-TDT-01", "traffic", "Trạm đếm xe đường Tôn Đức Thắng", "An Dương", 20.8563, 106.6411, _CON, 58_000, 0.68, speed=45, truck=0.10),
    Station("GT-CT-01", "traffic", "Trạm đếm xe cao tốc Hà Nội - Hải Phòng (nút Tân Vũ)", "Hải An", 20.8389, 106.7713, _CON, 32_000, 0.0, speed=90, truck=0.45),
    Station("GT-TV-01", "traffic", "Trạm đếm xe cầu Tân Vũ - Lạch Huyện", "Cát Hải", 20.8178, 106.8402, _CON, 14_000, 0.05, speed=70, truck=0.55),
    Station("GT-QL5-01", "traffic", "Trạm đếm xe Quốc lộ 5 (Hải Dương)", "Hải Dương", 20.9302, 106.3551, _CON, 48_000, 0.45, speed=60, truck=0.25),
    Station("GT-QL18-01", "traffic", "Trạm đếm xe Quốc lộ 18 (Chí Linh)", "Chí Linh", 21.1153, 106.4102, _CON, 26_000, 0.40, speed=60, truck=0.30),
)
STATION_BY_ID = {s.station_id: s for s in STATIONS}

# VN_AQI breakpoints (QĐ 1459/QĐ-TCMT, 2019) [verify]: index levels and concentrations (µg/m³).
_AQI_I = (0, 50, 100, 150, 200, 300, 400, 500)
_AQI_PM25 = (0, 25, 50, 80, 150, 250, 350, 500)
_AQI_PM10 = (0, 50, 150, 250, 350, 420, 500, 600)
_PM_SEASON = (1.60, 1.40, 1.20, 0.90, 0.70, 0.55, 0.50, 0.55, 0.70, 0.95, 1.25, 1.55)
_TEMP_SEASON = (17.0, 18.0, 20.5, 24.0, 27.5, 29.5, 29.8, 29.0, 27.8, 25.5, 22.0, 18.5)
_PERIODS_H = (12.4206, 12.0, 23.9345, 25.8193)   # M2, S2, K1, O1
_PHASES = (0.3, 1.1, 2.0, 0.7)
_EPOCH = datetime(2000, 1, 1)


def _unit_code(name: str) -> str:
    for u in reference.admin_units():
        if u.unit_name == name:
            return u.unit_code
    raise KeyError(f"no admin unit named {name!r}")


def sub_index(c: float, bps: Sequence[float]) -> float:
    if c <= 0:
        return 0.0
    for i in range(1, len(bps)):
        if c <= bps[i]:
            return _AQI_I[i - 1] + (_AQI_I[i] - _AQI_I[i - 1]) * (c - bps[i - 1]) / (bps[i] - bps[i - 1])
    return float(_AQI_I[-1])


def vn_aqi(pm25: float | None, pm10: float | None) -> int | None:
    """VN_AQI from PM2.5 and PM10 (the larger sub-index), None when both are missing."""
    parts = [sub_index(pm25, _AQI_PM25) if pm25 is not None else None,
             sub_index(pm10, _AQI_PM10) if pm10 is not None else None]
    parts = [p for p in parts if p is not None]
    return round(max(parts)) if parts else None


def _gauss_bump(h: float, mu: float, sigma: float) -> float:
    d = min(abs(h - mu), 24 - abs(h - mu))
    return math.exp(-0.5 * (d / sigma) ** 2)


def traffic_profile(h: float) -> float:
    """Relative flow at hour-of-day ``h`` (float): night trough, peaks 07-09 h and 17-19 h."""
    day = 1.0 / (1 + math.exp(-(h - 6.0) * 2.0)) * 1.0 / (1 + math.exp((h - 22.0) * 1.5))
    return 0.08 + 0.9 * day + 1.25 * _gauss_bump(h, 7.9, 0.75) + 1.35 * _gauss_bump(h, 17.9, 0.85)


_PROFILE_MEAN = sum(traffic_profile(k / 12) for k in range(288)) / 288


def _day_rng(seed: int, station: str, day: date, purpose: str) -> random.Random:
    return random.Random(f"kho-iot-{seed}-{station}-{day.isoformat()}-{purpose}")


def _weather(seed: int, station: str, day: date) -> float:
    """A day-level multiplier (haze, wind, rain): the same for a station-day whatever the window."""
    return math.exp(_day_rng(seed, "city", day, "weather").gauss(0, 0.30) + _day_rng(seed, station, day, "local").gauss(0, 0.10))


def _rain(seed: int, day: date) -> float:
    r = _day_rng(seed, "city", day, "rain").random()
    season = 1.0 if 5 <= day.month <= 10 else 0.2
    return season * (r ** 3) * 60.0    # cm of river rise from rain that day


def _tet_factor(day: date) -> float:
    for t in _TET:
        k = (day - t).days
        if -1 <= k <= 4:
            return 0.45
        if -10 <= k < -1:
            return 1.12       # pre-Tết shopping traffic
    return 1.0


class _Day:
    """Clean values of one station for one day (all slots), plus that day's fault plan."""

    def __init__(self, seed: int, st: Station, day: date, interval_s: int, rates: dict[str, float]) -> None:
        slots = 86400 // interval_s
        rng = _day_rng(seed, st.station_id, day, f"values-{interval_s}")
        frng = _day_rng(seed, st.station_id, day, f"faults-{interval_s}")
        self.values: list[dict[str, Any]] = []
        if st.station_type == "air":
            w0, w1 = _weather(seed, st.station_id, day), _weather(seed, st.station_id, day + timedelta(days=1))
            season = _PM_SEASON[day.month - 1]
            for k in range(slots):
                h = k * interval_s / 3600
                w = w0 + (w1 - w0) * h / 24
                diurnal = 1 + 0.35 * math.cos(2 * math.pi * (h - 2) / 24) + 0.18 * _gauss_bump(h, 8.0, 1.0) \
                    + 0.12 * _gauss_bump(h, 19.0, 1.2)
                pm25 = max(2.0, st.base * season * diurnal * w * math.exp(rng.gauss(0, 0.08)))
                pm10 = pm25 * st.ratio * math.exp(rng.gauss(0, 0.06))
                temp = _TEMP_SEASON[day.month - 1] + 3.5 * math.cos(2 * math.pi * (h - 14) / 24) + rng.gauss(0, 0.4)
                hum = min(100, max(35, 80 - 10 * math.cos(2 * math.pi * (h - 14) / 24) + rng.gauss(0, 3)))
                self.values.append({"pm25": round(pm25, 1), "pm10": round(pm10, 1), "temperature_c": round(temp, 1),
                                    "humidity_pct": round(hum)})
        elif st.station_type == "water_level":
            base_t = (datetime(day.year, day.month, day.day) - _EPOCH).total_seconds() / 3600
            # rainy-season rise (Jul-Sep) and recent rain, interpolated over the day
            season = st.river * math.exp(-0.5 * ((day.timetuple().tm_yday - 230) / 35) ** 2)
            r0 = sum(_rain(seed, day - timedelta(days=j)) * 0.6 ** j for j in range(4)) * st.river / 180
            r1 = sum(_rain(seed, day + timedelta(days=1) - timedelta(days=j)) * 0.6 ** j for j in range(4)) * st.river / 180
            for k in range(slots):
                t = base_t + k * interval_s / 3600
                tide = sum(a * math.cos(2 * math.pi * t / p + ph) for a, p, ph in zip(st.tide, _PERIODS_H, _PHASES))
                level = st.base + season + r0 + (r1 - r0) * k / slots + tide + rng.gauss(0, 2.0)
                self.values.append({"water_level_cm": round(level)})
        else:
            weekday = day.weekday()
            week = (1.0, 1.0, 1.0, 1.0, 1.02, 0.88, 0.74)[weekday]
            volume = st.base * week * _tet_factor(day) * math.exp(rng.gauss(0, 0.05))
            for k in range(slots):
                h = k * interval_s / 3600
                prof = traffic_profile(h)
                if weekday >= 5:   # weekends: flatter, later peaks
                    prof = 0.5 * prof + 0.5 * traffic_profile(h - 1.5) * 0.8
                mu = volume * prof / _PROFILE_MEAN * interval_s / 86400
                total = max(0, round(mu + math.sqrt(mu) * rng.gauss(0, 1)))
                moto = round(total * st.ratio)
                rest = total - moto
                truck = min(rest, round(total * st.truck * (1.4 if (h < 6 or h > 21) else 1.0)))
                bus = min(rest - truck, round(total * 0.02))
                car = rest - truck - bus
                peak = volume / 86400 * 3.2 * interval_s      # rough capacity per slot
                load = min(1.0, total / peak) if peak else 0.0
                speed = max(5.0, st.speed * (1 - 0.65 * load ** 2) + rng.gauss(0, 2.0)) if total else None
                self.values.append({"motorbike": moto, "car": car, "truck": truck, "bus": bus,
                                    "avg_speed_kmh": round(speed, 1) if speed is not None else None})
        # the day's fault plan, drawn up front (a fixed number of draws per slot) so that an event
        # is the same whatever window asks for it
        self.stuck: tuple[int, int] | None = None
        if frng.random() < rates["stuck"]:
            length = max(1, round(frng.uniform(1, 6) * 3600 / interval_s))
            first = frng.randrange(slots)
            self.stuck = (first, min(slots, first + length))
        keys = list(self.values[0]) if self.values else []
        self.plan: list[tuple[float | None, tuple[str, ...], float, str | None, int | None]] = []
        for _k in range(slots):
            spike = frng.uniform(4, 10) if frng.random() < rates["spike"] else None
            missing = tuple(key for key in keys if frng.random() < rates["missing_value"])
            draw, u, dup, dup_u = frng.random(), frng.random(), frng.random(), frng.random()
            if draw < rates["late"]:
                delay, kind = 3600 + u * (MAX_LATE_S - 3600), "late"
            elif draw < rates["late"] + rates["out_of_order"]:
                delay, kind = (1.5 + 2.5 * u) * interval_s, "out_of_order"
            else:
                delay, kind = 1 + 19 * u, None
            self.plan.append((spike, missing, delay, kind, 1 + int(dup_u * 299) if dup < rates["exact_duplicate"] else None))


def _rates(fault_rates: dict[str, float] | None) -> dict[str, float]:
    rates = {**DEFAULT_FAULT_RATES, **(fault_rates or {})}
    unknown = set(rates) - set(DEFAULT_FAULT_RATES)
    if unknown:
        raise ValueError(f"unknown fault types {sorted(unknown)}; known: {sorted(DEFAULT_FAULT_RATES)}")
    return rates


def _parse_time(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(TZ).replace(tzinfo=None)
        return value
    return datetime(value.year, value.month, value.day)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "+07:00"


def _select(stations: Iterable[str | Station] | None) -> list[Station]:
    if stations is None:
        return list(STATIONS)
    out = []
    for s in stations:
        st = s if isinstance(s, Station) else STATION_BY_ID.get(s)
        if st is None:
            raise KeyError(f"unknown station {s!r}; known: {', '.join(STATION_BY_ID)}")
        out.append(st)
    return out


def _measure(st: Station, day: _Day, k: int, tags: list[str]) -> dict[str, Any]:
    spike, missing, _delay, _kind, _dup = day.plan[k]
    if day.stuck and day.stuck[0] <= k < day.stuck[1]:
        values = dict(day.values[day.stuck[0]])
        if k > day.stuck[0]:
            tags.append("stuck")
    else:
        values = dict(day.values[k])
    if spike is not None:
        key = {"air": "pm25", "water_level": "water_level_cm", "traffic": "car"}[st.station_type]
        if values.get(key) is not None:
            values[key] = values[key] + 300 if key == "water_level_cm" else round(values[key] * spike + 50, 1)
            tags.append("spike")
    for key in missing:
        values[key] = None
        tags.append("missing_value")
    if st.station_type == "air":
        values["aqi"] = vn_aqi(values["pm25"], values["pm10"])
        values = {"pm25": values["pm25"], "pm10": values["pm10"], "aqi": values["aqi"],
                  "temperature_c": values["temperature_c"], "humidity_pct": values["humidity_pct"]}
    return values


def iter_events(seed: int = 42, start: datetime | date | str = DEFAULT_START, end: datetime | date | str = DEFAULT_END, *,
                stations: Iterable[str | Station] | None = None, interval_s: int = DEFAULT_INTERVAL_S,
                fault_rates: dict[str, float] | None = None, by: str = "arrival", stats: GenerationStats | None = None
                ) -> Iterator[dict[str, Any]]:
    """Events of the selected stations in arrival order (see the module docstring).
    Naive datetimes are local time (+07:00)."""
    if 86400 % interval_s:
        raise ValueError("interval_s must divide a day (86400 s)")
    if by not in ("arrival", "ts"):
        raise ValueError("by must be 'arrival' or 'ts'")
    rates = _rates(fault_rates)
    t0, t1 = _parse_time(start), _parse_time(end)
    sts = _select(stations)
    faults = stats.faults if stats is not None else GenerationStats().faults
    gen_from = t0 - timedelta(seconds=MAX_LATE_S + 600) if by == "arrival" else t0
    first = datetime(gen_from.year, gen_from.month, gen_from.day)
    if gen_from > first:
        first += timedelta(seconds=math.ceil((gen_from - first).total_seconds() / interval_s) * interval_s)
    heap: list[tuple[datetime, datetime, int, int, dict[str, Any], tuple[str, ...]]] = []
    tie = 0
    current_day: date | None = None
    days: dict[str, _Day] = {}
    ts = first
    while True:
        # everything that arrives before this slot's measurement time can be released
        while heap and (heap[0][0] <= ts or ts >= t1):
            arrival, _mts, _i, _t, ev, tags = heapq.heappop(heap)
            if by == "arrival":
                if arrival >= t1:
                    return
                if arrival < t0:
                    continue
            for tag in tags:
                faults[tag] += 1
            yield ev
        if ts >= t1:
            if not heap:
                return
            continue
        if ts.date() != current_day:
            current_day = ts.date()
            days = {st.station_id: _Day(seed, st, current_day, interval_s, rates) for st in sts}
        k = int((ts - datetime(current_day.year, current_day.month, current_day.day)).total_seconds()) // interval_s
        for i, st in enumerate(sts):
            day = days[st.station_id]
            tags: list[str] = []
            values = _measure(st, day, k, tags)
            _spike, _missing, delay, kind, dup = day.plan[k]
            if kind:
                tags.append(kind)
            arrival = ts + timedelta(seconds=round(delay))
            ev = {"event_id": f"{st.station_id}-{ts:%Y%m%d%H%M%S}", "station_id": st.station_id,
                  "station_type": st.station_type, "ts": _iso(ts), "received_at": _iso(arrival), "measurements": values}
            tie += 1
            heapq.heappush(heap, (arrival, ts, i, tie, ev, tuple(tags)))
            if dup is not None:
                again = arrival + timedelta(seconds=dup)
                tie += 1
                heapq.heappush(heap, (again, ts, i, tie, {**ev, "received_at": _iso(again)}, ("exact_duplicate",)))
        ts += timedelta(seconds=interval_s)


def stations_catalogue() -> list[dict[str, Any]]:
    return [{**{k: v for k, v in asdict(s).items() if k in ("station_id", "station_type", "name", "lat", "lon", "owner")},
             "unit_code": s.unit_code, "unit_name": s.unit_name} for s in STATIONS]


def write_jsonl(directory: str | Path, start: datetime | date | str = DEFAULT_START,
                end: datetime | date | str = DEFAULT_END, *, seed: int = 42,
                stations: Iterable[str | Station] | None = None, interval_s: int = DEFAULT_INTERVAL_S,
                fault_rates: dict[str, float] | None = None) -> GenerationStats:
    """File drop: ``iot_YYYYMMDD_HH.jsonl`` per arrival hour in [start, end), and ``stations.json``.
    Adjacent windows write disjoint files (a file holds exactly the events arriving in its hour)."""
    started = time.perf_counter()
    _rates(fault_rates)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stats = GenerationStats(system=SYSTEM.name)
    (out / "stations.json").write_text(json.dumps(stations_catalogue(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    handle = None
    hour = None
    try:
        for ev in iter_events(seed, start, end, stations=stations, interval_s=interval_s, fault_rates=fault_rates,
                              by="arrival", stats=stats):
            h = ev["received_at"][:13]
            if h != hour:
                if handle:
                    handle.close()
                hour = h
                name = f"iot_{h[:4]}{h[5:7]}{h[8:10]}_{h[11:13]}.jsonl"
                handle = open(out / name, "w", encoding="utf-8", newline="\n")
            handle.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n")
            stats.rows["events"] += 1
    finally:
        if handle:
            handle.close()
    stats.seconds = time.perf_counter() - started
    return stats


def generate(target: str | Path, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             start: datetime | date | str = DEFAULT_START, end: datetime | date | str = DEFAULT_END) -> GenerationStats:
    """A default file drop under ``<target>/iot/`` (the week before 1 Nov 2026). ``sf`` is ignored:
    the station network is the city's, not a function of population. Writes ``iot.manifest.json`` there."""
    folder = Path(target) / "iot"
    stats = write_jsonl(folder, start, end, seed=seed, fault_rates=fault_rates)
    write_manifest(folder, SYSTEM.name, seed, sf, stats, start=_iso(_parse_time(start)), end=_iso(_parse_time(end)))
    return stats


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(description="Write an IoT JSONL file drop")
    parser.add_argument("directory")
    parser.add_argument("--start", default=DEFAULT_START.isoformat())
    parser.add_argument("--end", default=DEFAULT_END.isoformat())
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(write_jsonl(args.directory, args.start, args.end, seed=args.seed).as_dict(), indent=2))
