"""Construction permits (Giấy phép xây dựng), generated.

Owner: Sở Xây dựng (Department of Construction) for works that need a city-level permit, and
the People's Committees for individual houses: the district-level committees until 30 June
2025, the commune-level ones (wards, communes, special zones) from 1 July 2025 when districts
were abolished; works inside industrial parks are permitted by the Economic Zone Authority
(Ban Quản lý Khu kinh tế Hải Phòng). Before the merger, works in the former Hải Dương province
went to its own Department of Construction. The permit register is served from PostgreSQL
(SQLite for the embedded profile). One table, ``giay_phep_xay_dung``; one row per application
dossier, natural key ``ma_ho_so`` (the dossier code given at receipt, shaped
``<agency code>-<yymmdd>-<nnnn>`` like the TTHC system's codes). ``so_giay_phep`` ("125/GPXD")
is only set once a permit is issued and restarts every year at every issuer: it is unique only
together with ``co_quan_cap`` and the year of ``ngay_cap``.

Sizes: ~600 dossiers per SF1 submitted from 2021 to the snapshot (2026-11-01), i.e. ~100 a
year per 100,000 residents, drawn from the parcels of the land database that have a holder
and a certificate (residential 26-38%, commercial 40%, industrial 45% of such parcels): the
permit register is generated from ``land.true_parcels``, so every clean dossier points to a
parcel that exists, and the investor (``chu_dau_tu``) is the parcel's holder on the day of
submission, a true citizen (CCCD) or a true enterprise (enterprise code).

Processing time: the legal limit is 15 days for an individual house and 20 days for other
works (Construction Law 2014 Art. 102, as amended in 2020); ``han_tra_ket_qua`` is the
appointment date. About 8% of house permits and 5% of other permits are issued late (1 to 30
days past the limit), 3% of dossiers are refused, 0.5% of permits are later revoked, and
dossiers whose decision would fall after the snapshot are still ``dang_xu_ly``. Statuses:
``da_cap`` (issued), ``dang_xu_ly`` (in progress), ``tu_choi`` (refused), ``thu_hoi`` (revoked).

Faults (``DEFAULT_FAULT_RATES``; override as in ``enterprise``): exact duplicates, near
duplicates (an older status row of the same dossier still ``dang_xu_ly``), missing values, bad
and dd/mm/yyyy dates, pre-2025 unit codes (which also break the parcel key), unaccented investor
names, zero or negative floor areas. Links: investor CCCD of nobody or malformed, enterprise code
with a bad check digit (``link_broken``), investor name differing from the registers
(``link_name_mismatch``), and a parcel key that does not exist (``link_broken``, drawn separately).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from kho import reference
from kho.reference import agencies as agencies_ref
from kho.sources import dbapi
from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics, rng_for, write_manifest
from kho.sources.citizens import CitizenRef
from kho.sources.enterprise import (AS_OF, BAD_DATES, BRANDS, MERGER, create_indexes, create_tables, office_time,
                                    old_unit_for, random_day, unit_district, vn_date, write_rows)
from kho.sources.faults import Delayed, FaultPlan
from kho.sources.land import Holder, Parcel, true_parcels

SYSTEM = SourceSystem(
    name="construction_permits",
    title="Construction permits",
    title_vi="Cơ sở dữ liệu cấp phép xây dựng",
    owner="Sở Xây dựng (Department of Construction); commune People's Committees for individual houses",
    form="database",
    engine="postgresql",
    objects={"giay_phep_xay_dung": ("ma_ho_so",)},
    description="One row per permit application dossier; links to land parcels (unit + map sheet + parcel number) "
                "and to the investor (citizen CCCD or enterprise code).",
)

TABLE = "giay_phep_xay_dung"
PERMITS_FROM = date(2021, 1, 1)
LEGAL_DAYS = {"nha_o_rieng_le": 15, "cong_trinh_dan_dung": 20, "cong_nghiep": 20, "ha_tang": 20}
LATE_SHARE = {"nha_o_rieng_le": 0.08, "cong_trinh_dan_dung": 0.05, "cong_nghiep": 0.05, "ha_tang": 0.05}
REFUSED_SHARE = 0.03
REVOKED_SHARE = 0.005
# Probability that a certified parcel with a holder gets a permit dossier in the period, by land use.
PERMIT_PROBABILITY = {"ODT": 0.38, "ODT+CLN": 0.3, "ONT": 0.26, "ONT+CLN": 0.22, "TMD": 0.4, "SKC": 0.45,
                      "SKK": 0.45, "DBV": 0.5, "DNL": 0.3}

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,
    "near_duplicate": 0.004,
    "missing_value": 0.005,
    "bad_date": 0.002,
    "vn_date_format": 0.01,
    "old_admin_unit": 0.008,
    "unaccented_name": 0.005,
    "area_invalid": 0.003,
    "link_broken": 0.01,
    "link_name_mismatch": 0.01,
}
TABLE_FAULTS = {TABLE: tuple(DEFAULT_FAULT_RATES)}

COLUMNS = ("ma_ho_so", "so_giay_phep", "co_quan_cap", "loai_cong_trinh", "ten_cong_trinh", "chu_dau_tu",
           "loai_chu_dau_tu", "ten_chu_dau_tu", "ma_dvhc", "so_to_ban_do", "so_thua", "dia_diem_xay_dung",
           "dien_tich_xay_dung", "dien_tich_san", "so_tang", "ngay_nop_ho_so", "han_tra_ket_qua", "ngay_cap",
           "trang_thai", "ngay_cap_nhat")
COLUMN_TYPES = {
    "ma_ho_so": "s40", "so_giay_phep": "s30", "co_quan_cap": "s200", "loai_cong_trinh": "s30",
    "ten_cong_trinh": "s300", "chu_dau_tu": "s20", "loai_chu_dau_tu": "s10", "ten_chu_dau_tu": "s300",
    "ma_dvhc": "s10", "so_to_ban_do": "i", "so_thua": "i", "dia_diem_xay_dung": "s400", "dien_tich_xay_dung": "r",
    "dien_tich_san": "r", "so_tang": "i", "ngay_nop_ho_so": "s20", "han_tra_ket_qua": "s20", "ngay_cap": "s20",
    "trang_thai": "s20", "ngay_cap_nhat": "s20",
}
INDEXES = {TABLE: ("ma_ho_so", "chu_dau_tu", "ma_dvhc")}

# Issuing agencies (codes of kho/reference/agencies.csv).
CONSTRUCTION = agencies_ref.department_code("09")                    # Sở Xây dựng
ECONOMIC_ZONE_AUTHORITY = agencies_ref.department_code("14")         # Ban Quản lý Khu kinh tế Hải Phòng
HAI_DUONG_CONSTRUCTION = agencies_ref.department_code("15", "H26")   # Sở Xây dựng tỉnh Hải Dương (until 2025-06-30)

_WORKS = {
    "cong_trinh_dan_dung": ("Nhà văn phòng", "Khách sạn", "Nhà hàng", "Showroom", "Trung tâm thương mại",
                            "Nhà ở kết hợp kinh doanh", "Cửa hàng"),
    "cong_nghiep": ("Nhà xưởng sản xuất", "Nhà kho", "Xưởng cơ khí", "Nhà xưởng và văn phòng điều hành",
                    "Kho chứa hàng"),
}


@dataclass
class Permit:
    """One dossier as it truly is (before this system's faults)."""

    parcel: Parcel
    holder: Holder
    kind: str
    title: str
    issuer: str
    agency: str
    footprint: float
    floors: int
    submitted: date
    due: date
    decided: date | None
    status: str
    dossier: str = ""
    number: str | None = None


@lru_cache(maxsize=1)
def _district_pc_codes() -> dict[str, str]:
    """Pre-2025 district People's Committee name ("UBND Quận Lê Chân") -> its catalogue code."""
    return {a.name_vi: a.code for a in agencies_ref.agencies() if a.kind == "other" and a.name_vi.startswith("UBND ")}


def _issuer(parcel: Parcel, kind: str, day: date, units: dict[str, reference.AdminUnit]) -> tuple[str, str]:
    """(issuing authority, its electronic agency code), both from ``kho/reference/agencies.csv``."""
    district, province = unit_district()[parcel.unit_code]
    if kind == "cong_nghiep" and parcel.land_use == "SKK":
        code = ECONOMIC_ZONE_AUTHORITY
    elif kind != "nha_o_rieng_le":
        code = HAI_DUONG_CONSTRUCTION if (day < MERGER and province == "Hải Dương") else CONSTRUCTION
    elif day < MERGER:
        code = _district_pc_codes()[f"UBND {district}"]
    else:
        code = agencies_ref.commune_pc_code(parcel.unit_code)
    return agencies_ref.agency_on(code, day).name_vi, code


def true_permits(seed: int = 42, sf: float = 1.0) -> list[Permit]:
    """All dossiers, in submission order, with dossier codes and permit numbers. Independent of fault rates."""
    rng = rng_for(SYSTEM.name, seed, "permits")
    units = reference.admin_unit_by_code()
    permits: list[Permit] = []
    for parcel in true_parcels(seed, sf):
        p = PERMIT_PROBABILITY.get(parcel.land_use)
        if not p or not parcel.certified or not parcel.holders or rng.random() >= p:
            continue
        start = max(PERMITS_FROM, parcel.holders[0].since + timedelta(days=30))
        if start >= AS_OF - timedelta(days=2):
            continue
        submitted = random_day(rng, start, AS_OF - timedelta(days=2))
        holder = parcel.holder_on(submitted)
        if holder is None:
            continue
        lu = parcel.land_use
        if lu in ("DBV", "DNL"):
            kind = "ha_tang"
        elif lu in ("SKC", "SKK"):
            kind = "cong_nghiep"
        elif lu == "TMD" or holder.kind == "to_chuc":
            kind = "cong_trinh_dan_dung"
        else:
            kind = "nha_o_rieng_le"
        area = parcel.area_m2
        if kind == "nha_o_rieng_le":
            urban = lu.startswith("ODT")
            floors = rng.choices((1, 2, 3, 4, 5, 6), (1, 3, 5, 6, 4, 1) if urban else (4, 5, 3, 1, 0.3, 0.1))[0]
            footprint = min(area * rng.uniform(0.7, 0.95) if urban else area * rng.uniform(0.3, 0.7), 350.0)
            title = f"Nhà ở riêng lẻ {floors} tầng"
        elif kind == "cong_nghiep":
            floors = rng.choices((1, 2, 3), (6, 3, 1))[0]
            footprint = area * rng.uniform(0.4, 0.7)
            title = rng.choice(_WORKS[kind])
        elif kind == "ha_tang":
            floors = 1
            footprint = min(area * rng.uniform(0.2, 0.6), 400.0)
            title = "Trạm thu phát sóng thông tin di động (BTS)" if lu == "DBV" else "Trạm biến áp 110kV"
        else:
            floors = rng.choices(range(2, 16), [6, 6, 5, 4, 3, 2, 2, 1, 1, 1, 1, 0.5, 0.5, 0.5])[0]
            footprint = area * rng.uniform(0.45, 0.75)
            title = f"{rng.choice(_WORKS['cong_trinh_dan_dung'])} {rng.choice(BRANDS)}"
        limit = LEGAL_DAYS[kind]
        draw = rng.random()
        if draw < REFUSED_SHARE:
            decided, status = submitted + timedelta(days=rng.randint(5, limit)), "tu_choi"
        else:
            late = draw < REFUSED_SHARE + LATE_SHARE[kind]
            days = limit + rng.randint(1, 30) if late else rng.randint(max(3, limit // 3), limit)
            decided, status = submitted + timedelta(days=days), "da_cap"
            if rng.random() < REVOKED_SHARE:
                status = "thu_hoi"
        if decided >= AS_OF:
            decided, status = None, "dang_xu_ly"
        issuer, agency = _issuer(parcel, kind, submitted, units)
        permits.append(Permit(parcel=parcel, holder=holder, kind=kind, title=title, issuer=issuer, agency=agency,
                              footprint=round(footprint, 1), floors=floors, submitted=submitted,
                              due=submitted + timedelta(days=limit), decided=decided, status=status))
    permits.sort(key=lambda x: (x.submitted, x.parcel.key))
    seq: Counter = Counter()
    for permit in permits:
        seq[(permit.agency, permit.submitted)] += 1
        permit.dossier = f"{permit.agency}-{permit.submitted:%y%m%d}-{seq[(permit.agency, permit.submitted)]:04d}"
    issued = sorted((x for x in permits if x.status in ("da_cap", "thu_hoi")), key=lambda x: (x.decided, x.dossier))
    numbers: Counter = Counter()
    for permit in issued:
        numbers[(permit.issuer, permit.decided.year)] += 1
        permit.number = f"{numbers[(permit.issuer, permit.decided.year)]}/GPXD"
    return permits


class PermitRegister:
    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None) -> None:
        self.seed, self.sf = seed, sf
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = FaultPlan(SYSTEM.name, seed, TABLE_FAULTS, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.time_rng = rng_for(SYSTEM.name, seed, "timestamps")

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Dossiers in submission order, faults applied; duplicates arrive a few rows later."""
        f, t = self.faults, TABLE
        rng = f.rng(t)
        delayed = Delayed(rng)
        for x in true_permits(self.seed, self.sf):
            parcel, h = x.parcel, x.holder
            stamp_day = x.decided or x.submitted
            row = {"ma_ho_so": x.dossier, "so_giay_phep": x.number, "co_quan_cap": x.issuer, "loai_cong_trinh": x.kind,
                   "ten_cong_trinh": x.title, "ma_dvhc": parcel.unit_code, "so_to_ban_do": parcel.map_sheet,
                   "so_thua": parcel.parcel_no, "dia_diem_xay_dung": parcel.address,
                   "dien_tich_xay_dung": x.footprint, "dien_tich_san": round(x.footprint * x.floors, 1),
                   "so_tang": x.floors, "ngay_nop_ho_so": x.submitted.isoformat(), "han_tra_ket_qua": x.due.isoformat(),
                   "ngay_cap": x.decided.isoformat() if x.status in ("da_cap", "thu_hoi") else None,
                   "trang_thai": x.status, "ngay_cap_nhat": office_time(self.time_rng, stamp_day),
                   "loai_chu_dau_tu": h.kind}
            if h.kind == "ca_nhan":
                row["chu_dau_tu"], row["ten_chu_dau_tu"] = f.citizen_link(
                    t, CitizenRef(cccd=h.id, full_name=h.name, unit_code=parcel.unit_code, birth_year=0, sex=""))
            else:
                row["chu_dau_tu"], row["ten_chu_dau_tu"] = f.enterprise_link(t, h.id, h.name)
            if f.link(t) == "broken":                 # a parcel key that does not exist (typo in the parcel number)
                f.count_link(t, "parcel_broken")
                row["so_thua"] = parcel.parcel_no + 10_000
            else:
                f.count_link(t, "parcel_ok")
            fault = f.choose(t, ("missing_value", "bad_date", "vn_date_format", "old_admin_unit", "unaccented_name",
                                 "area_invalid"))
            if fault == "missing_value":
                row[rng.choice(("dia_diem_xay_dung", "dien_tich_san", "so_tang", "ten_cong_trinh", "han_tra_ket_qua"))] = None
            elif fault == "bad_date":
                row[rng.choice(("ngay_nop_ho_so", "han_tra_ket_qua"))] = rng.choice(BAD_DATES)
            elif fault == "vn_date_format":
                row["ngay_nop_ho_so"] = vn_date(x.submitted)
                if x.decided and row["ngay_cap"]:
                    row["ngay_cap"] = vn_date(x.decided)
            elif fault == "old_admin_unit":
                old = old_unit_for(parcel.unit_code, rng)
                if old is None:
                    fault = None
                else:
                    row["ma_dvhc"] = old[0]
                    row["dia_diem_xay_dung"] = row["dia_diem_xay_dung"].split(", ")[0] + ", " + old[1]
            elif fault == "unaccented_name":
                row["ten_chu_dau_tu"] = fold_diacritics(row["ten_chu_dau_tu"] or "")
            elif fault == "area_invalid":
                row["dien_tich_san"] = rng.choice((0.0, -row["dien_tich_san"]))
            if fault:
                f.count(t, fault)
            yield tuple(row[c] for c in COLUMNS)
            dup = f.duplicate(t)
            if dup == "exact":
                f.count(t, "exact_duplicate")
                delayed.add(dict(row))
            elif dup == "near":
                f.count(t, "near_duplicate")
                near = dict(row, so_giay_phep=None, ngay_cap=None, trang_thai="dang_xu_ly",
                            ngay_cap_nhat=office_time(rng, x.submitted))
                delayed.add(near)
            for late in delayed.due():
                yield tuple(late[c] for c in COLUMNS)
        for late in delayed.rest():
            yield tuple(late[c] for c in COLUMNS)


def generate(target: str, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             chunk_rows: int = 5000) -> GenerationStats:
    """(Re)create ``giay_phep_xay_dung`` at ``target`` and fill it; returns what was generated."""
    started = time.perf_counter()
    register = PermitRegister(seed=seed, sf=sf, fault_rates=fault_rates)
    with dbapi.connect(target) as con:
        create_tables(con, target, [(TABLE, COLUMNS, COLUMN_TYPES, None)])
        write_rows(con, target, TABLE, COLUMNS, register.rows(), register.stats, chunk_rows)
        create_indexes(con, INDEXES)
    register.stats.seconds = time.perf_counter() - started
    write_manifest(target, SYSTEM.name, seed, sf, register.stats)
    return register.stats
