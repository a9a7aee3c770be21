"""Administrative procedure dossiers (hồ sơ thủ tục hành chính, TTHC), generated.

Owner: Văn phòng UBND thành phố (Office of the City People's Committee), which runs the
one-stop system (Hệ thống thông tin giải quyết thủ tục hành chính thành phố) and the Public
Administration Service Centre. The real system is reached through the city LGSP, so this
module writes the system's data to a SQLite file, ``<target>/dossiers/tthc.sqlite``, and
:mod:`kho.sources.lgsp_api` serves it as an LGSP-style REST API (OAuth2 client credentials,
paging, an incremental cursor, rate limits).

Volume and rates (seed §VI.1.2 ~2163-2166, checklist item 86): 609.304 dossiers in 2024,
95,59% resolved on time (4,41% late), 58,45% submitted online. Per scale factor that is
609.304 / CITY_SF ≈ 13.064 dossiers a year, so SF ≈ 46,6 (the merged city) reproduces the
seed's 2024 total and SF10 gives ≈ 130.600 a year. (The seed's figure is the pre-merger
city's; keeping one per-SF rate means the merged city's per-capita volume is conservative -
the former Hải Dương side's one-stop figures are not in the seed. ``POST_MERGER_FACTOR``
raises volume from 07/2025 if published figures say so.) Other years follow ``YEAR_VOLUME``;
online share and on-time share follow ``TARGETS`` (2024 = the seed). The 2024 rates are hit
to within a few dossiers at any scale: online flags come from a low-discrepancy (Weyl)
sequence, late flags from randomised error diffusion (per-procedure risk, but the running late
count stays within one dossier of its target), and day counts are apportioned exactly.

History: the period is 2023-01-01 to 2026-10-31; the snapshot is as of ``AS_OF`` (1 Nov 2026).
Before 1 July 2025 the city was the pre-merger Hải Phòng: dossiers come from citizens of
former Hải Phòng units and carry PRE-2025 commune codes (that is history, not a fault); city
departments dissolved on 1 March 2025 (Sở Kế hoạch và Đầu tư, Sở Tài nguyên và Môi trường,
Sở Lao động - Thương binh và Xã hội, Sở Giao thông vận tải, Sở Thông tin và Truyền thông,
Sở Nông nghiệp và PTNT) appear with their own agency codes; table ``co_quan`` lists every
agency with validity dates and successor.

Identifiers: ``ma_ho_so`` = ``<agency code>-<yymmdd>-<4-digit sequence of the day>``, the
receipt-code style of TT 01/2018/TT-VPCP kept by ND 118/2025/NĐ-CP [verify the exact article];
agency codes and names come from the shared catalogue ``kho/reference/agencies.csv``
(:mod:`kho.reference.agencies`: ``000.00.NN.H31`` for departments, ``LLL.KK.00.H31`` built
from the 5-digit unit code for commune People's Committees) [derived - the city's official
agency code list is not in the seed]. ``ma_thu_tuc`` codes are illustrative, not the national
TTHC database codes. Applicants are true citizens (CCCD, from
``population.PopulationGenerator.true_citizens()``) or enterprises (10-digit tax codes from
``enterprise.true_enterprises(seed, sf)`` when that module exists, otherwise generated here).

Faults (rates in ``DEFAULT_FAULT_RATES``): exact and near duplicates (a dossier re-synced
from the national portal), missing receipt or due dates, status "resolved" without a return
date, pre-2025 unit codes on post-merger dossiers (``old_admin_unit``), malformed applicant IDs, and late updates:
the status change is recorded days after the fact, and changes still pending at ``AS_OF``
live in ``ho_so_cap_nhat`` - the API reveals them while a client pages, so a dossier read as
``dang_xu_ly`` on page 1 comes back resolved on a later page or fetch.
"""

from __future__ import annotations

import bisect
import json
import math
import sqlite3
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from kho import reference
from kho.reference import agencies as agencies_ref
from kho.sources.base import CITY_SF, GenerationStats, SourceSystem, fold_diacritics, rng_for, write_manifest
from kho.sources.identifiers import tax_check_digit

SYSTEM = SourceSystem(
    name="dossiers",
    title="Administrative procedure dossiers (one-stop system), served through the LGSP",
    title_vi="Hệ thống thông tin giải quyết thủ tục hành chính thành phố",
    owner="Văn phòng UBND thành phố (Office of the City People's Committee)",
    form="api",
    engine="sqlite",
    objects={"ho_so": ("ma_ho_so",), "thu_tuc": ("ma_thu_tuc",), "co_quan": ("ma_co_quan", "hieu_luc_tu")},
    description="TTHC dossiers 2023-01..2026-10 in SQLite, served by kho.sources.lgsp_api (REST, OAuth2, paging).",
)

DB_NAME = "tthc.sqlite"
PERIOD_START = date(2023, 1, 1)
PERIOD_END = date(2026, 11, 1)          # exclusive
AS_OF = datetime(2026, 11, 1, 0, 0, 0)  # snapshot time (same as the population source)
MERGER_DATE = date(2025, 7, 1)
DEPARTMENT_REFORM_DATE = date(2025, 3, 1)

