"""Schools and enrolment (Giáo dục: trường học, sĩ số), generated as the department's Excel reports.

Owner: Sở Giáo dục và Đào tạo (Department of Education and Training). The drop is one
workbook per school year, ``<target>/education/truong_hoc_YYYY.xlsx`` for the year starting
in September YYYY (default: 2024, 2025, 2026), with two sheets:

* ``Truong`` (schools): ``ma_truong`` (8 digits: province 31/30, level digit 1 mầm non,
  2 tiểu học, 3 THCS, 4 THPT, unit index, school number), ``ten_truong``, ``cap_hoc``
  (``mam_non``, ``tieu_hoc``, ``THCS``, ``THPT``), ``loai_hinh`` (``cong_lap``, ``tu_thuc``),
  ``ma_dvhc``.
* ``SiSo`` (enrolment): ``ma_truong``, ``khoi`` (``Nhà trẻ``, ``Mẫu giáo bé``, ``Mẫu giáo
  nhỡ``, ``Mẫu giáo lớn``, ``Lớp 1`` .. ``Lớp 12``), ``so_lop``, ``so_hoc_sinh``,
  ``so_hoc_sinh_nu``.

Layout, as a department exports it (a naive reader must skip it): rows 1-2 carry the
agency and national motto blocks (merged cells), row 4 the title, row 5 the reference date,
rows 7-8 a two-row header: row 7 has merged group labels ("Thông tin trường", "Phân loại",
"Học sinh", ...) and the ``STT`` cell merged over rows 7-8; row 8 has the column names.
Data start on row 9, with the running number ``STT`` in column A. Read it with
``pandas.read_excel(path, sheet_name="Truong", header=7).drop(columns="Unnamed: 0")``
(``HEADER_ROW``/``DATA_START_ROW`` below), or with openpyxl from ``DATA_START_ROW``.

Enrolment follows the true citizens: for each commune-level unit and grade, the children of
the matching birth year living there (alive at the start of the year), times an enrolment
rate (nhà trẻ ~25%, mẫu giáo 85-99%, primary 99.5%, lower secondary 97%, upper secondary
~80%, the rest in continuing or vocational education). Preschools, primary and lower
secondary schools serve their commune (the commune People's Committees manage them); upper
secondary schools serve a former district. A unit's grade is split over its schools, so
the unit totals are exact. 1,608 schools for 2.12 m people in old Hải Phòng (1,430 public,
178 private; seed digest §3.3) set the private share; at small sf each unit still has at
least one school of each commune level, so schools per person are higher than the city's.

Faults: duplicated rows, unaccented school names, pre-2025 unit codes, missing ``loai_hinh``
or ``so_lop``, level written out in words, counts typed as text (``text_number``), girls
more than pupils, grade labels as bare numbers, enrolment rows of a school missing from the
school sheet; and hard deletes: schools merged away are absent from the next year's file.
"""

from __future__ import annotations

import io
import math
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kho import reference
from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics, rng_for, write_manifest
from kho.sources.citizens import death_date, map_blocks, true_people
from kho.sources.faults import Faults, old_unit_code

SYSTEM = SourceSystem(
    name="education",
    title="Schools and enrolment",
    title_vi="Cơ sở dữ liệu giáo dục: trường học và sĩ số",
    owner="Sở Giáo dục và Đào tạo (Department of Education and Training)",
    form="file_drop",
    engine=None,
    objects={"Truong": ("ma_truong",), "SiSo": ("ma_truong", "khoi")},   # per workbook (school year)
    description="education/truong_hoc_YYYY.xlsx per school year; sheets Truong and SiSo under a title block "
                "and a two-row merged header (column names on row 8, data from row 9).",
)

SCHOOL_COLUMNS = ("ma_truong", "ten_truong", "cap_hoc", "loai_hinh", "ma_dvhc")
ENROLMENT_COLUMNS = ("ma_truong", "khoi", "so_lop", "so_hoc_sinh", "so_hoc_sinh_nu")
HEADER_ROW = 8          # 1-based row of the column names (pandas: header=HEADER_ROW - 1)
DATA_START_ROW = 9
DEFAULT_YEARS = (2024, 2025, 2026)

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.005,
    "unaccented_name": 0.02,
    "old_admin_unit": 0.02,
    "missing_value": 0.01,
    "malformed_value": 0.01,
    "text_number": 0.01,
    "orphan_enrolment": 0.003,    # enrolment rows of a school that is not on the school sheet
    "school_merge": 0.02,         # a school merged into a new one (new code) between two years
}
_FIXED_TIME = (2026, 11, 1, 0, 0, 0)

