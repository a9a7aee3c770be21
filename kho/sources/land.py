"""The land database (Cơ sở dữ liệu đất đai, ViLIS/VBDLIS-like), generated.

Owner: Sở Nông nghiệp và Môi trường (Department of Agriculture and Environment) and its Land
Registration Office (Văn phòng Đăng ký đất đai), which runs the city land database synchronised
with the national land information system (NLIS). Served from PostgreSQL (SQLite for the embedded
profile). Three tables:

``thua_dat`` (parcels; natural key ``ma_dvhc`` + ``so_to_ban_do`` (cadastral map sheet) +
``so_thua`` (parcel number on the sheet)), ``giay_chung_nhan`` (land-use-right certificates,
"sổ đỏ"; natural key ``so_phat_hanh``, the blank's serial such as ``CS 123456``) and
``giao_dich`` (registered transactions: transfer, mortgage, inheritance, gift; key ``id``).

Sizes, from the seed (§VI.3.1): in 2024 the land database of (old) Hải Phòng held 80,079
parcels with attribute data, 37,980 of them with spatial data, for 2.124 million people. So
``PARCELS_PER_SF`` = 80,079 / 21.24 = ~3,770 parcels per 100,000 residents (the digitised part
of the register, not every parcel on the ground) and ``GEOMETRY_SHARE`` = 37,980 / 80,079 =
47.4% of parcels carry a geometry; the rest have ``hinh_hoc`` NULL. About 82% of parcels have a
holder (state, public and water land has none), 95% of those a certificate; one certificate per
holder (a transfer, inheritance or gift issues a new one and marks the old ``da_thu_hoi``): ~4,050
certificates and ~1,250 transactions per SF1.

Geometry: ``hinh_hoc`` is WKT ``POLYGON ((x y, ...))`` in metres, VN-2000-like TM-3 coordinates
(Transverse Mercator, central meridian 105°45' E, scale 0.9999, false easting 500 km, on the
WGS-84 ellipsoid; the real VN-2000 datum shift of a few hundred metres is ignored), easting first.
Parcels are placed around approximate centroids of the pre-2025 districts their unit came from
(``DISTRICT_CENTROIDS``), so they fall inside the city but not on real streets. Land-use codes are
those of ``kho.reference.land_use``: records last updated before 1 August 2024 keep 2014-era codes
(BHK for other annual crops, SKK for industrial parks), later ones use Circular 08/2024 codes
(HNK, SKC); residential plots with a garden are written ``ONT+CLN`` / ``ODT+CLN``.

Holders and parties are true citizens (``enterprise.citizen_pool``) and true enterprises
(``enterprise.enterprise_directory``); mortgages go to branches of (fictitious) banks headquartered
outside the city, whose 13-digit branch tax codes are not in the city's business register.
:func:`true_parcels` exposes the parcels and their holders over time for construction permits.

Faults (``DEFAULT_FAULT_RATES``, per row where they can apply; ``{"fault": r}`` or
``{"table.fault": r}`` to override): exact and near duplicates (a parcel re-digitised with a
rounded area and an older timestamp), zero or negative areas, invalid geometries (unclosed ring,
``POLYGON EMPTY``, truncated text, or X/Y swapped as Vietnamese surveyors write them), missing
values, bad land-use codes (lower case, unknown), pre-2025 unit codes (which also break the
parcel key), bad and dd/mm/yyyy dates, unaccented addresses (``unaccented_text``: the address,
not a name), malformed certificate serials (no space, lower case, five digits), invalid
transaction values. Links (``link_broken``,
``link_name_mismatch``): a holder/party CCCD of nobody or malformed, an enterprise code with a bad
check digit, a holder name differing from the registers, a transaction on a parcel key that
does not exist. Counted in ``GenerationStats.faults`` / ``.links`` as in ``enterprise``.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from kho import reference
from kho.sources import dbapi
from kho.sources.base import CITIZENS_PER_SF, GenerationStats, SourceSystem, fold_diacritics, rng_for, write_manifest
from kho.sources.citizens import CitizenRef
from kho.sources.enterprise import (AS_OF, BAD_DATES, ChunkWriter, Enterprise, citizen_pool, create_indexes,
                                    create_tables, cumulative, enterprise_directory, office_time, old_unit_for,
                                    poisson, random_day, street_address, unit_district, unit_float, unit_weights,
                                    vn_date)
from kho.sources.faults import Delayed, FaultPlan
from kho.sources.identifiers import make_tax_code

SYSTEM = SourceSystem(
    name="land",
    title="Land database: parcels, land-use-right certificates, transactions (ViLIS-like)",
    title_vi="Cơ sở dữ liệu đất đai",
    owner="Sở Nông nghiệp và Môi trường (Department of Agriculture and Environment), Văn phòng Đăng ký đất đai",
    form="database",
    engine="postgresql",
    objects={"thua_dat": ("ma_dvhc", "so_to_ban_do", "so_thua"), "giay_chung_nhan": ("so_phat_hanh",),
             "giao_dich": ("id",)},
    description="Cadastral parcels (key: unit + map sheet + parcel number; WKT polygons in VN-2000-like TM-3 "
                "metres, CM 105°45'), certificates with their holders, registered transactions.",
)

OLD_HAI_PHONG_POPULATION = 2_124_000
SEED_ATTRIBUTE_PARCELS = 80_079
SEED_SPATIAL_PARCELS = 37_980
PARCELS_PER_SF = SEED_ATTRIBUTE_PARCELS / (OLD_HAI_PHONG_POPULATION / CITIZENS_PER_SF)   # ~3,770
GEOMETRY_SHARE = SEED_SPATIAL_PARCELS / SEED_ATTRIBUTE_PARCELS                         # ~0.474
CERTIFIED_SHARE = 0.95
CODES_2024_FROM = date(2024, 8, 1)        # Circular 08/2024/TT-BTNMT in force

# TM-3 projection of the VN-2000-like grid (see module docstring).
TM_LON0, TM_K0, TM_FALSE_EASTING = 105.75, 0.9999, 500_000.0
_A, _F = 6_378_137.0, 1 / 298.257223563

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,
    "near_duplicate": 0.004,
    "area_invalid": 0.003,
    "geometry_invalid": 0.004,
    "missing_value": 0.005,
    "bad_land_use_code": 0.003,
    "old_admin_unit": 0.008,
    "bad_date": 0.002,
    "vn_date_format": 0.01,
    "unaccented_text": 0.005,
    "serial_malformed": 0.004,
    "value_invalid": 0.003,
    "link_broken": 0.01,
    "link_name_mismatch": 0.01,
}
TABLE_FAULTS: dict[str, tuple[str, ...]] = {
    "thua_dat": ("exact_duplicate", "near_duplicate", "area_invalid", "geometry_invalid", "missing_value",
                 "bad_land_use_code", "old_admin_unit", "bad_date", "vn_date_format", "unaccented_text"),
    "giay_chung_nhan": ("exact_duplicate", "serial_malformed", "missing_value", "old_admin_unit", "bad_date",
                        "vn_date_format", "link_broken", "link_name_mismatch"),
    "giao_dich": ("exact_duplicate", "bad_date", "vn_date_format", "value_invalid", "link_broken",
                  "link_name_mismatch"),
}

COLUMNS = {
    "thua_dat": ("ma_dvhc", "so_to_ban_do", "so_thua", "dien_tich", "loai_dat", "hinh_hoc", "dia_chi",
                 "ngay_cap_nhat"),
    "giay_chung_nhan": ("so_phat_hanh", "so_vao_so", "ma_dvhc", "so_to_ban_do", "so_thua", "loai_chu_su_dung",
                        "so_cccd", "ma_so_doanh_nghiep", "ten_chu_su_dung", "dien_tich", "muc_dich_su_dung",
                        "ngay_cap", "trang_thai"),
    "giao_dich": ("id", "ma_dvhc", "so_to_ban_do", "so_thua", "loai_giao_dich", "ben_chuyen", "ten_ben_chuyen",
                  "ben_nhan", "ten_ben_nhan", "ngay_dang_ky", "gia_tri"),
}
COLUMN_TYPES = {
    "ma_dvhc": "s10", "so_to_ban_do": "i", "so_thua": "i", "dien_tich": "r", "loai_dat": "s20", "hinh_hoc": "t",
    "dia_chi": "s400", "ngay_cap_nhat": "s20", "so_phat_hanh": "s20", "so_vao_so": "s20",
    "loai_chu_su_dung": "s10", "so_cccd": "s20", "ma_so_doanh_nghiep": "s20", "ten_chu_su_dung": "s300",
    "muc_dich_su_dung": "s20", "ngay_cap": "s20", "trang_thai": "s20", "id": "b", "loai_giao_dich": "s20",
    "ben_chuyen": "s20", "ten_ben_chuyen": "s300", "ben_nhan": "s20", "ten_ben_nhan": "s300",
    "ngay_dang_ky": "s20", "gia_tri": "b",
}
INDEXES = {"thua_dat": ("ma_dvhc",), "giay_chung_nhan": ("so_phat_hanh", "so_cccd"), "giao_dich": ("ma_dvhc",)}
TRANSACTION_KINDS = ("chuyen_nhuong", "the_chap", "thua_ke", "tang_cho")

# Approximate centroids (lon, lat) of the pre-2025 districts; units are placed around them.
DISTRICT_CENTROIDS: dict[str, tuple[float, float]] = {
    "Quận Hồng Bàng": (106.655, 20.865), "Quận Ngô Quyền": (106.700, 20.853), "Quận Lê Chân": (106.675, 20.835),
    "Quận Hải An": (106.760, 20.830), "Quận Kiến An": (106.625, 20.805), "Quận Đồ Sơn": (106.775, 20.720),
    "Quận Dương Kinh": (106.705, 20.775), "Quận An Dương": (106.600, 20.870),
    "Thành phố Thủy Nguyên": (106.670, 20.940), "Huyện An Lão": (106.555, 20.815),
    "Huyện Kiến Thụy": (106.665, 20.735), "Huyện Tiên Lãng": (106.595, 20.705), "Huyện Vĩnh Bảo": (106.475, 20.690),
    "Huyện Cát Hải": (107.030, 20.780), "Huyện Bạch Long Vĩ": (107.725, 20.135),
    "Thành phố Hải Dương": (106.325, 20.940), "Thành phố Chí Linh": (106.400, 21.120),
    "Thị xã Kinh Môn": (106.510, 21.020), "Huyện Nam Sách": (106.340, 21.005), "Huyện Kim Thành": (106.500, 20.930),
    "Huyện Thanh Hà": (106.430, 20.880), "Huyện Cẩm Giàng": (106.220, 20.955), "Huyện Bình Giang": (106.190, 20.865),
    "Huyện Gia Lộc": (106.295, 20.855), "Huyện Tứ Kỳ": (106.405, 20.815), "Huyện Ninh Giang": (106.355, 20.735),
    "Huyện Thanh Miện": (106.235, 20.775),
}
CITY_EXTENT_LONLAT = (106.0, 20.05, 107.85, 21.25)      # includes Bạch Long Vĩ island

# Land-use profile per unit type: (code as of 2024 rules, weight). "HNK"/"SKC" become BHK/SKK on old records.
_PROFILE = {
    "phuong": (("ODT", 52), ("ODT+CLN", 3), ("TMD", 5), ("SKC", 4), ("CLN", 5), ("LUK", 6), ("LUC", 4), ("NTS", 3),
               ("HNK", 3), ("DGD", 1), ("DYT", 0.5), ("DVH", 0.5), ("TSC", 0.5), ("DGT", 4), ("DTL", 1), ("NTD", 0.5),
               ("TIN", 0.5), ("TON", 0.3), ("DBV", 0.3), ("DNL", 0.3), ("SON", 0.5), ("MNC", 0.2), ("BCS", 0.3),
               ("DKV", 0.3), ("DCH", 0.3)),
    "xa": (("ONT", 34), ("ONT+CLN", 4), ("LUC", 22), ("LUK", 8), ("HNK", 5), ("CLN", 8), ("NTS", 6), ("SKC", 1.5),
           ("SKK", 0.5), ("TMD", 1.5), ("RSX", 1), ("DGT", 3), ("DTL", 2), ("NTD", 1), ("DGD", 0.6), ("TIN", 0.4),
           ("TON", 0.3), ("DNL", 0.2), ("DBV", 0.2), ("BCS", 0.5), ("SON", 0.5)),
    "dac_khu": (("ONT", 30), ("TMD", 10), ("NTS", 12), ("RPH", 8), ("RDD", 6), ("RSX", 5), ("CLN", 5), ("LUK", 3),
                ("DGT", 4), ("SKC", 3), ("BCS", 4), ("DCS", 3), ("NCS", 3), ("TIN", 1), ("DGD", 1), ("SON", 2)),
}
_FIRST_YEARS = tuple(range(1995, 2025))        # first certificate of a parcel: more in the early allocation years
_FIRST_YEAR_CUM = cumulative([1.5 if y < 2005 else 1.0 for y in _FIRST_YEARS])
RESIDENTIAL = {"ONT", "ODT", "ONT+CLN", "ODT+CLN"}
AGRICULTURAL = {"LUC", "LUK", "HNK", "BHK", "CLN", "NTS", "RSX"}
BUSINESS = {"TMD", "SKC", "SKK"}
UTILITY = {"DBV", "DNL"}
# Median area (m2) and spread by land use.
_AREA = {"ODT": (75, 0.5), "ODT+CLN": (160, 0.5), "ONT": (220, 0.5), "ONT+CLN": (380, 0.5), "TMD": (1500, 1.0),
         "SKC": (6000, 1.0), "SKK": (15000, 0.9), "LUC": (480, 0.45), "LUK": (420, 0.5), "HNK": (400, 0.6),
         "CLN": (450, 0.7), "NTS": (2500, 0.8), "RSX": (12000, 0.9), "RPH": (30000, 0.9), "RDD": (40000, 0.9),
         "DGT": (900, 1.0), "DTL": (700, 0.9), "DBV": (250, 0.6), "DNL": (1200, 0.9)}
# 2024 price level, million VND per m2 (median), by land use; earlier years deflated by 8%/yr.
_PRICE = {"ODT": 45.0, "ODT+CLN": 30.0, "ONT": 8.0, "ONT+CLN": 6.0, "TMD": 15.0, "SKC": 3.0, "SKK": 2.5,
          "LUC": 0.15, "LUK": 0.15, "HNK": 0.15, "BHK": 0.15, "CLN": 0.2, "NTS": 0.1, "RSX": 0.05, "DBV": 5.0,
          "DNL": 3.0}
_FIELDS = ("Đồng Giữa", "Đồng Trong", "Đồng Ngoài", "Cửa Đình", "Bãi Sậy", "Đồng Cả", "Ruộng Mạ", "Gò Cao", "Đầm Lớn",
           "Bến Đò", "Cổng Làng", "Đồng Chùa", "Bờ Đê", "Ao Cá")
# Credit institutions taking mortgages: fictitious banks, head offices in Hà Nội (01) / TP. Hồ Chí Minh (03).
_BANKS = (("01", 42_001, "Ngân hàng TMCP Bắc Hải"), ("01", 58_313, "Ngân hàng TMCP Đông Đô"),
          ("03", 11_907, "Ngân hàng TMCP Phương Nam Thịnh"), ("01", 77_250, "Ngân hàng TMCP Thủ Đô Việt"),
          ("03", 26_644, "Ngân hàng TMCP Sài Gòn Hưng Phát"), ("01", 93_118, "Ngân hàng Hợp tác Trung ương Việt"),
          ("01", 15_532, "Ngân hàng TMCP Kỹ Thương Bắc Bộ"), ("03", 48_870, "Ngân hàng TMCP An Bình Phát"))


def bank_branches() -> tuple[tuple[str, str], ...]:
    """(13-digit branch tax code 'NNNNNNNNNN-BBB', name) of the Hải Phòng branches of the mortgage banks."""
    out = []
    for i, (prefix, body, name) in enumerate(_BANKS):
        code, _ = make_tax_code(prefix, body * 10)
        for j, branch in enumerate(("Chi nhánh Hải Phòng", "Chi nhánh Hải Dương", "Chi nhánh Bắc Hải Phòng")):
            out.append((f"{code}-{11 + 7 * i + j:03d}", f"{name} - {branch}"))
    return tuple(out)


# -- geometry --------------------------------------------------------------------------------
def to_vn2000(lon: float, lat: float) -> tuple[float, float]:
    """(easting, northing) in metres on the module's TM-3 grid (Snyder's series, WGS-84 ellipsoid)."""
    e2 = _F * (2 - _F)
    ep2 = e2 / (1 - e2)
    phi, dlam = math.radians(lat), math.radians(lon - TM_LON0)
    n = _A / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    t = math.tan(phi) ** 2
    c = ep2 * math.cos(phi) ** 2
    a = dlam * math.cos(phi)
    m = _A * ((1 - e2 / 4 - 3 * e2 ** 2 / 64 - 5 * e2 ** 3 / 256) * phi
              - (3 * e2 / 8 + 3 * e2 ** 2 / 32 + 45 * e2 ** 3 / 1024) * math.sin(2 * phi)
              + (15 * e2 ** 2 / 256 + 45 * e2 ** 3 / 1024) * math.sin(4 * phi)
              - (35 * e2 ** 3 / 3072) * math.sin(6 * phi))
    x = TM_K0 * n * (a + (1 - t + c) * a ** 3 / 6 + (5 - 18 * t + t * t + 72 * c - 58 * ep2) * a ** 5 / 120)
    y = TM_K0 * (m + n * math.tan(phi) * (a * a / 2 + (5 - t + 9 * c + 4 * c * c) * a ** 4 / 24
                                           + (61 - 58 * t + t * t + 600 * c - 330 * ep2) * a ** 6 / 720))
    return x + TM_FALSE_EASTING, y


@lru_cache(maxsize=1)
def unit_centroids() -> dict[str, tuple[float, float]]:
    """Approximate (lon, lat) of each current unit: mean of its old communes' district centroids, jittered."""
    acc: dict[str, list[tuple[float, float]]] = {}
    for entry in reference.crosswalk().values():
        point = DISTRICT_CENTROIDS.get(entry.old_district)
        if point:
            for code in entry.candidate_unit_codes:
                acc.setdefault(code, []).append(point)
    out = {}
    for unit in reference.admin_units():
        points = acc.get(unit.unit_code) or [DISTRICT_CENTROIDS[unit_district()[unit.unit_code][0]]]
        lon = sum(p[0] for p in points) / len(points)
        lat = sum(p[1] for p in points) / len(points)
        spread = 0.0 if unit.unit_name == "Bạch Long Vĩ" else 0.025
        lon += (unit_float("centroid-x", unit.unit_code) - 0.5) * 2 * spread
        lat += (unit_float("centroid-y", unit.unit_code) - 0.5) * 2 * spread
        out[unit.unit_code] = (round(lon, 5), round(lat, 5))
    return out