DOSSIERS_2024_CITY = 609_304            # seed ~2164
DOSSIERS_PER_SF_YEAR = DOSSIERS_2024_CITY / CITY_SF
YEAR_VOLUME = {2023: 0.94, 2024: 1.0, 2025: 1.05, 2026: 1.08}   # relative to 2024 [derived]
POST_MERGER_FACTOR = 1.0
# (online share, on-time share among resolved) by half-year; 2024 = seed ~2165-2166.
TARGETS: dict[tuple[int, int], tuple[float, float]] = {
    (2023, 1): (0.50, 0.945), (2023, 2): (0.53, 0.948),
    (2024, 1): (0.5845, 0.9559), (2024, 2): (0.5845, 0.9559),
    (2025, 1): (0.66, 0.965), (2025, 2): (0.80, 0.955),
    (2026, 1): (0.84, 0.972), (2026, 2): (0.86, 0.975),
}
RETURNED_SHARE = 0.012                   # tra_lai: returned for supplement / refused
POSTAL_SHARE_OF_OFFLINE = 0.04
CITIZEN_POOL_CAP = 50_000                # applicants are drawn from the first N true citizens (bounded memory)
ENTERPRISE_POOL_CAP = 20_000

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,
    "near_duplicate": 0.002,
    "missing_dates": 0.003,
    "resolved_without_return_date": 0.004,
    "old_admin_unit": 0.01,              # share of post-merger dossiers
    "late_update": 0.008,
    "applicant_id_malformed": 0.002,
}

STATUSES = ("dang_xu_ly", "da_giai_quyet_dung_han", "da_giai_quyet_qua_han", "tra_lai")
CHANNELS = ("truc_tuyen", "truc_tiep", "buu_chinh")
COLUMNS = ("id", "ma_ho_so", "ma_thu_tuc", "ten_thu_tuc", "linh_vuc", "co_quan", "ten_co_quan", "ma_dvhc",
           "hinh_thuc_nop", "ngay_tiep_nhan", "han_giai_quyet", "ngay_tra_ket_qua", "trang_thai", "loai_chu_the",
           "so_giay_to", "ten_chu_the", "cap_nhat_luc")
UPDATE_COLUMNS = ("seq", "ho_so_id", "trang_thai", "ngay_tra_ket_qua", "cap_nhat_luc")
PROVINCE_SUFFIX = agencies_ref.PROVINCE_SUFFIX