# (grade label, level, years before the school year's calendar year, enrolment rate, class size)
GRADES: tuple[tuple[str, str, int, float, int], ...] = (
    ("Nhà trẻ", "mam_non", 2, 0.35, 20), ("Nhà trẻ", "mam_non", 1, 0.12, 20),
    ("Mẫu giáo bé", "mam_non", 3, 0.85, 28), ("Mẫu giáo nhỡ", "mam_non", 4, 0.92, 30),
    ("Mẫu giáo lớn", "mam_non", 5, 0.99, 32),
    *((f"Lớp {k}", "tieu_hoc", 5 + k, 0.995, 35) for k in range(1, 6)),
    *((f"Lớp {k}", "THCS", 5 + k, 0.97, 40) for k in range(6, 10)),
    *((f"Lớp {k}", "THPT", 5 + k, 0.80, 42) for k in range(10, 13)),
)
LEVELS = ("mam_non", "tieu_hoc", "THCS", "THPT")
LEVEL_DIGIT = {"mam_non": "1", "tieu_hoc": "2", "THCS": "3", "THPT": "4"}
LEVEL_WORDS = {"mam_non": "Mầm non", "tieu_hoc": "Tiểu học", "THCS": "Trung học cơ sở", "THPT": "Trung học phổ thông"}
SCHOOL_SIZE = {"mam_non": 260, "tieu_hoc": 650, "THCS": 600, "THPT": 1_100}
PRIVATE_SHARE = {"mam_non": 0.25, "tieu_hoc": 0.04, "THCS": 0.03, "THPT": 0.12}
_PRIVATE_NAMES = ("Hoa Sen", "Sao Mai", "Ánh Dương", "Hoa Mai", "Tuổi Thơ", "Việt Úc", "Quốc tế Hải Phòng",
                  "Ngôi Sao", "Họa Mi", "Thăng Long", "Marie Curie", "Nguyễn Bỉnh Khiêm", "Lương Thế Vinh")
_THPT_NAMES = ("Trần Phú", "Ngô Quyền", "Lê Quý Đôn", "Thái Phiên", "Nguyễn Trãi", "Hồng Bàng", "Lê Chân",
               "Mạc Đĩnh Chi", "Nguyễn Du", "Chu Văn An", "Tô Hiệu", "Hồng Quang", "Phạm Ngũ Lão", "Nguyễn Huệ",
               "Lê Hồng Phong", "Trần Hưng Đạo", "Quang Trung", "Bạch Đằng", "Nguyễn Khuyến", "Tuệ Tĩnh")


@dataclass
class School:
    code: str
    name: str
    level: str
    private: bool
    unit: str
    weight: float
    catchment: tuple[str, ...]     # units whose pupils it takes (its unit; a former district for THPT)


def _district(unit: reference.AdminUnit) -> str:
    return unit.former_district or unit.unit_code