def unit_radius_m(unit: reference.AdminUnit) -> float:
    """How far from the unit centroid its parcels are spread."""
    if unit.unit_name == "Bạch Long Vĩ":
        return 600.0
    return {"phuong": 1400.0, "xa": 2600.0, "dac_khu": 4500.0}[unit.unit_type]


def polygon_wkt(points: list[tuple[float, float]]) -> str:
    ring = points + [points[0]]
    return "POLYGON ((" + ", ".join(f"{x:.3f} {y:.3f}" for x, y in ring) + "))"


def parse_polygon(wkt: str) -> list[tuple[float, float]]:
    """Vertices of a one-ring WKT POLYGON (closing vertex included); ValueError if it is not one."""
    text = (wkt or "").strip()
    if not (text.upper().startswith("POLYGON ((") and text.endswith("))")):
        raise ValueError(f"not a one-ring WKT polygon: {text[:40]!r}")
    body = text[text.index("((") + 2:-2]
    if "(" in body or ")" in body:
        raise ValueError("polygon with holes or nested rings")
    points = [tuple(float(v) for v in pair.split()) for pair in body.split(",")]
    if any(len(p) != 2 for p in points):
        raise ValueError("vertex without two coordinates")
    return points  # type: ignore[return-value]


def shoelace_area(points: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:]))) / 2