DDL = (
    """CREATE TABLE ho_so (
        id INTEGER PRIMARY KEY, ma_ho_so TEXT, ma_thu_tuc TEXT, ten_thu_tuc TEXT, linh_vuc TEXT,
        co_quan TEXT, ten_co_quan TEXT, ma_dvhc TEXT, hinh_thuc_nop TEXT, ngay_tiep_nhan TEXT,
        han_giai_quyet TEXT, ngay_tra_ket_qua TEXT, trang_thai TEXT, loai_chu_the TEXT,
        so_giay_to TEXT, ten_chu_the TEXT, cap_nhat_luc TEXT)""",
    """CREATE TABLE ho_so_cap_nhat (
        seq INTEGER PRIMARY KEY, ho_so_id INTEGER, trang_thai TEXT, ngay_tra_ket_qua TEXT, cap_nhat_luc TEXT)""",
    """CREATE TABLE thu_tuc (
        ma_thu_tuc TEXT PRIMARY KEY, ten_thu_tuc TEXT, linh_vuc TEXT, cap_thuc_hien TEXT, co_quan_chu_tri TEXT,
        thoi_han_ngay INTEGER, muc_do TEXT, doi_tuong TEXT, le_phi INTEGER)""",
    """CREATE TABLE co_quan (
        ma_co_quan TEXT, ten_co_quan TEXT, cap TEXT, ma_dvhc TEXT, hieu_luc_tu TEXT, hieu_luc_den TEXT,
        ma_co_quan_ke_thua TEXT, PRIMARY KEY (ma_co_quan, hieu_luc_tu))""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
)
INDEXES = (
    "CREATE INDEX ix_ho_so_cap_nhat ON ho_so (cap_nhat_luc, id)",
    "CREATE INDEX ix_ho_so_tiep_nhan ON ho_so (ngay_tiep_nhan, id)",
    "CREATE INDEX ix_ho_so_trang_thai ON ho_so (trang_thai, id)",
    "CREATE INDEX ix_cap_nhat_ho_so ON ho_so_cap_nhat (ho_so_id)",
)

# Agency codes and names (the 14 city agencies of seed §VII.2.2 ~4573-4583, the departments
# merged into them on 1 March 2025, the commune People's Committees before and after the
# 2025 reform) come from the shared catalogue kho/reference/agencies.csv.
department_code = agencies_ref.department_code
commune_agency_code = agencies_ref.commune_pc_code


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field: str            # lĩnh vực
    level: str            # "tinh" (a city department) | "xa" (commune People's Committee)
    dept: str | None      # department number for level "tinh"
    old_dept: str | None  # department number before 1 March 2025, when different
    days: int             # statutory time limit, working days
    online: str           # "toan_trinh" (full online) | "mot_phan" (partial)
    applicant: str        # "cong_dan" | "doanh_nghiep" | "ca_hai"
    fee: int              # VND
    weight: float         # share of volume
    late_factor: float = 1.0   # relative risk of being late


# Illustrative catalogue (codes are not the national TTHC database's). Weights: relative volume.
PROCEDURES: tuple[Procedure, ...] = (
    Procedure("2.000001", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Chứng thực", "xa", None, None, 1, "toan_trinh", "ca_hai", 2000, 15.0, 0.3),
    Procedure("2.000002", "Chứng thực chữ ký trong các giấy tờ, văn bản", "Chứng thực", "xa", None, None, 1, "mot_phan", "cong_dan", 10000, 5.0, 0.3),
    Procedure("2.000003", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền sử dụng đất và nhà ở", "Chứng thực", "xa", None, None, 2, "mot_phan", "cong_dan", 50000, 3.0, 0.6),
    Procedure("1.000101", "Đăng ký khai sinh", "Hộ tịch", "xa", None, None, 1, "toan_trinh", "cong_dan", 0, 5.0, 0.4),
    Procedure("1.000102", "Liên thông thủ tục đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi", "Hộ tịch", "xa", None, None, 5, "toan_trinh", "cong_dan", 0, 3.0, 1.2),
    Procedure("1.000103", "Đăng ký kết hôn", "Hộ tịch", "xa", None, None, 5, "toan_trinh", "cong_dan", 0, 2.5, 0.5),
    Procedure("1.000104", "Đăng ký khai tử", "Hộ tịch", "xa", None, None, 1, "toan_trinh", "cong_dan", 0, 1.5, 0.4),
    Procedure("1.000105", "Cấp giấy xác nhận tình trạng hôn nhân", "Hộ tịch", "xa", None, None, 3, "toan_trinh", "cong_dan", 0, 4.0, 0.5),
    Procedure("1.000106", "Cấp bản sao trích lục hộ tịch", "Hộ tịch", "xa", None, None, 1, "toan_trinh", "cong_dan", 8000, 3.0, 0.3),
    Procedure("1.000201", "Đăng ký hộ kinh doanh", "Đăng ký kinh doanh", "xa", None, None, 3, "toan_trinh", "cong_dan", 100000, 2.5, 0.8),
    Procedure("1.000202", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Xây dựng", "xa", None, None, 15, "mot_phan", "cong_dan", 75000, 2.5, 2.0),
    Procedure("1.000203", "Giải quyết trợ cấp xã hội hàng tháng", "Bảo trợ xã hội", "xa", None, None, 10, "mot_phan", "cong_dan", 0, 1.5, 1.5),
    Procedure("1.000204", "Đăng ký kế hoạch bảo vệ môi trường", "Môi trường", "xa", None, None, 10, "mot_phan", "doanh_nghiep", 0, 0.6, 1.5),
    Procedure("1.000301", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", "Đất đai", "tinh", "06", "16", 10, "mot_phan", "ca_hai", 50000, 9.0, 2.6),
    Procedure("1.000302", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "Đất đai", "tinh", "06", "16", 20, "mot_phan", "cong_dan", 100000, 3.0, 3.0),
    Procedure("1.000303", "Đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất", "Đất đai", "tinh", "06", "16", 3, "toan_trinh", "ca_hai", 80000, 4.0, 1.2),
    Procedure("1.000304", "Cấp giấy phép môi trường", "Môi trường", "tinh", "06", "16", 30, "mot_phan", "doanh_nghiep", 0, 0.4, 2.5),
    Procedure("1.000401", "Đăng ký thành lập doanh nghiệp", "Thành lập và hoạt động doanh nghiệp", "tinh", "04", "15", 3, "toan_trinh", "cong_dan", 50000, 2.5, 0.6),
    Procedure("1.000402", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "Thành lập và hoạt động doanh nghiệp", "tinh", "04", "15", 3, "toan_trinh", "doanh_nghiep", 50000, 4.0, 0.6),
    Procedure("1.000403", "Cấp Giấy chứng nhận đăng ký đầu tư", "Đầu tư", "tinh", "04", "15", 15, "mot_phan", "doanh_nghiep", 0, 0.4, 1.8),
    Procedure("1.000501", "Cấp, đổi giấy phép lái xe", "Đường bộ", "tinh", "09", "18", 5, "toan_trinh", "cong_dan", 135000, 7.0, 0.8),
    Procedure("1.000502", "Cấp giấy phép xây dựng công trình", "Xây dựng", "tinh", "09", None, 20, "mot_phan", "doanh_nghiep", 150000, 0.8, 2.2),
    Procedure("1.000503", "Cấp chứng chỉ hành nghề hoạt động xây dựng", "Xây dựng", "tinh", "09", None, 20, "toan_trinh", "cong_dan", 300000, 0.5, 1.5),
    Procedure("1.000601", "Giải quyết hưởng trợ cấp thất nghiệp", "Việc làm", "tinh", "03", "17", 20, "toan_trinh", "cong_dan", 0, 3.5, 1.0),
    Procedure("1.000602", "Cấp giấy phép lao động cho người lao động nước ngoài", "Việc làm", "tinh", "03", "17", 5, "toan_trinh", "doanh_nghiep", 600000, 1.0, 1.2),
    Procedure("1.000701", "Cấp Phiếu lý lịch tư pháp", "Lý lịch tư pháp", "tinh", "07", None, 10, "toan_trinh", "cong_dan", 200000, 4.0, 0.9),
    Procedure("1.000801", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "Văn bằng, chứng chỉ", "tinh", "02", None, 1, "toan_trinh", "cong_dan", 0, 1.0, 0.5),
    Procedure("1.000802", "Công nhận văn bằng do cơ sở giáo dục nước ngoài cấp", "Văn bằng, chứng chỉ", "tinh", "02", None, 20, "toan_trinh", "cong_dan", 0, 0.3, 1.5),
    Procedure("1.000901", "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", "Khám bệnh, chữa bệnh", "tinh", "10", None, 20, "mot_phan", "cong_dan", 360000, 0.6, 2.0),
    Procedure("1.000902", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "An toàn thực phẩm", "tinh", "10", None, 15, "mot_phan", "doanh_nghiep", 1000000, 0.6, 1.6),
    Procedure("1.001001", "Cấp giấy phép kinh doanh dịch vụ karaoke", "Văn hóa", "tinh", "08", None, 5, "toan_trinh", "doanh_nghiep", 4000000, 0.3, 1.0),
    Procedure("1.001101", "Cấp Giấy phép bán lẻ sản phẩm rượu", "Lưu thông hàng hóa", "tinh", "11", None, 10, "toan_trinh", "doanh_nghiep", 1200000, 0.4, 1.0),
    Procedure("1.001102", "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", "Kinh doanh khí, xăng dầu", "tinh", "11", None, 15, "mot_phan", "doanh_nghiep", 1200000, 0.2, 1.5),
    Procedure("1.001201", "Đăng ký hợp đồng chuyển giao công nghệ", "Chuyển giao công nghệ", "tinh", "12", None, 15, "toan_trinh", "doanh_nghiep", 0, 0.1, 1.0),
    Procedure("1.001202", "Cấp giấy phép thiết lập trang thông tin điện tử tổng hợp", "Thông tin điện tử", "tinh", "12", "19", 10, "toan_trinh", "doanh_nghiep", 0, 0.1, 1.2),
    Procedure("1.001301", "Giải quyết khiếu nại lần đầu", "Giải quyết khiếu nại", "tinh", "13", None, 30, "mot_phan", "cong_dan", 0, 0.3, 3.0),
    Procedure("1.001401", "Cấp Giấy chứng nhận đăng ký đầu tư trong khu công nghiệp, khu kinh tế", "Đầu tư", "tinh", "14", None, 15, "mot_phan", "doanh_nghiep", 0, 0.3, 1.3),
    Procedure("1.001402", "Cấp giấy phép lao động trong khu công nghiệp, khu kinh tế", "Việc làm", "tinh", "14", None, 5, "toan_trinh", "doanh_nghiep", 600000, 0.6, 1.0),
    Procedure("1.001501", "Cho phép tổ chức hội nghị, hội thảo quốc tế", "Ngoại vụ", "tinh", "05", None, 15, "toan_trinh", "doanh_nghiep", 0, 0.1, 1.0),
    Procedure("1.001601", "Cấp chứng nhận đủ điều kiện buôn bán thuốc bảo vệ thực vật", "Bảo vệ thực vật", "tinh", "06", "20", 15, "toan_trinh", "doanh_nghiep", 0, 0.2, 1.2),
)

# Days 0-based from Tết (first day of the lunar year); the weight applies from -2 to +4.
TET = (date(2023, 1, 22), date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17))
HOLIDAYS = {(1, 1), (4, 30), (5, 1), (9, 2), (9, 1)}
MONTH_WEIGHT = (1.08, 0.90, 1.0, 0.98, 1.0, 1.02, 1.0, 1.0, 0.98, 1.02, 1.02, 1.06)
_WEYL_ONLINE = (math.sqrt(5) - 1) / 2


def _day_weight(d: date) -> float:
    w = MONTH_WEIGHT[d.month - 1] * (1.0, 1.0, 1.0, 1.0, 1.0, 0.30, 0.10)[d.weekday()]
    if (d.month, d.day) in HOLIDAYS:
        w *= 0.1
    for tet in TET:
        if -2 <= (d - tet).days <= 4:
            w *= 0.08
    return w


def _half(d: date) -> tuple[int, int]:
    return d.year, 1 if d.month <= 6 else 2


def plan_days(sf: float, start: date = PERIOD_START, end: date = PERIOD_END) -> list[tuple[date, int]]:
    """Dossiers received per day: each year's total apportioned exactly over its days."""
    days: list[tuple[date, int]] = []
    d = start
    by_year: dict[int, list[date]] = {}
    while d < end:
        by_year.setdefault(d.year, []).append(d)
        d += timedelta(days=1)
    for year, ds in by_year.items():
        full = [date(year, 1, 1) + timedelta(days=k) for k in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
        weights_full = [_day_weight(x) * (POST_MERGER_FACTOR if x >= MERGER_DATE else 1.0) for x in full]
        total_year = DOSSIERS_PER_SF_YEAR * sf * YEAR_VOLUME.get(year, 1.0)
        covered = sum(w for x, w in zip(full, weights_full) if start <= x < end)
        total = round(total_year * covered / sum(weights_full))
        counts = _allocate(total, [_day_weight(x) * (POST_MERGER_FACTOR if x >= MERGER_DATE else 1.0) for x in ds])
        days.extend(zip(ds, counts))
    return days


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    s = float(sum(weights)) or 1.0
    raw = [total * w / s for w in weights]
    out = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))[: total - sum(out)]:
        out[i] += 1
    return out