class EducationGenerator:
    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 years: tuple[int, ...] = DEFAULT_YEARS) -> None:
        self.seed, self.sf, self.years = seed, sf, tuple(sorted(years))
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = Faults(SYSTEM.name, seed, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.units = reference.admin_units()
        self.unit_index = {u.unit_code: i for i, u in enumerate(self.units)}

    # -- who is of school age where ----------------------------------------------------
    def cohorts(self, cache: Any = None, workers: int | None = None) -> Counter:
        """(school year, unit, birth year, sex) -> children alive at the start of the year."""
        counts: Counter = Counter()
        for part in map_blocks(_cohort_part, self.seed, self.sf, cache, workers, self.years):
            counts.update(part)
        return counts

    def cohort_part(self, cache: Any, blocks: tuple[int, int]) -> Counter:
        counts: Counter = Counter()
        oldest = min(self.years) - 18
        for p in true_people(self.seed, self.sf, cache, blocks):
            if p.birth.year < oldest:
                continue
            died = death_date(p)
            for year in self.years:
                start = date(year, 9, 5)
                if p.birth.year <= year - 1 and (died is None or died > start) and year - p.birth.year <= 18:
                    counts[(year, p.unit, p.birth.year, p.sex)] += 1
        return counts

    def enrolment(self, counts: Counter) -> dict[int, dict[tuple[str, str], tuple[int, int]]]:
        """year -> (unit, grade label) -> (pupils, girls), rounded deterministically."""
        out: dict[int, dict[tuple[str, str], tuple[int, int]]] = {}
        for year in self.years:
            rng = rng_for(SYSTEM.name, self.seed, f"enrolment-{year}")
            table: dict[tuple[str, str], tuple[int, int]] = {}
            for u in self.units:
                for label, _level, back, rate, _size in GRADES:
                    boys = counts.get((year, u.unit_code, year - back, "M"), 0)
                    girls = counts.get((year, u.unit_code, year - back, "F"), 0)
                    g = math.floor(girls * rate + rng.random())
                    b = math.floor(boys * rate + rng.random())
                    pupils, female = table.get((u.unit_code, label), (0, 0))
                    table[(u.unit_code, label)] = (pupils + g + b, female + g)
            out[year] = table
        return out

    # -- schools ----------------------------------------------------------------------
    def schools(self, enrolment: dict[int, dict[tuple[str, str], tuple[int, int]]]) -> dict[int, list[School]]:
        """The schools open in each year: stable codes; a level that needs fewer schools than
        the year before merges the last ones away, one that needs more opens new ones."""
        rng = rng_for(SYSTEM.name, self.seed, "schools")
        by_year: dict[int, list[School]] = {}
        known: dict[tuple[str, str, int], School] = {}
        districts: dict[str, list[reference.AdminUnit]] = {}
        for u in self.units:
            districts.setdefault(_district(u), []).append(u)
        for year in self.years:
            table = enrolment[year]
            level_pupils: Counter = Counter()
            for (unit, label), (pupils, _) in table.items():
                level_pupils[(unit, _level_of(label))] += pupils
            open_now: list[School] = []
            for u in self.units:
                for level in ("mam_non", "tieu_hoc", "THCS"):
                    n = max(1, round(level_pupils[(u.unit_code, level)] / SCHOOL_SIZE[level]))
                    for k in range(n):
                        open_now.append(self._school(known, rng, u, level, k, (u.unit_code,)))
            for district, units in districts.items():
                pupils = sum(level_pupils[(u.unit_code, "THPT")] for u in units)
                n = max(1, round(pupils / SCHOOL_SIZE["THPT"]))
                catchment = tuple(u.unit_code for u in units)
                for k in range(n):
                    open_now.append(self._school(known, rng, units[k % len(units)], "THPT", k // len(units),
                                                 catchment, district_k=k))
            if year != self.years[0]:   # merged with a neighbour: the old code is gone, a new one appears
                key_of = {id(v): k for k, v in known.items()}
                for i, school in enumerate(open_now):
                    key = key_of[id(school)]
                    if int(school.code[-2:]) < 50 and rng.random() < self.faults.rates["school_merge"]:
                        merged = School(school.code[:-2] + f"{int(school.code[-2:]) + 50:02d}", school.name,
                                        school.level, school.private, school.unit, school.weight, school.catchment)
                        known[key] = merged
                        open_now[i] = merged
            by_year[year] = open_now
        return by_year

    def _school(self, known: dict, rng: Any, unit: reference.AdminUnit, level: str, k: int,
                catchment: tuple[str, ...], district_k: int | None = None) -> School:
        key = (unit.unit_code, level, k)
        if key not in known:
            prefix = "30" if unit.former_province == "Hải Dương" else "31"
            code = f"{prefix}{LEVEL_DIGIT[level]}{self.unit_index[unit.unit_code]:03d}{k:02d}"
            first = k == 0 and (district_k is None or district_k == 0)
            private = not first and rng.random() < PRIVATE_SHARE[level] * 1.6
            if level == "THPT":
                name = (f"Trường THPT tư thục {rng.choice(_PRIVATE_NAMES)}" if private else
                        f"Trường THPT {_THPT_NAMES[(self.unit_index[unit.unit_code] + (district_k or 0)) % len(_THPT_NAMES)]}"
                        if district_k else f"Trường THPT {unit.unit_name}")
            else:
                words = {"mam_non": "Mầm non", "tieu_hoc": "Tiểu học", "THCS": "THCS"}[level]
                if private:
                    name = f"Trường {words} tư thục {rng.choice(_PRIVATE_NAMES)}"
                else:
                    name = f"Trường {words} {unit.unit_name}" + (f" số {k + 1}" if k else "")
            known[key] = School(code, name, level, private, unit.unit_code, rng.uniform(0.6, 1.4), catchment)
        return known[key]

    # -- rows --------------------------------------------------------------------------
    def sheets(self, year: int, schools: list[School], table: dict[tuple[str, str], tuple[int, int]]
               ) -> tuple[list[list[Any]], list[list[Any]]]:
        faults, frng = self.faults, self.faults.rng
        school_rows: list[list[Any]] = []
        enrol_rows: list[list[Any]] = []
        for s in schools:
            if faults.hit("orphan_enrolment"):
                faults.count("orphan_enrolment")
                continue
            row: list[Any] = [s.code, s.name, s.level, "tu_thuc" if s.private else "cong_lap", s.unit]
            if faults.hit("unaccented_name"):
                row[1] = fold_diacritics(row[1])
                faults.count("unaccented_name")
            if faults.hit("old_admin_unit"):
                row[4] = old_unit_code(row[4], frng)
                faults.count("old_admin_unit")
            kind = faults.draw(("missing_value", "malformed_value"))
            if kind == "missing_value":
                row[3] = None
            elif kind == "malformed_value":
                row[2] = LEVEL_WORDS[s.level]
            if kind:
                faults.count(kind)
            school_rows.append(row)
            if faults.hit("exact_duplicate"):
                school_rows.append(list(row))
                faults.count("exact_duplicate")
        # split each unit's (or district's) grade over the schools of the level serving it
        serving: dict[tuple[str, str], list[School]] = {}
        for s in schools:
            for unit in s.catchment:
                serving.setdefault((unit, s.level), []).append(s)
        per_school: dict[str, dict[str, list[int]]] = {}
        for (unit, label), (pupils, girls) in table.items():
            level = _level_of(label)
            group = serving.get((unit, level))
            if not group or pupils == 0:
                continue
            shares = _split(pupils, [s.weight for s in group])
            girl_shares = _split(girls, [s.weight for s in group])
            for s, n, f in zip(group, shares, girl_shares):
                acc = per_school.setdefault(s.code, {}).setdefault(label, [0, 0])
                acc[0] += n
                acc[1] += min(f, n) if n else 0
        size = {label: size for label, _l, _b, _r, size in GRADES}
        order = {label: i for i, label in enumerate(dict.fromkeys(g[0] for g in GRADES))}
        for s in schools:
            grades = per_school.get(s.code, {})
            for label in sorted(grades, key=order.__getitem__):
                pupils, girls = grades[label]
                if pupils == 0:
                    continue
                row = [s.code, label, math.ceil(pupils / size[label]), pupils, girls]
                kind = faults.draw(("missing_value", "malformed_value", "text_number"))
                if kind == "missing_value":
                    row[2] = None
                elif kind == "malformed_value":
                    if frng.random() < 0.5:
                        row[4] = pupils + frng.randint(1, 20)
                    else:
                        row[1] = label.replace("Lớp ", "") if label.startswith("Lớp") else label.lower()
                elif kind == "text_number":
                    row[3] = f"{pupils:,}".replace(",", ".") if pupils >= 1000 else f"{pupils} "
                if kind:
                    faults.count(kind)
                enrol_rows.append(row)
                if faults.hit("exact_duplicate"):
                    enrol_rows.append(list(row))
                    faults.count("exact_duplicate")
        return school_rows, enrol_rows

    def write(self, folder: Path, cache: Any = None, workers: int | None = None) -> dict[str, Any]:
        folder.mkdir(parents=True, exist_ok=True)
        counts = self.cohorts(cache, workers)
        enrolment = self.enrolment(counts)
        schools = self.schools(enrolment)
        files: dict[str, Any] = {}
        previous: set[str] = set()
        for year in self.years:
            school_rows, enrol_rows = self.sheets(year, schools[year], enrolment[year])
            codes = {s.code for s in schools[year]}
            gone = previous - codes
            self.stats.faults["hard_delete"] += len(gone)
            previous = codes
            name = f"truong_hoc_{year}.xlsx"
            (folder / name).write_bytes(_workbook(year, school_rows, enrol_rows))
            self.stats.rows["Truong"] += len(school_rows)
            self.stats.rows["SiSo"] += len(enrol_rows)
            files[name] = {"Truong": len(school_rows), "SiSo": len(enrol_rows), "header_row": HEADER_ROW,
                           "data_start_row": DATA_START_ROW}
        return files


def _cohort_part(seed: int, sf: float, cache: Any, blocks: tuple[int, int], part: int,
                 years: tuple[int, ...]) -> Counter:
    """One worker's share (module level, so worker processes can run it)."""
    return EducationGenerator(seed=seed, sf=sf, years=years).cohort_part(cache, blocks)


def _level_of(label: str) -> str:
    for g_label, level, *_ in GRADES:
        if g_label == label:
            return level
    raise KeyError(label)


def _split(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by ``weights`` with the largest-remainder method: the parts sum exactly."""
    if not weights:
        return []
    s = sum(weights)
    raw = [total * w / s for w in weights]
    parts = [int(x) for x in raw]
    rest = total - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))[:rest]:
        parts[i] += 1
    return parts


def _workbook(year: int, school_rows: list[list[Any]], enrol_rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    specs = (
        ("Truong", f"DANH SÁCH CƠ SỞ GIÁO DỤC NĂM HỌC {year}-{year + 1}", SCHOOL_COLUMNS,
         (("B", "C", "Thông tin trường"), ("D", "E", "Phân loại"), ("F", "F", "Địa bàn")), school_rows),
        ("SiSo", f"THỐNG KÊ SỐ LỚP, SỐ HỌC SINH NĂM HỌC {year}-{year + 1}", ENROLMENT_COLUMNS,
         (("B", "C", "Trường, khối lớp"), ("D", "D", "Số lớp"), ("E", "F", "Học sinh")), enrol_rows),
    )
    for i, (title, heading, columns, groups, rows) in enumerate(specs):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = title
        ws["A1"] = "UBND THÀNH PHỐ HẢI PHÒNG"
        ws["A2"] = "SỞ GIÁO DỤC VÀ ĐÀO TẠO"
        ws["D1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        ws["D2"] = "Độc lập - Tự do - Hạnh phúc"
        for cells in ("A1:C1", "A2:C2", "D1:F1", "D2:F2", "A4:F4", "A5:F5", "A7:A8"):
            ws.merge_cells(cells)
        ws["A4"] = heading
        ws["A5"] = f"(Số liệu tại thời điểm 05/9/{year}; kèm theo báo cáo của Sở GDĐT)"
        ws["A7"] = "STT"
        for first, last, label in groups:
            ws[f"{first}7"] = label
            if first != last:
                ws.merge_cells(f"{first}7:{last}7")
        for j, column in enumerate(columns):
            ws.cell(row=HEADER_ROW, column=j + 2, value=column)
        for cell in ("A1", "A2", "D1", "D2", "A4", "A7", "B7", "D7", "E7", "F7"):
            ws[cell].font = bold
            ws[cell].alignment = centre
        for n, row in enumerate(rows, start=1):
            ws.append([n, *row])
        ws.column_dimensions["C"].width = 40
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite an .xlsx with fixed entry timestamps and document dates: same bytes every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                                 rb"\g<1>2026-11-01T00:00:00Z\g<3>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(entry, content)
    return out.getvalue()


def generate(target: str | Path, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             years: tuple[int, ...] = DEFAULT_YEARS, citizen_cache: Path | str | bool | None = None,
             workers: int | None = None) -> GenerationStats:
    """Write one workbook per school year under ``<target>/education/`` (same bytes for any ``workers``)."""
    started = time.perf_counter()
    gen = EducationGenerator(seed=seed, sf=sf, fault_rates=fault_rates, years=years)
    folder = Path(target) / "education"
    files = gen.write(folder, citizen_cache, workers)
    gen.stats.seconds = time.perf_counter() - started
    write_manifest(folder, SYSTEM.name, seed, sf, gen.stats, files=files)
    return gen.stats