def _parcel_polygon(rng: random.Random, cx: float, cy: float, area: float, land_use: str) -> list[tuple[float, float]]:
    """A slightly irregular quadrilateral (sometimes with a fifth vertex) of about ``area`` m2."""
    ratio = rng.uniform(0.22, 0.55) if land_use.startswith("ODT") else rng.uniform(0.4, 1.0)
    w = math.sqrt(area * ratio)
    h = area / w
    corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    jitter = 0.015 * min(w, h)
    corners = [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in corners]
    if rng.random() < 0.3:                      # a bent boundary on one side
        k = rng.randrange(4)
        (x1, y1), (x2, y2) = corners[k], corners[(k + 1) % 4]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        nx, ny = (y2 - y1) / length, -(x2 - x1) / length
        bump = rng.uniform(-0.02, 0.02) * min(w, h)
        corners.insert(k + 1, (mx + nx * bump, my + ny * bump))
    theta = rng.uniform(0, math.pi)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    return [(cx + x * cos_t - y * sin_t, cy + x * sin_t + y * cos_t) for x, y in corners]


# -- the true parcels --------------------------------------------------------------------------
@dataclass(frozen=True)
class Holder:
    """Who held the land-use right from ``since`` (until the next holder)."""

    kind: str            # "ca_nhan" (a citizen) | "to_chuc" (an enterprise)
    id: str              # CCCD or enterprise code
    name: str
    since: date
    pool_index: int = -1