@dataclass(frozen=True)
class Applicant:
    kind: str          # "cong_dan" | "doanh_nghiep"
    ident: str         # CCCD or tax code
    name: str
    unit_code: str     # current (post-2025) unit
    since: date | None = None   # enterprises: registration date (cannot apply before it)


_ENTERPRISE_WORDS = ("Thương mại", "Dịch vụ", "Xây dựng", "Vận tải", "Logistics", "Cơ khí", "Thủy sản", "Điện tử",
                     "Xuất nhập khẩu", "Đầu tư", "Bao bì", "Nội thất", "Du lịch", "Công nghệ", "Môi trường")
_ENTERPRISE_NAMES = ("Hải Long", "Minh Phát", "Thành Đạt", "Đông Á", "Bạch Đằng", "Hoàng Gia", "An Phú", "Phương Nam",
                     "Việt Hưng", "Lạch Tray", "Hồng Phát", "Tân Cảng", "Đình Vũ", "Nam Triệu", "Kinh Môn", "Thanh Hà",
                     "Sao Đỏ", "Cát Bà", "Đồ Sơn", "Tiên Lãng")


def _generated_enterprises(seed: int, n: int, units: Sequence[Any]) -> list[Applicant]:
    # TODO(issue 3): replace by enterprise.true_enterprises(seed, sf) once kho/sources/enterprise.py exists;
    # until then these tax codes link to nothing else.
    rng = rng_for("dossiers", seed, "enterprises")
    out: list[Applicant] = []
    seen: set[str] = set()
    while len(out) < n:
        unit = rng.choice(units)
        prefix = "02" if unit.former_province == "Hải Phòng" else "08"   # tax-office prefixes of old Hải Phòng / Hải Dương [verify]
        first9 = prefix + f"{rng.randrange(10_000_000):07d}"
        check = tax_check_digit(first9)
        if check is None or first9 in seen:
            continue
        seen.add(first9)
        form = rng.choice(("Công ty TNHH", "Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV"))
        name = f"{form} {rng.choice(_ENTERPRISE_WORDS)} {rng.choice(_ENTERPRISE_NAMES)}"
        out.append(Applicant("doanh_nghiep", f"{first9}{check}", name, unit.unit_code))
    return out