@dataclass(frozen=True)
class Transaction:
    kind: str            # chuyen_nhuong | the_chap | thua_ke | tang_cho
    day: date
    from_kind: str
    from_id: str
    from_name: str
    to_kind: str         # ca_nhan | to_chuc | ngan_hang
    to_id: str
    to_name: str
    value_vnd: int | None


@dataclass(frozen=True)
class Parcel:
    unit_code: str
    map_sheet: int
    parcel_no: int
    area_m2: float
    land_use: str        # as recorded (2014-era code on records not updated since August 2024)
    address: str
    has_geometry: bool
    updated: str         # ngay_cap_nhat
    holders: tuple[Holder, ...]
    certified: bool
    transactions: tuple[Transaction, ...]

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.unit_code, self.map_sheet, self.parcel_no)

    def holder_on(self, day: date) -> Holder | None:
        current = None
        for h in self.holders:
            if h.since <= day:
                current = h
        return current


def parcel_count(sf: float) -> int:
    return max(1, round(PARCELS_PER_SF * sf))


def _holder_class(land_use: str) -> str | None:
    if land_use in RESIDENTIAL:
        return "residential"
    if land_use in AGRICULTURAL:
        return "agricultural"
    if land_use in BUSINESS:
        return "business"
    if land_use in UTILITY:
        return "utility"
    return None


class _ParcelTruth:
    def __init__(self, seed: int, sf: float) -> None:
        self.seed, self.sf = seed, sf
        self.rng = rng_for(SYSTEM.name, seed, "parcels")
        self.pool = citizen_pool(seed, sf)
        self.units = reference.admin_units()
        self.unit_w = cumulative(unit_weights(self.units, phuong=1.0, xa=1.3, dac_khu=0.5))
        self.profiles = {k: (tuple(c for c, _ in v), cumulative([w for _, w in v])) for k, v in _PROFILE.items()}
        ents = [e for e in enterprise_directory(seed, sf) if e.status != "giai_the"] or list(enterprise_directory(seed, sf))
        self.by_group: dict[str, tuple[Enterprise, ...]] = {"any": tuple(ents)}
        groups = {"business_TMD": ("45", "46", "47", "55", "56", "68", "79"),
                  "business_SKC": tuple(f"{d:02d}" for d in range(10, 34)) + ("38", "52"),
                  "utility_DBV": ("61",), "utility_DNL": ("35",), "residential": ("68", "41")}
        for group, divisions in groups.items():
            self.by_group[group] = tuple(e for e in ents if e.vsic_code[:2] in divisions) or tuple(ents)
        self.banks = bank_branches()
        self.sheets: dict[str, list[int]] = {}    # unit -> [number of map sheets]
        self.numbers: dict[tuple[str, int], int] = {}   # (unit, sheet) -> last parcel number

    def _next_key(self, unit_code: str) -> tuple[int, int]:
        """A new (map sheet, parcel number): a commune's map has 20-80 sheets; numbers on a sheet grow with
        gaps, because only part of the parcels on the ground are in the digitised register."""
        rng = self.rng
        sheets = self.sheets.get(unit_code)
        if sheets is None:
            sheets = self.sheets[unit_code] = [20 + int(unit_float(self.seed, "sheets", unit_code) * 60)]
        sheet = rng.randint(1, sheets[0])
        key = (unit_code, sheet)
        self.numbers[key] = self.numbers.get(key, rng.randint(0, 15)) + rng.randint(1, 8)
        return sheet, self.numbers[key]

    def _enterprise(self, group: str, by: date) -> Enterprise:
        pool = self.by_group.get(group) or self.by_group["any"]
        e = self.rng.choice(pool)
        for _ in range(8):
            if e.registered_on <= by:
                break
            e = self.rng.choice(pool)
        return e

    def _citizen_holder(self, since: date, index: int | None = None) -> Holder:
        i = self.pool.pick_index(self.rng, born_by=since.year - 18) if index is None else index
        p: CitizenRef = self.pool.person(i)
        return Holder("ca_nhan", p.cccd, p.full_name, since, i)

    def _enterprise_holder(self, group: str, since: date) -> Holder:
        e = self._enterprise(group, since)
        since = max(since, e.registered_on + timedelta(days=30))
        return Holder("to_chuc", e.tax_code or e.business_id, e.name, min(since, AS_OF - timedelta(days=2)))

    def _price(self, land_use: str, area: float, day: date) -> int:
        base = _PRICE.get(land_use, 1.0) * self.rng.lognormvariate(0, 0.45) * 1.08 ** (day.year - 2024)
        return max(1_000_000, int(round(base * area)) * 1_000_000)

    def parcels(self) -> Iterator[Parcel]:
        rng = self.rng
        for _ in range(parcel_count(self.sf)):
            unit = rng.choices(self.units, cum_weights=self.unit_w)[0]
            codes, weights = self.profiles[unit.unit_type]
            land_use = rng.choices(codes, cum_weights=weights)[0]
            sheet, number = self._next_key(unit.unit_code)
            median, sigma = _AREA.get(land_use, (800, 0.9))
            area = round(max(12.0, rng.lognormvariate(math.log(median), sigma)), 1)
            has_geometry = rng.random() < GEOMETRY_SHARE
            if land_use in RESIDENTIAL or land_use in BUSINESS:
                address = street_address(rng, unit)
            elif land_use in AGRICULTURAL:
                address = f"Xứ đồng {rng.choice(_FIELDS)}, {unit.unit_full_name}, Thành phố Hải Phòng"
            else:
                address = f"{rng.choice(('Thôn', 'Khu', 'Tổ dân phố'))} {rng.randint(1, 15)}, {unit.unit_full_name}, Thành phố Hải Phòng"
            cls = _holder_class(land_use)
            holders: list[Holder] = []
            transactions: list[Transaction] = []
            certified = False
            last_day = random_day(rng, date(2012, 1, 1), AS_OF - timedelta(days=1))
            if cls is not None:
                first_year = rng.choices(_FIRST_YEARS, cum_weights=_FIRST_YEAR_CUM)[0]
                since = random_day(rng, date(first_year, 1, 5), date(first_year, 12, 28))
                if cls == "business":
                    holder = (self._enterprise_holder("business_" + ("TMD" if land_use == "TMD" else "SKC"), since)
                              if rng.random() < 0.85 else self._citizen_holder(since))
                elif cls == "utility":
                    holder = self._enterprise_holder(f"utility_{land_use}", since)
                elif cls == "residential" and rng.random() < 0.03:
                    holder = self._enterprise_holder("residential", since)
                else:
                    holder = self._citizen_holder(since)
                holders.append(holder)
                certified = rng.random() < CERTIFIED_SHARE
                if certified:
                    lam = {"residential": 0.8 if land_use.startswith("ODT") else 0.45, "agricultural": 0.15,
                           "business": 0.6, "utility": 0.2}[cls]
                    days = sorted(random_day(rng, holder.since + timedelta(days=60), AS_OF - timedelta(days=2))
                                  for _ in range(poisson(rng, lam)))
                    for day in days:
                        current = holders[-1]
                        if day <= current.since:
                            continue
                        kind = rng.choices(TRANSACTION_KINDS, (0.45, 0.35, 0.1, 0.1))[0]
                        if current.kind == "to_chuc" and kind in ("thua_ke", "tang_cho"):
                            kind = "chuyen_nhuong"
                        if kind == "the_chap":
                            bank_code, bank_name = rng.choice(self.banks)
                            value = max(50_000_000, int(self._price(land_use, area, day) * rng.uniform(0.4, 0.7)) // 1_000_000 * 1_000_000)
                            transactions.append(Transaction(kind, day, current.kind, current.id, current.name,
                                                            "ngan_hang", bank_code, bank_name, value))
                            continue
                        if kind in ("thua_ke", "tang_cho"):
                            new = self._citizen_holder(day, self.pool.pick_relative(rng, current.pool_index))
                            value = None
                        else:
                            if cls == "business" and rng.random() < 0.8 or cls == "residential" and rng.random() < 0.04:
                                new = self._enterprise_holder("business_SKC" if land_use != "TMD" else "business_TMD", day)
                            else:
                                new = self._citizen_holder(day)
                            value = self._price(land_use, area, day)
                        if new.id == current.id or new.since > day:
                            continue
                        holders.append(new)
                        transactions.append(Transaction(kind, day, current.kind, current.id, current.name, new.kind,
                                                        new.id, new.name, value))
                last_day = max([last_day, holders[-1].since] + [t.day for t in transactions])
            recorded = land_use
            if last_day < CODES_2024_FROM:
                recorded = {"HNK": "BHK"}.get(land_use, land_use)
            elif land_use == "SKK":
                recorded = "SKC"
            yield Parcel(unit_code=unit.unit_code, map_sheet=sheet, parcel_no=number, area_m2=area,
                         land_use=recorded, address=address, has_geometry=has_geometry,
                         updated=office_time(rng, last_day), holders=tuple(holders), certified=certified,
                         transactions=tuple(transactions))


def true_parcels(seed: int = 42, sf: float = 1.0) -> Iterator[Parcel]:
    """The parcels of the land database as they truly are, with holders over time and transactions.

    Deterministic, independent of fault rates, streamed (what construction permits link to).
    """
    yield from _ParcelTruth(seed, sf).parcels()


# -- source rows -------------------------------------------------------------------------------
_SERIES_LETTERS = "ABCDEGHKLMNPQRSTUVXY"


class LandDatabase:
    """Rows of the three tables, faults applied, stats counted."""

    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None) -> None:
        self.seed, self.sf = seed, sf
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = FaultPlan(SYSTEM.name, seed, TABLE_FAULTS, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.geo_rng = rng_for(SYSTEM.name, seed, "geometry")
        self.cert_rng = rng_for(SYSTEM.name, seed, "certificates")
        self.serials: Counter = Counter()
        self.register: Counter = Counter()
        self.centres = {code: to_vn2000(*lonlat) for code, lonlat in unit_centroids().items()}
        self.unit_by_code = reference.admin_unit_by_code()
        self.next_tx = 0

    # -- thua_dat --------------------------------------------------------------------------
    def _geometry(self, p: Parcel) -> str | None:
        if not p.has_geometry:
            return None
        rng = self.geo_rng
        cx, cy = self.centres[p.unit_code]
        radius = unit_radius_m(self.unit_by_code[p.unit_code]) * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        return polygon_wkt(_parcel_polygon(rng, cx + radius * math.cos(angle), cy + radius * math.sin(angle),
                                           p.area_m2, p.land_use))

    def thua_dat_rows(self, p: Parcel, delayed: Delayed) -> Iterator[dict[str, Any]]:
        t, f = "thua_dat", self.faults
        rng = f.rng(t)
        row = {"ma_dvhc": p.unit_code, "so_to_ban_do": p.map_sheet, "so_thua": p.parcel_no, "dien_tich": p.area_m2,
               "loai_dat": p.land_use, "hinh_hoc": self._geometry(p), "dia_chi": p.address, "ngay_cap_nhat": p.updated}
        applicable = [x for x in ("area_invalid", "geometry_invalid", "missing_value", "bad_land_use_code",
                                  "old_admin_unit", "bad_date", "vn_date_format", "unaccented_text")
                      if not (x == "geometry_invalid" and row["hinh_hoc"] is None)]
        fault = f.choose(t, applicable)
        if fault == "area_invalid":
            row["dien_tich"] = rng.choice((0.0, -p.area_m2))
        elif fault == "geometry_invalid":
            wkt = row["hinh_hoc"]
            variant = rng.randrange(4)
            if variant == 0:
                row["hinh_hoc"] = wkt[:wkt.rindex(",")] + "))"                       # ring not closed
            elif variant == 1:
                row["hinh_hoc"] = "POLYGON EMPTY"
            elif variant == 2:
                row["hinh_hoc"] = wkt[:rng.randint(20, max(21, len(wkt) - 10))]    # truncated export
            else:                                                                    # X (northing) and Y swapped
                row["hinh_hoc"] = polygon_wkt([(y, x) for x, y in parse_polygon(wkt)[:-1]])
        elif fault == "missing_value":
            row[rng.choice(("dia_chi", "loai_dat", "dien_tich"))] = None
        elif fault == "bad_land_use_code":
            row["loai_dat"] = rng.choice((p.land_use.lower(), p.land_use + "1", "ĐÔT", "O", "NN", "Đất ở"))
        elif fault == "old_admin_unit":
            old = old_unit_for(p.unit_code, rng)
            if old is None:
                fault = None
            else:
                row["ma_dvhc"] = old[0]
                row["dia_chi"] = row["dia_chi"].split(", ")[0] + ", " + old[1]
        elif fault == "bad_date":
            row["ngay_cap_nhat"] = rng.choice(BAD_DATES)
        elif fault == "vn_date_format":
            row["ngay_cap_nhat"] = datetime.strptime(p.updated, "%Y-%m-%d %H:%M:%S").strftime("%d/%m/%Y %H:%M")
        elif fault == "unaccented_text":
            row["dia_chi"] = fold_diacritics(row["dia_chi"])
        if fault:
            f.count(t, fault)
        yield row
        dup = f.duplicate(t)
        if dup == "exact":
            f.count(t, "exact_duplicate")
            delayed.add(dict(row))
        elif dup == "near":
            f.count(t, "near_duplicate")
            near = dict(row)
            if isinstance(near["dien_tich"], float) and near["dien_tich"] > 0:
                near["dien_tich"] = float(round(near["dien_tich"]))
            near["ngay_cap_nhat"] = office_time(rng, random_day(rng, date(2010, 1, 1), date(2019, 12, 31)))
            delayed.add(near)
        yield from delayed.due()

    # -- giay_chung_nhan ---------------------------------------------------------------------
    def _serial(self, issued: date) -> str:
        rng = self.cert_rng
        first = "A" if issued.year < 2009 else "B" if issued.year < 2015 else "C" if issued.year < 2020 else "D"
        series = first + rng.choice(_SERIES_LETTERS)
        if series not in self.serials:            # blanks of a series are printed from some number on
            self.serials[series] = int(unit_float(self.seed, "series", series) * 500_000)
        self.serials[series] += rng.randint(1, 9)
        number = 100_000 + self.serials[series]
        if number > 999_999:
            raise OverflowError(f"certificate series {series} exhausted")
        return f"{series} {number:06d}"

    def certificates(self, p: Parcel) -> Iterator[dict[str, Any]]:
        if not p.certified:
            return
        t, f = "giay_chung_nhan", self.faults
        rng = f.rng(t)
        for k, h in enumerate(p.holders):
            issued = h.since if k == 0 else h.since + timedelta(days=self.cert_rng.randint(7, 35))
            if issued >= AS_OF:
                continue                        # transfer registered, certificate not issued yet
            prefix = "CH" if h.kind == "ca_nhan" else "CS"
            if (p.unit_code, prefix) not in self.register:
                self.register[(p.unit_code, prefix)] = int(unit_float(self.seed, "register", p.unit_code, prefix) * 4000)
            self.register[(p.unit_code, prefix)] += 1
            row = {"so_phat_hanh": self._serial(issued), "so_vao_so": f"{prefix}{self.register[(p.unit_code, prefix)]:05d}",
                   "ma_dvhc": p.unit_code, "so_to_ban_do": p.map_sheet, "so_thua": p.parcel_no,
                   "loai_chu_su_dung": h.kind, "so_cccd": None, "ma_so_doanh_nghiep": None,
                   "ten_chu_su_dung": h.name, "dien_tich": p.area_m2, "muc_dich_su_dung": p.land_use,
                   "ngay_cap": issued.isoformat(),
                   "trang_thai": "hieu_luc" if k == len(p.holders) - 1 else "da_thu_hoi"}
            if h.kind == "ca_nhan":
                person = CitizenRef(cccd=h.id, full_name=h.name, unit_code=p.unit_code, birth_year=0, sex="")
                row["so_cccd"], row["ten_chu_su_dung"] = f.citizen_link(t, person)
            else:
                row["ma_so_doanh_nghiep"], row["ten_chu_su_dung"] = f.enterprise_link(t, h.id, h.name)
            fault = f.choose(t, ("serial_malformed", "missing_value", "old_admin_unit", "bad_date", "vn_date_format"))
            if fault == "serial_malformed":
                s = row["so_phat_hanh"]
                row["so_phat_hanh"] = rng.choice((s.replace(" ", ""), s.lower(), s[:-1], s.replace(" ", "-")))
            elif fault == "missing_value":
                row[rng.choice(("so_vao_so", "ngay_cap", "dien_tich", "muc_dich_su_dung"))] = None
            elif fault == "old_admin_unit":
                old = old_unit_for(p.unit_code, rng)
                if old is None:
                    fault = None
                else:
                    row["ma_dvhc"] = old[0]
            elif fault == "bad_date":
                row["ngay_cap"] = rng.choice(BAD_DATES)
            elif fault == "vn_date_format":
                row["ngay_cap"] = vn_date(issued)
            if fault:
                f.count(t, fault)
            yield row
            if f.hit(t, "exact_duplicate"):
                f.count(t, "exact_duplicate")
                yield dict(row)

    # -- giao_dich -----------------------------------------------------------------------------
    def transactions(self, p: Parcel) -> Iterator[dict[str, Any]]:
        t, f = "giao_dich", self.faults
        rng = f.rng(t)
        for tx in p.transactions:
            self.next_tx += 1
            row = {"id": self.next_tx, "ma_dvhc": p.unit_code, "so_to_ban_do": p.map_sheet, "so_thua": p.parcel_no,
                   "loai_giao_dich": tx.kind, "ngay_dang_ky": tx.day.isoformat(), "gia_tri": tx.value_vnd}
            for side, kind, pid, name in (("ben_chuyen", tx.from_kind, tx.from_id, tx.from_name),
                                          ("ben_nhan", tx.to_kind, tx.to_id, tx.to_name)):
                if kind == "ca_nhan":
                    pid, name = f.citizen_link(t, CitizenRef(cccd=pid, full_name=name, unit_code="", birth_year=0, sex=""))
                elif kind == "to_chuc":
                    pid, name = f.enterprise_link(t, pid, name)
                else:
                    f.count_link(t, "bank")
                row[side], row[f"ten_{side}"] = pid, name
            if f.link(t) == "broken":         # the parcel key as typed: an extra leading 1 on the parcel number
                f.count_link(t, "parcel_broken")
                row["so_thua"] = p.parcel_no + 10_000
            else:
                f.count_link(t, "parcel_ok")
            fault = f.choose(t, ("bad_date", "vn_date_format") + (("value_invalid",) if tx.value_vnd else ()))
            if fault == "bad_date":
                row["ngay_dang_ky"] = rng.choice(BAD_DATES)
            elif fault == "vn_date_format":
                row["ngay_dang_ky"] = vn_date(tx.day)
            elif fault == "value_invalid":
                row["gia_tri"] = rng.choice((0, -tx.value_vnd, 1))
            if fault:
                f.count(t, fault)
            yield row
            if f.hit(t, "exact_duplicate"):
                f.count(t, "exact_duplicate")
                self.next_tx += 1
                yield dict(row, id=self.next_tx)      # the same registration keyed twice


def generate(target: str, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             chunk_rows: int = 5000) -> GenerationStats:
    """(Re)create the land database's three tables at ``target`` and fill them; returns what was generated."""
    started = time.perf_counter()
    db = LandDatabase(seed=seed, sf=sf, fault_rates=fault_rates)
    with dbapi.connect(target) as con:
        create_tables(con, target, [(table, cols, COLUMN_TYPES, "id" if table == "giao_dich" else None)
                                    for table, cols in COLUMNS.items()])
        writers = {table: ChunkWriter(con, target, table, cols, db.stats, chunk_rows) for table, cols in COLUMNS.items()}
        delayed = Delayed(db.faults.rng("thua_dat"))
        cols = {table: COLUMNS[table] for table in COLUMNS}
        for parcel in true_parcels(seed, sf):
            for row in db.thua_dat_rows(parcel, delayed):
                writers["thua_dat"].add(tuple(row[c] for c in cols["thua_dat"]))
            for row in db.certificates(parcel):
                writers["giay_chung_nhan"].add(tuple(row[c] for c in cols["giay_chung_nhan"]))
            for row in db.transactions(parcel):
                writers["giao_dich"].add(tuple(row[c] for c in cols["giao_dich"]))
        for row in delayed.rest():
            writers["thua_dat"].add(tuple(row[c] for c in cols["thua_dat"]))
        for writer in writers.values():
            writer.flush()
        create_indexes(con, INDEXES)
    db.stats.seconds = time.perf_counter() - started
    write_manifest(target, SYSTEM.name, seed, sf, db.stats)
    return db.stats