def _linked_enterprises(seed: int, sf: float, cap: int) -> list[Applicant] | None:
    """True enterprises from kho.sources.enterprise (``enterprise_directory`` or
    ``true_enterprises``), if that module exists and works; None otherwise (then the caller
    generates unlinked tax codes and says so in ``meta.enterprises_linked``)."""
    try:
        from kho.sources import enterprise  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        source = getattr(enterprise, "enterprise_directory", None) or enterprise.true_enterprises
        out: list[Applicant] = []
        for e in source(seed, sf):
            if getattr(e, "kind", "enterprise") != "enterprise" or not getattr(e, "tax_code", None):
                continue
            out.append(Applicant("doanh_nghiep", str(e.tax_code), str(e.name), str(e.unit_code),
                                 getattr(e, "registered_on", None)))
            if len(out) >= cap:
                break
    except Exception as exc:  # the sibling module is young: never let it break this system
        warnings.warn(f"dossiers: enterprise linkage unavailable ({exc!r}); generating unlinked tax codes",
                      RuntimeWarning, stacklevel=2)
        return None
    return sorted(out, key=lambda a: (a.since or date.min)) or None


class DossierGenerator:
    """Rows of the one-stop system, in receipt order. Use a fresh instance per run."""

    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 start: date = PERIOD_START, end: date = PERIOD_END) -> None:
        from kho.sources.population import PopulationGenerator

        if not (PERIOD_START <= start < end <= PERIOD_END):
            raise ValueError(f"the period must lie within {PERIOD_START} .. {PERIOD_END} (exclusive end)")
        self.seed, self.sf, self.start, self.end = seed, sf, start, end
        self.rates = {**DEFAULT_FAULT_RATES, **(fault_rates or {})}
        unknown = set(self.rates) - set(DEFAULT_FAULT_RATES)
        if unknown:
            raise ValueError(f"unknown fault types {sorted(unknown)}; known: {sorted(DEFAULT_FAULT_RATES)}")
        self.rng = rng_for("dossiers", seed, "main")
        self.fault_rng = rng_for("dossiers", seed, "faults")
        self.stats = GenerationStats(system=SYSTEM.name)
        self.units = reference.admin_units()
        by_code = reference.admin_unit_by_code()
        self.unit_name = {u.unit_code: u.unit_full_name for u in self.units}
        self.hp_units = {u.unit_code for u in self.units if u.former_province == "Hải Phòng"}
        # applicants: the first N true citizens (they are i.i.d., so the first N are a fair sample)
        pool: list[Applicant] = []
        gen = PopulationGenerator(seed=seed, sf=sf)
        for c in gen.true_citizens():
            pool.append(Applicant("cong_dan", c.cccd, c.full_name, c.unit_code))
            if len(pool) >= CITIZEN_POOL_CAP:
                break
        self.citizens = pool
        self.citizens_hp = [a for a in pool if a.unit_code in self.hp_units] or pool
        n_ent = max(50, min(ENTERPRISE_POOL_CAP, round(4_000 * sf)))
        linked = _linked_enterprises(seed, sf, n_ent)
        self.enterprises_linked = linked is not None
        self.enterprises = linked if linked is not None else _generated_enterprises(seed, n_ent, self.units)
        self.enterprises_hp = [a for a in self.enterprises if a.unit_code in self.hp_units] or self.enterprises
        self.enterprise_dates = [a.since or date.min for a in self.enterprises]
        self.enterprise_dates_hp = [a.since or date.min for a in self.enterprises_hp]
        # old (pre-2025) commune codes per current unit, from the crosswalk
        old_by_new: dict[str, list[str]] = {}
        for e in sorted(reference.crosswalk().values(), key=lambda e: e.old_unit_code):
            for new in e.candidate_unit_codes:
                old_by_new.setdefault(new, []).append(e.old_unit_code)
        self.old_by_new = old_by_new
        self.old_names = {e.old_unit_code: e for e in reference.crosswalk().values()}
        self.by_code = by_code
        self.proc_cum = list(accumulate(p.weight for p in PROCEDURES))
        # normalise late factors so the volume-weighted mean is 1 (keeps the overall on-time share)
        mean_late = sum(p.weight * p.late_factor for p in PROCEDURES) / self.proc_cum[-1]
        self.late_factor = [p.late_factor / mean_late for p in PROCEDURES]
        # department number -> its name (the latest incarnation of a code that changed remit)
        self.dept_name = {a.code.split(".")[2]: a.name_vi for a in sorted(agencies_ref.agencies(), key=lambda a: a.valid_from)
                          if a.kind == "department" and a.code.endswith(PROVINCE_SUFFIX)}
        self.plan = plan_days(sf, start, end)
        # Sundays are online only: raise the weekday online threshold so each half-year hits its target.
        seg_total: Counter = Counter()
        seg_sunday: Counter = Counter()
        for d, k in self.plan:
            seg_total[_half(d)] += k
            if d.weekday() == 6:
                seg_sunday[_half(d)] += k
        self.online_threshold = {}
        for seg, total in seg_total.items():
            p = TARGETS[seg][0]
            rest = total - seg_sunday[seg]
            self.online_threshold[seg] = min(1.0, max(0.0, (p * total - seg_sunday[seg]) / rest)) if rest else p
        self.pending_updates: list[tuple[int, str, str | None, str]] = []
        self._weyl_base = rng_for("dossiers", seed, "weyl").random()
        self._working_cache: dict[tuple[date, int], date] = {}

    # -- calendar helpers -------------------------------------------------------------------
    def _add_working_days(self, d: date, n: int) -> date:
        key = (d, n)
        hit = self._working_cache.get(key)
        if hit is None:
            x = d
            left = n
            while left > 0:
                x += timedelta(days=1)
                if x.weekday() < 5:
                    left -= 1
            self._working_cache[key] = hit = x
        return hit

    def _office_time(self, dt: datetime) -> datetime:
        """Officers act in office hours (07:30-17:30 on working days): later times move to the
        next opening, spread over its first three hours."""
        d = dt.date()
        tod = dt.hour * 3600 + dt.minute * 60 + dt.second
        if d.weekday() < 5 and 27_000 <= tod <= 63_000:
            return dt
        nxt = d if (d.weekday() < 5 and tod < 27_000) else self._add_working_days(d, 1)
        return datetime(nxt.year, nxt.month, nxt.day) + timedelta(seconds=27_000 + self.rng.randrange(0, 10_800))

    def _agency(self, proc: Procedure, unit_code: str, on: date) -> tuple[str, str, str]:
        """(agency code, agency name, dossier unit code) for a procedure handled on ``on``."""
        if on < MERGER_DATE:
            olds = self.old_by_new.get(unit_code)
            old = self._pick_old(unit_code, olds) if olds else unit_code
            entry = self.old_names.get(old)
        else:
            old, entry = unit_code, None
        if proc.level == "xa":
            if entry is not None:
                kind = {"phuong": "Phường", "xa": "Xã", "thi_tran": "Thị trấn"}[entry.old_unit_type]
                return commune_agency_code(old), f"UBND {kind} {entry.old_unit_name}", old
            return commune_agency_code(unit_code), f"UBND {self.unit_name[unit_code]}", old
        nn = proc.old_dept if (proc.old_dept and on < DEPARTMENT_REFORM_DATE) else proc.dept
        return department_code(nn), self.dept_name[nn], old

    def _pick_old(self, unit_code: str, olds: list[str]) -> str:
        # before the merger only old Hải Phòng units are in this system; prefer them
        hp = [o for o in olds if self.old_names[o].old_province == "Hải Phòng"] or olds
        return hp[self.rng.randrange(len(hp))]

    # -- rows ---------------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[Any, ...]]:
        rng, frng, rates, stats = self.rng, self.fault_rng, self.rates, self.stats
        rid = 0
        online_k = Counter()
        late_k: Counter = Counter()
        late_acc: Counter = Counter()
        dup_pending: list[dict[str, Any]] = []
        for day, count in self.plan:
            if count == 0:
                continue
            seg = _half(day)
            online_p = self.online_threshold[seg]
            on_time_p = TARGETS[seg][1]
            pre_merger = day < MERGER_DATE
            weekday = day.weekday()
            # receipt times of the day, sorted, so sequence numbers follow time
            items = []
            for _ in range(count):
                k = online_k[seg]
                online_k[seg] += 1
                online = weekday == 6 or ((k * _WEYL_ONLINE + self._weyl_base) % 1.0) < online_p
                if online:
                    sec = rng.randrange(7 * 3600, 22 * 3600) if rng.random() < 0.8 else rng.randrange(0, 86400)
                elif weekday == 5:
                    sec = rng.randrange(int(7.5 * 3600), int(11.5 * 3600))
                else:
                    sec = rng.randrange(int(7.5 * 3600), int(11.5 * 3600)) if rng.random() < 0.6 else \
                        rng.randrange(int(13.5 * 3600), 17 * 3600)
                items.append((sec, online))
            items.sort()
            seq_by_agency: Counter = Counter()
            base = datetime(day.year, day.month, day.day)
            for sec, online in items:
                received = base + timedelta(seconds=sec)
                proc_i = bisect.bisect_right(self.proc_cum, rng.random() * self.proc_cum[-1])
                proc = PROCEDURES[min(proc_i, len(PROCEDURES) - 1)]
                kind = proc.applicant
                if kind == "ca_hai":
                    kind = "doanh_nghiep" if rng.random() < 0.25 else "cong_dan"
                if kind == "cong_dan":
                    pool = self.citizens_hp if pre_merger else self.citizens
                    applicant = pool[rng.randrange(len(pool))]
                else:
                    pool = self.enterprises_hp if pre_merger else self.enterprises
                    dates = self.enterprise_dates_hp if pre_merger else self.enterprise_dates
                    eligible = bisect.bisect_right(dates, day) or len(pool)   # registered by that day
                    applicant = pool[rng.randrange(eligible)]
                agency, agency_name, unit = self._agency(proc, applicant.unit_code, day)
                seq_by_agency[agency] += 1
                ma = f"{agency}-{day:%y%m%d}-{seq_by_agency[agency]:04d}"
                channel = "truc_tuyen" if online else ("buu_chinh" if rng.random() < POSTAL_SHARE_OF_OFFLINE else "truc_tiep")
                start_day = day if weekday < 5 else self._add_working_days(day, 1)
                due_day = self._add_working_days(start_day, proc.days)
                due = datetime(due_day.year, due_day.month, due_day.day, 17, 0, 0)
                # outcome
                if rng.random() < RETURNED_SHARE:
                    status = "tra_lai"
                    done = self._office_time(received + timedelta(seconds=rng.randrange(2 * 3600, 3 * 86400)))
                else:
                    # randomised error diffusion: late with probability ~ the procedure's risk, and the
                    # segment's late count never drifts more than one dossier from its target
                    late_acc[seg] += (1 - on_time_p) * self.late_factor[min(proc_i, len(PROCEDURES) - 1)]
                    late = late_acc[seg] - late_k[seg] > rng.random()
                    if late:
                        late_k[seg] += 1
                    span = max(3600.0, (due - received).total_seconds())
                    if late:
                        status = "da_giai_quyet_qua_han"
                        done = self._office_time(due + timedelta(seconds=3600 + rng.expovariate(1 / (3 * 86400))))
                    else:
                        status = "da_giai_quyet_dung_han"
                        done = self._office_time(received + timedelta(seconds=span * rng.uniform(0.25, 0.98)))
                        if done > due:
                            done = due - timedelta(seconds=rng.randrange(60, 4 * 3600))
                        if done < received:
                            done = received + timedelta(seconds=rng.randrange(600, 3600))
                lag = timedelta(seconds=rng.randrange(60, 90 * 60))
                updated = done + lag
                if frng.random() < rates["late_update"]:
                    updated = done + timedelta(seconds=frng.randrange(2 * 86400, 45 * 86400))
                    stats.faults["late_update"] += 1
                rid += 1
                row: dict[str, Any] = {
                    "id": rid, "ma_ho_so": ma, "ma_thu_tuc": proc.code, "ten_thu_tuc": proc.name, "linh_vuc": proc.field,
                    "co_quan": agency, "ten_co_quan": agency_name, "ma_dvhc": unit, "hinh_thuc_nop": channel,
                    "ngay_tiep_nhan": received.isoformat(" "), "han_giai_quyet": due.isoformat(" "),
                    "ngay_tra_ket_qua": done.isoformat(" ", "seconds"), "trang_thai": status,
                    "loai_chu_the": applicant.kind, "so_giay_to": applicant.ident, "ten_chu_the": applicant.name,
                    "cap_nhat_luc": updated.isoformat(" ", "seconds"),
                }
                if updated > AS_OF:
                    # not yet visible at the snapshot: the row shows the last state before AS_OF,
                    # the final state waits in ho_so_cap_nhat for the API to reveal it
                    self.pending_updates.append((rid, status, row["ngay_tra_ket_qua"], row["cap_nhat_luc"]))
                    step = min(AS_OF - timedelta(seconds=1), received + timedelta(seconds=rng.randrange(600, 86400)))
                    row.update(trang_thai="dang_xu_ly", ngay_tra_ket_qua=None,
                               cap_nhat_luc=max(received, step).isoformat(" ", "seconds"))
                stats.links["citizen_ok" if applicant.kind == "cong_dan" else
                            ("enterprise_ok" if self.enterprises_linked else "enterprise_generated")] += 1
                self._alter(row, applicant, pre_merger)
                yield tuple(row[c] for c in COLUMNS)
                # duplicates: re-synced copies arrive a few rows later
                draw = frng.random()
                if draw < rates["exact_duplicate"]:
                    stats.faults["exact_duplicate"] += 1
                    dup_pending.append(dict(row))
                elif draw < rates["exact_duplicate"] + rates["near_duplicate"]:
                    stats.faults["near_duplicate"] += 1
                    near = dict(row)
                    variant = frng.random()
                    if variant < 0.4 and near["ten_chu_the"]:
                        near["ten_chu_the"] = fold_diacritics(near["ten_chu_the"]).upper()
                    elif variant < 0.7:
                        near["hinh_thuc_nop"] = {"truc_tuyen": "Trực tuyến", "truc_tiep": "Trực tiếp",
                                                 "buu_chinh": "Bưu chính"}[near["hinh_thuc_nop"]]
                    else:
                        near["ten_co_quan"] = fold_diacritics(near["ten_co_quan"])
                    dup_pending.append(near)
                if dup_pending and frng.random() < 0.2:
                    dup = dup_pending.pop(0)
                    rid += 1
                    dup["id"] = rid
                    yield tuple(dup[c] for c in COLUMNS)
        for dup in dup_pending:
            rid += 1
            dup["id"] = rid
            yield tuple(dup[c] for c in COLUMNS)

    def _alter(self, row: dict[str, Any], applicant: Applicant, pre_merger: bool) -> None:
        frng, rates, faults = self.fault_rng, self.rates, self.stats.faults
        if frng.random() < rates["missing_dates"]:
            faults["missing_dates"] += 1
            row[frng.choice(("ngay_tiep_nhan", "han_giai_quyet"))] = frng.choice((None, ""))
        if row["trang_thai"] in ("da_giai_quyet_dung_han", "da_giai_quyet_qua_han") and \
                frng.random() < rates["resolved_without_return_date"]:
            faults["resolved_without_return_date"] += 1
            row["ngay_tra_ket_qua"] = None
        if not pre_merger and frng.random() < rates["old_admin_unit"]:
            olds = [o for o in self.old_by_new.get(row["ma_dvhc"], []) if o != row["ma_dvhc"]]
            if olds:
                faults["old_admin_unit"] += 1
                row["ma_dvhc"] = olds[frng.randrange(len(olds))]
        if frng.random() < rates["applicant_id_malformed"]:
            faults["applicant_id_malformed"] += 1
            ident = row["so_giay_to"]
            row["so_giay_to"] = frng.choice((ident[:-1], " " + ident, ident[:4] + " " + ident[4:], ident + "0"))


def catalogue_rows() -> list[tuple[Any, ...]]:
    return [(p.code, p.name, p.field, p.level, department_code(p.dept) if p.dept else "UBND cấp xã", p.days, p.online,
             p.applicant, p.fee) for p in PROCEDURES]


def agency_rows() -> list[tuple[Any, ...]]:
    """The ``co_quan`` table: the city's departments and commune People's Committees of the
    shared agency catalogue (``kho/reference/agencies.csv``), in its order."""
    rows: list[tuple[Any, ...]] = []
    for a in agencies_ref.agencies():
        if a.kind not in ("department", "commune_pc") or not a.code.endswith(PROVINCE_SUFFIX):
            continue
        rows.append((a.code, a.name_vi, "tinh" if a.kind == "department" else "xa", agencies_ref.unit_code_of(a.code),
                     a.valid_from.isoformat(), a.valid_to.isoformat() if a.valid_to else None, a.successor_code))
    return rows


def db_path(target: str | Path) -> Path:
    return Path(target) / "dossiers" / DB_NAME


def generate(target: str | Path, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             start: date = PERIOD_START, end: date = PERIOD_END, chunk_rows: int = 20_000,
             progress: Any = None) -> GenerationStats:
    """(Re)create ``<target>/dossiers/tthc.sqlite``; returns what was generated."""
    started = time.perf_counter()
    gen = DossierGenerator(seed=seed, sf=sf, fault_rates=fault_rates, start=start, end=end)
    path = db_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA page_size=4096")
        for ddl in DDL:
            con.execute(ddl)
        insert = f"INSERT INTO ho_so ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        chunk: list[tuple[Any, ...]] = []
        for row in gen.rows():
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                con.executemany(insert, chunk)
                gen.stats.rows["ho_so"] += len(chunk)
                chunk.clear()
                if progress:
                    progress(gen.stats.rows["ho_so"])
        con.executemany(insert, chunk)
        gen.stats.rows["ho_so"] += len(chunk)
        updates = sorted(gen.pending_updates, key=lambda u: (u[3], u[0]))
        con.executemany("INSERT INTO ho_so_cap_nhat (seq, ho_so_id, trang_thai, ngay_tra_ket_qua, cap_nhat_luc) "
                        "VALUES (?, ?, ?, ?, ?)", [(i + 1, *u) for i, u in enumerate(updates)])
        gen.stats.rows["ho_so_cap_nhat"] = len(updates)
        con.executemany("INSERT INTO thu_tuc VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", catalogue_rows())
        gen.stats.rows["thu_tuc"] = len(PROCEDURES)
        agencies = agency_rows()
        con.executemany("INSERT INTO co_quan VALUES (?, ?, ?, ?, ?, ?, ?)", agencies)
        gen.stats.rows["co_quan"] = len(agencies)
        for ddl in INDEXES:
            con.execute(ddl)
        meta = {"system": SYSTEM.name, "seed": seed, "sf": sf, "as_of": AS_OF.isoformat(), "start": start.isoformat(),
                "end": end.isoformat(), "faults": json.dumps(gen.rates, sort_keys=True),
                "enterprises_linked": str(gen.enterprises_linked).lower()}
        con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in sorted(meta.items())])
        con.commit()
    finally:
        con.close()
    gen.stats.seconds = time.perf_counter() - started
    write_manifest(path.parent, SYSTEM.name, seed, sf, gen.stats)
    return gen.stats


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(description="Generate the TTHC dossier database")
    parser.add_argument("target")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sf", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(generate(args.target, seed=args.seed, sf=args.sf).as_dict(), ensure_ascii=False, indent=2))
