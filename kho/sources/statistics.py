"""City socio-economic statistics, generated as the statistics office publishes them: XLSX workbooks.

Owner: the city statistics office (Cục Thống kê thành phố Hải Phòng until 02/2025, Chi cục
Thống kê from 03/2025, "Thống kê thành phố Hải Phòng" from 07/2025 - the naming follows what the
office printed [external - verify]); budget figures come from Sở Tài chính, which now also
houses socio-economic planning. The drop is ``<target>/statistics/``:

* ``KTXH_thang_MM_YYYY.xlsx``: one workbook per month, 01/2023 to 10/2026 (46 files): budget,
  banking, IIP, retail and tourism, transport, trade, CPI, investment and enterprises, public
  order. Sheets have a title block, two header rows with merged cells, Vietnamese labels with
  indentation, "Trong đó:" rows without values, footnotes, thousands formatting.
* ``KTXH_quy_Q_YYYY.xlsx``: one workbook per quarter, Q1/2023 to Q3/2026 (15 files): GRDP at
  current and constant 2010 prices by sector, realised investment by ownership, population and
  labour, social insurance and annual social / environmental indicators (Q4 only).

Magnitudes. 2024 is the seed's PRE-merger Hải Phòng (digest §3, checklist item 84): the
December year-to-date column equals the seed's annual figure exactly, to the rounding shown
(retail 225.784,2; budget revenue 118.255,3; GRDP 445.995 current and 288.492 constant, growth
11,01%; investment 211.481; CPI average +3,11%; population 2.124 nghìn...). Monthly (or
quarterly) values are integers in the display unit (0,1 tỷ đồng ...) allocated with the
largest-remainder method, so the months add up to the year with no rounding drift. Other
years follow documented growth assumptions (``FLOWS`` etc., marked derived where the seed is
silent). From 07/2025 (Q3/2025) every figure is for the MERGED city (NQ 202/2025/QH15, Hải
Phòng + Hải Dương) and the "same period last year" columns are recomputed on the merged
scope, as a footnote says. The merged scope is the pre-merger series times a per-indicator
factor (``merged``), a plausible placeholder [derived - replace with published figures]: the
seed gives no Hải Dương figures. Statistics do not scale with ``sf`` (they are city
aggregates); the seed only varies the seasonal noise, never an anchored total.

How a naive reader breaks (read this before writing an ingestion):

* ``pandas.read_excel(path)`` reads the FIRST sheet, which is the cover ("Bia"), not data.
* With a data sheet but no ``skiprows``, the agency line becomes the header ("CỤC THỐNG KÊ ...",
  "Unnamed: 1" ...), the title and period rows become data rows, and every numeric column is
  ``object`` dtype.
* Header cells are merged over two rows: openpyxl returns the value only in the top-left cell
  of a merged range and ``None`` in the others; pandas with ``header=[4, 5]`` forward-fills
  across merged top cells but names the single-row columns ``Unnamed: ...``. Build column
  names yourself: ``skiprows=DATA_START_ROW - 1, header=None`` and the fixed column layout
  documented in ``FLOW_COLUMNS`` / ``INDEX_COLUMNS`` / ``STOCK_COLUMNS``.
* Labels carry indentation and prefixes ("  - Thu nội địa", "Trong đó:"); "Trong đó:" rows and
  section rows ("A. Theo giá hiện hành") have no values. Match on stripped labels, or better
  use ``ROW_CODES`` (sheet, label) -> indicator code.
* Footnotes follow the data after one blank row ("Ghi chú: ...", "Nguồn: ..."): stop at the
  first empty label.
* Values are numbers with a thousands format (``#,##0.0``), but a few cells (fault
  ``text_number``) are text typed the Vietnamese way, "18.234,5" (dot = thousands, comma =
  decimal): ``float()`` fails or, worse, reads "1.234" as 1.234. Use :func:`parse_vn_number`.
  Unavailable values are "..", not-applicable ones "-".
* "So với cùng kỳ (%)" columns are INDICES (previous year = 100: 113,58), not growth rates
  (13,58). The catalogue's ``*_GROWTH`` and ``CPI_YOY`` are index - 100.
* From 07/2025 the scope changes: summing the 2025 monthly columns across workbooks mixes two
  cities. Use the year-to-date column of the latest workbook.

:func:`read_workbook` is a reader that handles all of the above; tests use it and the raw APIs.
"""

from __future__ import annotations

import io
import math
import random
import re
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kho.sources.base import GenerationStats, SourceSystem, rng_for, write_manifest

SYSTEM = SourceSystem(
    name="statistics",
    title="City socio-economic statistics (monthly and quarterly workbooks)",
    title_vi="Số liệu thống kê kinh tế - xã hội thành phố (báo cáo tháng, quý)",
    owner="Thống kê thành phố Hải Phòng / Sở Tài chính (city statistics office, under the Department of Finance)",
    form="file_drop",
    engine=None,
    objects={
        "KTXH_thang_MM_YYYY.xlsx": ("file", "sheet", "label"),
        "KTXH_quy_Q_YYYY.xlsx": ("file", "sheet", "label"),
    },
    description="One XLSX workbook per month (01/2023-10/2026) and per quarter (GRDP; Q1/2023-Q3/2026).",
)

FIRST_MONTH = (2023, 1)
LAST_MONTH = (2026, 10)
LAST_QUARTER = (2026, 3)
MERGER = (2025, 7)                 # first month reported for the merged city
DEFAULT_FAULT_RATES: dict[str, float] = {"text_number": 0.01}   # share of numeric data cells typed as text

# Layout (1-based rows): title block rows 1-4, headers 5-6, data from 7.
TITLE_ROWS = 4
HEADER_ROWS = (5, 6)
DATA_START_ROW = 7
FLOW_COLUMNS = ("label", "unit", "period", "period_last_year", "ytd", "ytd_last_year", "index_period", "index_ytd")
INDEX_COLUMNS = ("label", "index_prev_month", "index_same_month_last_year", "index_december_last_year", "index_ytd")
STOCK_COLUMNS = ("label", "unit", "end_of_period", "end_of_period_last_year", "index_same_time_last_year",
                 "index_end_of_last_year")
_FIXED_TIME = (2026, 11, 1, 0, 0, 0)   # zip entry and document timestamps: same bytes every run
UNAVAILABLE = ".."
NOT_APPLICABLE = "-"


def _agency(y: int, m: int) -> str:
    if (y, m) < (2025, 3):
        return "CỤC THỐNG KÊ THÀNH PHỐ HẢI PHÒNG"
    if (y, m) < MERGER:
        return "CHI CỤC THỐNG KÊ THÀNH PHỐ HẢI PHÒNG"
    return "THỐNG KÊ THÀNH PHỐ HẢI PHÒNG"


# -- series specifications (values in display units; 2024 = seed anchors, pre-merger city) -------

# Monthly seasonal profiles (Jan..Dec), relative.
PROFILES: dict[str, tuple[float, ...]] = {
    "retail": (1.06, 0.96, 0.93, 0.95, 0.98, 0.99, 1.01, 1.02, 0.99, 1.01, 1.03, 1.10),
    "revenue": (1.12, 0.80, 0.92, 1.02, 0.95, 0.98, 1.00, 0.97, 0.96, 1.01, 1.00, 1.27),
    "spending": (0.55, 0.60, 0.78, 0.82, 0.85, 0.95, 0.95, 0.95, 1.00, 1.10, 1.25, 2.20),
    "tourism": (0.70, 0.85, 0.65, 0.90, 1.25, 1.45, 1.50, 1.30, 0.85, 0.80, 0.78, 0.97),
    "trade": (0.92, 0.78, 1.00, 0.98, 1.00, 1.02, 1.03, 1.05, 1.04, 1.06, 1.05, 1.07),
    "flat": (1.00, 0.92, 1.00, 0.98, 1.00, 1.00, 1.01, 1.02, 1.00, 1.01, 1.01, 1.05),
    "lumpy": (0.8, 0.6, 1.1, 0.9, 1.0, 1.3, 0.7, 1.0, 1.2, 0.9, 1.1, 1.4),
    "events": (1.15, 1.20, 0.95, 0.95, 0.95, 0.95, 1.00, 0.95, 0.95, 0.95, 0.95, 1.05),
}
QUARTER_PROFILE = (0.22, 0.245, 0.255, 0.28)


@dataclass(frozen=True)
class Flow:
    """A flow indicator (summed over months or quarters)."""

    code: str
    label: str
    unit: str
    decimals: int
    anchor: str                          # 2024 value, pre-merger city (exact, display units)
    growth: dict[int, float]             # growth of year y over y-1 (y = 2023..2026)
    profile: str = "flat"
    merged: float = 1.3                  # merged-city scope / pre-merger scope [derived]
    noise: float = 0.03


# Growth of 2024 is the seed's where it gives one; every other number here is an assumption.
FLOWS: tuple[Flow, ...] = (
    Flow("BUDGET_REVENUE", "Tổng thu ngân sách Nhà nước trên địa bàn", "Tỷ đồng", 1, "118255.3",
         {2023: -0.04, 2024: 0.085, 2025: 0.16, 2026: 0.08}, "revenue", 1.22),
    Flow("BUDGET_REVENUE_DOMESTIC", "Thu nội địa", "Tỷ đồng", 1, "50068.0",
         {2023: 0.02, 2024: 0.12, 2025: 0.22, 2026: 0.09}, "revenue", 1.45),
    Flow("BUDGET_REVENUE_IMPORT_EXPORT", "Thu từ hoạt động xuất nhập khẩu", "Tỷ đồng", 1, "67046.3",
         {2023: -0.08, 2024: 0.06, 2025: 0.11, 2026: 0.07}, "revenue", 1.03),
    Flow("BUDGET_EXPENDITURE", "Tổng chi ngân sách địa phương", "Tỷ đồng", 1, "39407.7",
         {2023: 0.10, 2024: 0.09, 2025: 0.12, 2026: 0.08}, "spending", 1.60),
    Flow("BUDGET_EXPENDITURE_INVESTMENT", "Chi đầu tư phát triển", "Tỷ đồng", 1, "18912.6",
         {2023: 0.14, 2024: 0.11, 2025: 0.15, 2026: 0.10}, "spending", 1.55),
    Flow("BUDGET_EXPENDITURE_RECURRENT", "Chi thường xuyên", "Tỷ đồng", 1, "16076.2",
         {2023: 0.06, 2024: 0.07, 2025: 0.09, 2026: 0.07}, "spending", 1.75),
    Flow("RETAIL_GOODS", "Doanh thu bán lẻ hàng hóa", "Tỷ đồng", 1, "187683.8",
         {2023: 0.12, 2024: 0.1413, 2025: 0.145, 2026: 0.12}, "retail", 1.40),
    Flow("ACCOMMODATION_REVENUE", "Doanh thu dịch vụ lưu trú", "Tỷ đồng", 1, "2572.1",
         {2023: 0.15, 2024: 0.1314, 2025: 0.16, 2026: 0.12}, "tourism", 1.15),
    Flow("FOOD_SERVICE_REVENUE", "Doanh thu dịch vụ ăn uống", "Tỷ đồng", 1, "24090.8",
         {2023: 0.14, 2024: 0.1366, 2025: 0.15, 2026: 0.12}, "retail", 1.35),
    Flow("TRAVEL_SERVICE_REVENUE", "Doanh thu du lịch lữ hành và dịch vụ hỗ trợ", "Tỷ đồng", 1, "275.9",
         {2023: 0.20, 2024: 0.0987, 2025: 0.12, 2026: 0.10}, "tourism", 1.10),
    Flow("OTHER_SERVICE_REVENUE", "Doanh thu dịch vụ khác", "Tỷ đồng", 1, "11161.6",
         {2023: 0.06, 2024: 0.0516, 2025: 0.07, 2026: 0.06}, "retail", 1.40),
    Flow("VISITORS_SERVED", "Tổng lượt khách do các cơ sở lưu trú và lữ hành phục vụ", "Nghìn lượt", 1, "9103.0",
         {2023: 0.18, 2024: 0.1452, 2025: 0.15, 2026: 0.10}, "tourism", 1.15),
    Flow("INTERNATIONAL_VISITORS", "Khách quốc tế", "Nghìn lượt", 1, "987.8",
         {2023: 0.35, 2024: 0.0122, 2025: 0.05, 2026: 0.06}, "tourism", 1.08),
    Flow("FREIGHT_CARRIED", "Khối lượng hàng hóa vận chuyển", "Nghìn tấn", 1, "321500.0",
         {2023: 0.09, 2024: 0.0943, 2025: 0.10, 2026: 0.09}, "trade", 1.25),
    Flow("PASSENGERS_CARRIED", "Số lượt hành khách vận chuyển", "Nghìn lượt", 1, "85500.0",
         {2023: 0.22, 2024: 0.1952, 2025: 0.14, 2026: 0.10}, "tourism", 1.50),
    # Export: the seed gives only the growth (+19,91%); the level and all of imports are derived.
    Flow("EXPORT_TURNOVER", "Kim ngạch xuất khẩu hàng hóa", "Triệu USD", 1, "33500.0",
         {2023: 0.06, 2024: 0.1991, 2025: 0.16, 2026: 0.12}, "trade", 1.42),
    Flow("IMPORT_TURNOVER", "Kim ngạch nhập khẩu hàng hóa", "Triệu USD", 1, "27200.0",
         {2023: 0.04, 2024: 0.15, 2025: 0.14, 2026: 0.11}, "trade", 1.35),
    Flow("FDI_REGISTERED", "Tổng vốn đầu tư trực tiếp nước ngoài thu hút", "Triệu USD", 2, "4909.36",
         {2023: 0.20, 2024: 0.57, 2025: -0.10, 2026: 0.08}, "lumpy", 1.25, 0.35),
    Flow("FDI_NEW_PROJECTS", "Số dự án FDI cấp mới", "Dự án", 0, "126",
         {2023: 0.10, 2024: 0.05, 2025: 0.08, 2026: 0.05}, "lumpy", 1.40, 0.25),
    Flow("NEW_ENTERPRISES", "Số doanh nghiệp đăng ký thành lập mới", "Doanh nghiệp", 0, "4350",
         {2023: 0.05, 2024: 0.08, 2025: 0.10, 2026: 0.07}, "flat", 1.45, 0.06),
    Flow("NEW_ENTERPRISE_CAPITAL", "Vốn đăng ký của doanh nghiệp thành lập mới", "Tỷ đồng", 1, "52000.0",
         {2023: 0.03, 2024: 0.10, 2025: 0.09, 2026: 0.07}, "lumpy", 1.35, 0.15),
    Flow("TRAFFIC_ACCIDENTS", "Số vụ tai nạn giao thông", "Vụ", 0, "516",
         {2023: -0.05, 2024: 516 / 564 - 1, 2025: -0.05, 2026: -0.04}, "events", 1.90, 0.10),
    Flow("TRAFFIC_DEATHS", "Số người chết", "Người", 0, "229",
         {2023: -0.06, 2024: 229 / 280 - 1, 2025: -0.05, 2026: -0.04}, "events", 1.90, 0.12),
    Flow("TRAFFIC_INJURED", "Số người bị thương", "Người", 0, "380",
         {2023: -0.05, 2024: 380 / 405 - 1, 2025: -0.04, 2026: -0.03}, "events", 1.90, 0.12),
    Flow("FIRES", "Số vụ cháy", "Vụ", 0, "247",
         {2023: 0.10, 2024: 247 / 112 - 1, 2025: -0.20, 2026: -0.05}, "events", 1.50, 0.20),
)
RETAIL_PARTS = ("RETAIL_GOODS", "ACCOMMODATION_REVENUE", "FOOD_SERVICE_REVENUE", "TRAVEL_SERVICE_REVENUE",
                "OTHER_SERVICE_REVENUE")   # RETAIL_SALES = their sum (seed: 187.683,8 + ... = 225.784,2)


@dataclass(frozen=True)
class Index:
    """An index series (IIP, CPI): year-average (or year-total) ratio anchored per year."""

    code: str
    label: str
    ratio: dict[int, float]              # mean level of year y / mean level of y-1
    merged: float = 1.0                  # indices keep their level after the merger (scope note only)
    amplitude: float = 0.03
    noise: float = 0.01


IIP_SERIES: tuple[Index, ...] = (
    Index("IIP_GROWTH", "Toàn ngành công nghiệp", {2023: 1.0412, 2024: 1.1543, 2025: 1.145, 2026: 1.12}, amplitude=0.06),
    Index("IIP_MINING", "Khai khoáng", {2023: 0.93, 2024: 0.7254, 2025: 0.90, 2026: 0.97}, amplitude=0.05, noise=0.04),
    Index("IIP_MANUFACTURING", "Công nghiệp chế biến, chế tạo", {2023: 1.045, 2024: 1.1628, 2025: 1.155, 2026: 1.13}, amplitude=0.06),
    Index("IIP_ELECTRICITY", "Sản xuất và phân phối điện, khí đốt, nước nóng, hơi nước và điều hòa không khí",
          {2023: 1.02, 2024: 0.9695, 2025: 0.94, 2026: 1.03}, amplitude=0.10),
    Index("IIP_WATER", "Cung cấp nước; hoạt động quản lý và xử lý rác thải, nước thải",
          {2023: 1.03, 2024: 1.0188, 2025: 1.04, 2026: 1.03}, amplitude=0.03),
)
CPI_SERIES: tuple[Index, ...] = (
    Index("CPI_YOY", "Chỉ số giá tiêu dùng chung", {2023: 1.0322, 2024: 1.0311, 2025: 1.0330, 2026: 1.0300},
          amplitude=0.004, noise=0.002),
    Index("CPI_FOOD", "Hàng ăn và dịch vụ ăn uống", {2023: 1.035, 2024: 1.042, 2025: 1.045, 2026: 1.03},
          amplitude=0.01, noise=0.004),
    Index("CPI_HOUSING", "Nhà ở, điện, nước, chất đốt và vật liệu xây dựng", {2023: 1.055, 2024: 1.048, 2025: 1.06, 2026: 1.04},
          amplitude=0.006, noise=0.003),
    Index("CPI_TRANSPORT", "Giao thông", {2023: 0.985, 2024: 0.995, 2025: 0.97, 2026: 1.01}, amplitude=0.01, noise=0.006),
    Index("CPI_EDUCATION", "Giáo dục", {2023: 1.07, 2024: 1.065, 2025: 1.04, 2026: 1.03}, amplitude=0.005, noise=0.002),
    Index("GOLD_PRICE_INDEX", "Chỉ số giá vàng", {2023: 1.08, 2024: 1.3259, 2025: 1.40, 2026: 1.10}, amplitude=0.02, noise=0.015),
    Index("USD_PRICE_INDEX", "Chỉ số giá đô la Mỹ", {2023: 1.03, 2024: 1.047, 2025: 1.035, 2026: 1.02}, amplitude=0.003, noise=0.002),
)


@dataclass(frozen=True)
class Stock:
    """An end-of-month balance (deposits, loans): the December 2024 value is anchored."""

    code: str
    label: str
    unit: str
    decimals: int
    anchor_dec_2024: str
    growth: dict[int, float]             # December over previous December
    merged: float


STOCKS: tuple[Stock, ...] = (
    Stock("DEPOSITS", "Tổng nguồn vốn huy động trên địa bàn", "Tỷ đồng", 0, "361583",
          {2023: 0.10, 2024: 0.0965, 2025: 0.11, 2026: 0.10}, 1.60),
    Stock("OUTSTANDING_LOANS", "Tổng dư nợ cho vay", "Tỷ đồng", 0, "249321",
          {2023: 0.11, 2024: 0.205, 2025: 0.15, 2026: 0.13}, 1.75),
)

# GRDP (quarterly): 2024 structure at current prices (seed ~727-730) and sector growth at
# constant prices with their contributions (seed ~672-676; contribution / growth = 2023 share).
GRDP_SECTORS = (
    # code, label, current share 2024 (%), constant growth 2024, contribution (pp)
    ("GRDP_AGRI", "Nông, lâm nghiệp và thủy sản", 3.15, -0.034, -0.10),
    ("GRDP_INDUSTRY_CONSTRUCTION", "Công nghiệp và xây dựng", 53.08, 0.1369, 7.57),
    ("GRDP_SERVICES", "Dịch vụ", 38.52, 0.0866, 3.14),
    ("GRDP_PRODUCT_TAX", "Thuế sản phẩm trừ trợ cấp sản phẩm", 5.25, 0.0721, 0.40),
)
GRDP_CURRENT_2024 = 445_995
GRDP_CONSTANT_2024 = 288_492
GRDP_GROWTH_2024 = 0.1101
GRDP_GROWTH = {2023: 0.1034, 2025: 0.115, 2026: 0.11}      # total constant-price growth, other years [derived]
GRDP_DEFLATOR_GROWTH = 0.03
GRDP_MERGED = 1.35

INVESTMENT_PARTS = (
    ("INVESTMENT_STATE", "Khu vực Nhà nước", "29351.0", {2023: 0.02, 2024: -0.0055, 2025: 0.12, 2026: 0.10}, 1.45),
    ("INVESTMENT_NON_STATE", "Khu vực ngoài Nhà nước", "72841.7", {2023: 0.08, 2024: 0.2042, 2025: 0.14, 2026: 0.11}, 1.40),
    ("INVESTMENT_FDI", "Khu vực có vốn đầu tư trực tiếp nước ngoài", "109288.3", {2023: 0.09, 2024: 0.0704, 2025: 0.10, 2026: 0.09}, 1.25),
)

# Quarterly levels averaged over the year (labour) and annual social indicators.
LABOUR = (
    # code, label, unit, decimals, 2024 annual average, growth by year, merged factor
    ("LABOUR_FORCE", "Lực lượng lao động từ 15 tuổi trở lên", "Nghìn người", 1, "1050.6",
     {2023: 0.008, 2024: 0.0076, 2025: 0.008, 2026: 0.007}, 2.20),
    ("EMPLOYED", "Lao động từ 15 tuổi trở lên đang làm việc", "Nghìn người", 1, "1030.1",
     {2023: 0.009, 2024: 0.0097, 2025: 0.008, 2026: 0.007}, 2.20),
)
SOCIAL_INSURANCE_2024 = 1_987_356
ANNUAL_SOCIAL = (
    # code, label, unit, decimals, {year: value pre-merger or merged from 2025}
    ("POPULATION", "Dân số trung bình", "Nghìn người", 1, {2022: "2088.0", 2023: "2105.0", 2024: "2124.0", 2025: "4664.1", 2026: "4695.0"}),
    ("POOR_HOUSEHOLD_RATE", "Tỷ lệ hộ nghèo", "%", 2, {2022: "0.71", 2023: "0.52", 2024: "0.39", 2025: "0.58", 2026: "0.41"}),
    ("EDUCATION_INSTITUTIONS", "Số cơ sở giáo dục mầm non, phổ thông, thường xuyên", "Cơ sở", 0,
     {2022: "1589", 2023: "1597", 2024: "1608", 2025: "3356", 2026: "3371"}),
    ("PUPILS", "Số học sinh mầm non, phổ thông, thường xuyên", "Học sinh", 0,
     {2022: "1021450", 2023: "1038911", 2024: "1053272", 2025: "2296340", 2026: "2311872"}),
    ("HOSPITAL_BEDS_PER_10K", "Số giường bệnh trên 10.000 dân", "Giường", 1,
     {2022: "32.1", 2023: "32.8", 2024: "33.5", 2025: "31.9", 2026: "32.6"}),
    ("CLEAN_WATER_RATE", "Tỷ lệ dân số được sử dụng nước sạch", "%", 1,
     {2022: "98.1", 2023: "98.7", 2024: "99.2", 2025: "98.4", 2026: "98.9"}),
    ("SOLID_WASTE_TREATED_RATE", "Tỷ lệ chất thải rắn sinh hoạt được thu gom, xử lý", "%", 1,
     {2022: "94.0", 2023: "95.2", 2024: "96.5", 2025: "95.1", 2026: "96.3"}),
)
# Annual values from 2025 are already merged-city figures (the first annual report after the merger).
POPULATION_BASIS_2024_MERGED = "4627.3"   # 2024 recomputed on the merged scope [derived]


# -- helpers ----------------------------------------------------------------------------------

def _units(text: str, decimals: int) -> int:
    """'118255.3' -> 1182553 at 1 decimal: exact integer arithmetic, no float drift."""
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * decimals)[:decimals]
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 10 ** decimals + (int(frac) if decimals else 0))


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder apportionment: non-negative integers proportional to ``weights``
    that sum to ``total`` exactly; ties go to the earlier position (deterministic)."""
    s = float(sum(weights))
    raw = [total * w / s for w in weights]
    out = [math.floor(r) for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[:rest]:
        out[i] += 1
    return out


def _shares(profile: Sequence[float], rng: random.Random, noise: float, trend: float = 0.0) -> list[float]:
    return [p * (1 + trend) ** i * math.exp(rng.gauss(0, noise)) for i, p in enumerate(profile)]


def vn_number(value: float, decimals: int) -> str:
    """18234.5 -> '18.234,5' (how a Vietnamese user types it into a text cell)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


_VN_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})*(,\d+)?$|^-?\d+(,\d+)?$")


def parse_vn_number(value: Any) -> float | None:
    """A cell value as a float: numbers pass, Vietnamese-typed text ("1.234,5") is converted,
    ".." / "-" / blanks are None. Raises ValueError on anything else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text in ("", UNAVAILABLE, NOT_APPLICABLE):
        return None
    if not _VN_NUMBER.match(text):
        raise ValueError(f"not a number: {value!r}")
    return float(text.replace(".", "").replace(",", "."))


def _months() -> Iterator[tuple[int, int]]:
    y, m = FIRST_MONTH
    while (y, m) <= LAST_MONTH:
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _quarters() -> Iterator[tuple[int, int]]:
    for y in range(FIRST_MONTH[0], LAST_QUARTER[0] + 1):
        for q in range(1, 5):
            if (y, q) <= LAST_QUARTER:
                yield y, q


YEARS = (2022, 2023, 2024, 2025, 2026)


# -- the numbers -------------------------------------------------------------------------------

@dataclass
class Series:
    """Values by scope ("hp" = pre-merger city, "merged") -> year -> list of period values (units)."""

    decimals: int
    hp: dict[int, list[int]] = field(default_factory=dict)
    merged: dict[int, list[int]] = field(default_factory=dict)

    def scope(self, merged: bool) -> dict[int, list[int]]:
        return self.merged if merged else self.hp


def _annual_units(anchor_units: int, growth: dict[int, float]) -> dict[int, int]:
    out = {2024: anchor_units}
    out[2023] = round(anchor_units / (1 + growth[2024]))
    out[2022] = round(out[2023] / (1 + growth[2023]))
    out[2025] = round(anchor_units * (1 + growth[2025]))
    out[2026] = round(out[2025] * (1 + growth[2026]))
    return out


def _merged(values: dict[int, list[int]], factor: float, rng: random.Random, years: Sequence[int]) -> dict[int, list[int]]:
    return {y: [round(v * factor * (1 + rng.gauss(0, 0.01))) for v in values[y]] for y in years}


class Numbers:
    """Every number the workbooks print, computed once per seed (cheap: a few thousand values)."""

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self.flows: dict[str, Series] = {}
        self.indices: dict[str, dict[str, dict[int, list[float]]]] = {}
        self.stocks: dict[str, Series] = {}
        self.quarterly: dict[str, Series] = {}
        self.annual: dict[str, dict[int, int]] = {}
        for f in FLOWS:
            self.flows[f.code] = self._flow(f.code, f.decimals, _annual_units(_units(f.anchor, f.decimals), f.growth),
                                            PROFILES[f.profile], f.noise, f.merged, 12)
        parts = [self.flows[c] for c in RETAIL_PARTS]
        total = Series(1)
        for scope in ("hp", "merged"):
            src = [p.scope(scope == "merged") for p in parts]
            dst = total.scope(scope == "merged")
            for y in src[0]:
                dst[y] = [sum(p[y][i] for p in src) for i in range(12)]
        self.flows["RETAIL_SALES"] = total
        for idx in (*IIP_SERIES, *CPI_SERIES):
            self.indices[idx.code] = self._index(idx)
        for s in STOCKS:
            self.stocks[s.code] = self._stock(s)
        self._grdp()
        for code, _label, anchor, growth, merged in INVESTMENT_PARTS:
            self.quarterly[code] = self._flow(code, 1, _annual_units(_units(anchor, 1), growth), QUARTER_PROFILE,
                                              0.04, merged, 4)
        self.quarterly["TOTAL_INVESTMENT"] = self._sum_quarterly([p[0] for p in INVESTMENT_PARTS])
        for code, _label, _unit, decimals, anchor, growth, merged in LABOUR:
            self.quarterly[code] = self._flow(code, decimals, _annual_units(_units(anchor, decimals) * 4, growth),
                                              (0.995, 0.999, 1.002, 1.004), 0.002, merged, 4)
        self._insurance()
        for code, _label, _unit, decimals, values in ANNUAL_SOCIAL:
            self.annual[code] = {y: _units(v, decimals) for y, v in values.items()}

    # one flow: annual totals allocated to periods; merged scope from 2024
    def _flow(self, code: str, decimals: int, annual: dict[int, int], profile: Sequence[float], noise: float,
              factor: float, periods: int) -> Series:
        rng = rng_for("statistics", self.seed, f"flow-{code}")
        series = Series(decimals)
        for y in YEARS:
            series.hp[y] = allocate(annual[y], _shares(profile, rng, noise, trend=0.004 if periods == 12 else 0.01))
        series.merged = _merged(series.hp, factor, rng_for("statistics", self.seed, f"merged-{code}"), (2024, 2025, 2026))
        return series

    def _sum_quarterly(self, codes: Sequence[str]) -> Series:
        out = Series(self.quarterly[codes[0]].decimals)
        for merged in (False, True):
            dst = out.scope(merged)
            for y in self.quarterly[codes[0]].scope(merged):
                dst[y] = [sum(self.quarterly[c].scope(merged)[y][i] for c in codes) for i in range(4)]
        return out

    def _index(self, idx: Index) -> dict[str, dict[int, list[float]]]:
        """Monthly levels whose year mean (IIP: year total) ratio is exactly ``idx.ratio``."""
        rng = rng_for("statistics", self.seed, f"index-{idx.code}")
        season = [1 + idx.amplitude * math.sin(2 * math.pi * (m - 2) / 12) for m in range(12)]
        if idx.code.startswith("IIP"):
            season = [p * s for p, s in zip(PROFILES["trade"], season)]
        levels: dict[int, list[float]] = {}
        walk = 0.0
        mean_prev = None
        for y in YEARS:
            row = []
            for m in range(12):
                walk = 0.7 * walk + rng.gauss(0, idx.noise)
                row.append(season[m] * (1 + m * 0.003) * math.exp(walk))
            mean = sum(row) / 12
            target = 100.0 if mean_prev is None else mean_prev * idx.ratio[y]
            row = [v * target / mean for v in row]
            levels[y] = row
            mean_prev = target
        return {"hp": levels, "merged": levels}

    def _stock(self, s: Stock) -> Series:
        rng = rng_for("statistics", self.seed, f"stock-{s.code}")
        dec = {2024: _units(s.anchor_dec_2024, s.decimals)}
        dec[2023] = round(dec[2024] / (1 + s.growth[2024]))
        dec[2022] = round(dec[2023] / (1 + s.growth[2023]))
        dec[2021] = round(dec[2022] / (1 + 0.10))
        dec[2025] = round(dec[2024] * (1 + s.growth[2025]))
        dec[2026] = round(dec[2025] * (1 + s.growth[2026]))
        series = Series(s.decimals)
        for y in YEARS:
            row = []
            for m in range(1, 13):
                base = dec[y - 1] * (dec[y] / dec[y - 1]) ** (m / 12)
                row.append(dec[y] if m == 12 else round(base * (1 + rng.gauss(0, 0.006))))
            series.hp[y] = row
        series.merged = _merged(series.hp, s.merged, rng_for("statistics", self.seed, f"merged-{s.code}"), (2024, 2025, 2026))
        return series

    def _grdp(self) -> None:
        """GRDP by sector and quarter, current and constant 2010 prices, in units of 0,1 tỷ đồng."""
        rng = rng_for("statistics", self.seed, "grdp")
        contrib_share = [c / g for _c, _l, _s, g, c in GRDP_SECTORS]          # 2023 constant shares (pp / growth)
        total23 = round(GRDP_CONSTANT_2024 * 10 / (1 + GRDP_GROWTH_2024))      # units, so 2024/2023 rounds to 11,01%
        const = {s[0]: {} for s in GRDP_SECTORS}
        # 2024 constant by sector: 2023 share x (1 + sector growth), apportioned to 288.492,0 exactly.
        w24 = [sh * (1 + g) for sh, (_c, _l, _s, g, _p) in zip(contrib_share, GRDP_SECTORS)]
        a24 = allocate(GRDP_CONSTANT_2024 * 10, w24)
        a23 = allocate(total23, contrib_share)
        growth_other = dict(GRDP_GROWTH)
        for (code, *_), v24, v23 in zip(GRDP_SECTORS, a24, a23):
            const[code] = {2023: v23, 2024: v24}
        # other years: total growth applied evenly with a small sector tilt
        for y, prev in ((2022, 2023), (2025, 2024), (2026, 2025)):
            g = growth_other[prev if y == 2022 else y]
            for code in const:
                tilt = {"GRDP_AGRI": -0.06, "GRDP_INDUSTRY_CONSTRUCTION": 0.02, "GRDP_SERVICES": -0.01,
                        "GRDP_PRODUCT_TAX": -0.02}[code]
                const[code][y] = round(const[code][prev] / (1 + g + tilt)) if y == 2022 else round(const[code][prev] * (1 + g + tilt))
        cur24 = allocate(GRDP_CURRENT_2024 * 10, [s[2] for s in GRDP_SECTORS])
        deflator24 = {code: c / const[code][2024] for (code, *_), c in zip(GRDP_SECTORS, cur24)}
        for (code, *_), c in zip(GRDP_SECTORS, cur24):
            self.quarterly[f"{code}_CURRENT"] = Series(1)
            self.quarterly[f"{code}_CONSTANT"] = Series(1)
        for code in const:
            for y in YEARS:
                shares = _shares(QUARTER_PROFILE, rng, 0.03)
                qc = allocate(const[code][y], shares)
                self.quarterly[f"{code}_CONSTANT"].hp[y] = qc
                defl = deflator24[code] * (1 + GRDP_DEFLATOR_GROWTH) ** (y - 2024)
                annual_cur = cur24[[s[0] for s in GRDP_SECTORS].index(code)] if y == 2024 else round(const[code][y] * defl)
                self.quarterly[f"{code}_CURRENT"].hp[y] = allocate(annual_cur, [v * (1 + 0.004 * i) for i, v in enumerate(qc)])
            for kind in ("CURRENT", "CONSTANT"):
                s = self.quarterly[f"{code}_{kind}"]
                s.merged = _merged(s.hp, GRDP_MERGED, rng_for("statistics", self.seed, f"merged-{code}-{kind}"), (2024, 2025, 2026))
        self.quarterly["GRDP_CURRENT"] = self._sum_quarterly([f"{s[0]}_CURRENT" for s in GRDP_SECTORS])
        self.quarterly["GRDP_CONSTANT_2010"] = self._sum_quarterly([f"{s[0]}_CONSTANT" for s in GRDP_SECTORS])
        t24, t23 = sum(self.quarterly["GRDP_CONSTANT_2010"].hp[2024]), sum(self.quarterly["GRDP_CONSTANT_2010"].hp[2023])
        assert t24 == GRDP_CONSTANT_2024 * 10 and round((t24 / t23 - 1) * 100, 2) == 11.01, (t24, t23)
        assert sum(self.quarterly["GRDP_CURRENT"].hp[2024]) == GRDP_CURRENT_2024 * 10

    def _insurance(self) -> None:
        rng = rng_for("statistics", self.seed, "insurance")
        series = Series(0)
        end = {2024: SOCIAL_INSURANCE_2024}
        end[2023], end[2022], end[2021] = round(end[2024] / 1.021), round(end[2024] / 1.021 / 1.018), round(end[2024] / 1.021 / 1.018 / 1.02)
        end[2025], end[2026] = round(end[2024] * 1.02), round(end[2024] * 1.02 * 1.018)
        for y in YEARS:
            series.hp[y] = [round(end[y - 1] * (end[y] / end[y - 1]) ** (q / 4) * (1 + rng.gauss(0, 0.002))) if q < 4 else end[y]
                            for q in range(1, 5)]
        series.merged = _merged(series.hp, 2.12, rng_for("statistics", self.seed, "merged-insurance"), (2024, 2025, 2026))
        self.quarterly["SOCIAL_INSURANCE_PARTICIPANTS"] = series


# -- workbook writing ---------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    unit: str | None = None
    values: Sequence[Any] = ()
    fmt: str = "#,##0.0"
    bold: bool = False
    code: str | None = None


class _Sheet:
    """Collects one sheet: title block, two header rows with merged cells, rows, footnotes."""

    def __init__(self, name: str, agency: str, title: str, period: str, unit_note: str,
                 top: Sequence[tuple[str, int]], sub: Sequence[str | None]) -> None:
        self.name, self.agency, self.title, self.period, self.unit_note = name, agency, title, period, unit_note
        self.top, self.sub = top, sub
        self.rows: list[Row] = []
        self.notes: list[str] = []


def _write_sheet(wb: Any, sheet: _Sheet, rng: random.Random, rates: dict[str, float], stats: GenerationStats) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(sheet.name)
    ncols = sum(span for _t, span in sheet.top)
    last = get_column_letter(ncols)
    ws["A1"] = sheet.agency
    ws["A1"].font = Font(bold=True)
    ws.merge_cells(f"A1:{get_column_letter(max(2, ncols // 2))}1")
    ws["A2"] = sheet.title
    ws["A2"].font = Font(bold=True, size=13)
    ws["A2"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A2:{last}2")
    ws["A3"] = sheet.period
    ws["A3"].font = Font(italic=True)
    ws["A3"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A3:{last}3")
    if sheet.unit_note:
        ws[f"{last}4"] = sheet.unit_note
        ws[f"{last}4"].alignment = Alignment(horizontal="right")
        ws[f"{last}4"].font = Font(italic=True)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    col = 1
    for text, span in sheet.top:
        first = get_column_letter(col)
        cell = ws[f"{first}5"]
        cell.value = text
        subs = sheet.sub[col - 1: col - 1 + span]
        if span == 1 and subs[0] is None:
            ws.merge_cells(f"{first}5:{first}6")
        else:
            if span > 1:
                ws.merge_cells(f"{first}5:{get_column_letter(col + span - 1)}5")
            for k, s in enumerate(subs):
                ws.cell(row=6, column=col + k, value=s)
        col += span
    for r in (5, 6):
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = border
    r = DATA_START_ROW
    text_rate = rates.get("text_number", 0.0)
    for row in sheet.rows:
        ws.cell(row=r, column=1, value=row.label).font = Font(bold=row.bold)
        start = 2
        if row.unit is not None:
            ws.cell(row=r, column=2, value=row.unit)
            start = 3
        for k, v in enumerate(row.values):
            cell = ws.cell(row=r, column=start + k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                fmt = "0.00" if _is_index_col(sheet, start + k) else row.fmt
                if text_rate and rng.random() < text_rate:
                    decimals = fmt.count("0", fmt.find(".")) if "." in fmt else 0
                    cell.value = vn_number(float(v), decimals)
                    stats.faults["text_number"] += 1
                else:
                    cell.value = v
                    cell.number_format = fmt
            else:
                cell.value = v
                cell.alignment = Alignment(horizontal="right")
        r += 1
    r += 1
    for note in sheet.notes:
        ws.cell(row=r, column=1, value=note).font = Font(italic=True, size=9)
        r += 1
    ws.column_dimensions["A"].width = 58
    for c in range(2, ncols + 1):
        ws.column_dimensions[get_column_letter(c)].width = 15
    ws.freeze_panes = f"B{DATA_START_ROW}"


def _is_index_col(sheet: _Sheet, col: int) -> bool:
    """True when column ``col`` (1-based) sits under a top header containing '%'."""
    c = 1
    for text, span in sheet.top:
        if c <= col < c + span:
            return "%" in text
        c += span
    return False


def _save(wb: Any, path: Path) -> None:
    """Save with fixed timestamps in the zip entries and document properties: same bytes every run."""
    from datetime import datetime

    fixed = datetime(*_FIXED_TIME)
    wb.properties.creator = "Thống kê thành phố Hải Phòng"
    wb.properties.created = fixed
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, data)
    path.write_bytes(out.getvalue())


def _idx(a: float | int | None, b: float | int | None) -> float | str:
    if a is None or b is None or b == 0:
        return NOT_APPLICABLE
    return round(a / b * 100, 2)


def _val(units: int, decimals: int) -> float | int:
    return units if decimals == 0 else round(units / 10 ** decimals, decimals)


def _fmt(decimals: int) -> str:
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


def _flow_row(label: str, code: str, series: Series, y: int, p: int, merged: bool, unit: str, bold: bool = False) -> Row:
    """p = 1-based period (month or quarter) of year y."""
    cur, prev = series.scope(merged)[y], series.scope(merged)[y - 1]
    d = series.decimals
    values = [_val(cur[p - 1], d), _val(prev[p - 1], d), _val(sum(cur[:p]), d), _val(sum(prev[:p]), d),
              _idx(cur[p - 1], prev[p - 1]), _idx(sum(cur[:p]), sum(prev[:p]))]
    return Row(label, unit, values, _fmt(d), bold, code)


def _flow_header(period_word: str, y: int, p: int, ytd_word: str = "Cộng dồn từ đầu năm") -> tuple[list, list]:
    cur = f"{period_word} {p}/{y}" if period_word == "Tháng" else f"Quý {_roman(p)}/{y}"
    prev = f"{period_word} {p}/{y - 1}" if period_word == "Tháng" else f"Quý {_roman(p)}/{y - 1}"
    n = f"{p} tháng" if period_word == "Tháng" else f"{p} quý"
    top = [("Chỉ tiêu", 1), ("Đơn vị tính", 1), (f"Thực hiện {period_word.lower()}", 2), (ytd_word, 2),
           ("So với cùng kỳ (%)", 2)]
    sub = [None, None, cur, prev, f"{n}/{y}", f"{n}/{y - 1}", period_word, "Cộng dồn"]
    return top, sub


def _roman(q: int) -> str:
    return ("I", "II", "III", "IV")[q - 1]


def _merger_note(y: int, p: int, monthly: bool) -> list[str]:
    if (y, p) >= (MERGER if monthly else (2025, 3)):
        return ["(*) Từ tháng 7/2025 số liệu tính cho thành phố Hải Phòng mới (hợp nhất thành phố Hải Phòng và tỉnh "
                "Hải Dương theo Nghị quyết số 202/2025/QH15); số liệu cùng kỳ năm trước và cộng dồn đã được tính lại "
                "theo phạm vi mới nên khác số liệu đã công bố trước đây."]
    return []


SOURCE_NOTE = "Nguồn: Thống kê thành phố Hải Phòng; Sở Tài chính; số liệu tháng báo cáo là số ước tính."
INDEX_NOTE = "Ghi chú: các cột \"So với ... (%)\" là chỉ số phát triển (kỳ gốc = 100)."


def _monthly_sheets(n: Numbers, y: int, m: int) -> list[_Sheet]:
    merged = (y, m) >= MERGER
    agency = _agency(y, m)
    period = f"Tháng {m} và {m} tháng năm {y}" + (" (*)" if merged else "")
    notes = _merger_note(y, m, True) + [INDEX_NOTE, SOURCE_NOTE]
    top, sub = _flow_header("Tháng", y, m)
    sheets: list[_Sheet] = []
    by = {f.code: f for f in FLOWS}

    def flow(code: str, label: str | None = None, bold: bool = False, series: Series | None = None) -> Row:
        f = by.get(code)
        s = series or n.flows[code]
        return _flow_row(label or (f.label if f else code), code, s, y, m, merged, f.unit if f else "Tỷ đồng", bold)

    sh = _Sheet("01_NSNN", agency, "THU, CHI NGÂN SÁCH NHÀ NƯỚC TRÊN ĐỊA BÀN", period, "", top, sub)
    sh.rows = [flow("BUDGET_REVENUE", bold=True), Row("Trong đó:"),
               flow("BUDGET_REVENUE_DOMESTIC", "  - Thu nội địa"),
               flow("BUDGET_REVENUE_IMPORT_EXPORT", "  - Thu từ hoạt động xuất nhập khẩu"),
               flow("BUDGET_EXPENDITURE", bold=True), Row("Trong đó:"),
               flow("BUDGET_EXPENDITURE_INVESTMENT", "  - Chi đầu tư phát triển"),
               flow("BUDGET_EXPENDITURE_RECURRENT", "  - Chi thường xuyên")]
    sh.notes = notes
    sheets.append(sh)

    stop = [("Chỉ tiêu", 1), ("Đơn vị tính", 1), ("Số dư đến cuối tháng", 2), ("So với cùng kỳ (%)", 1),
            ("So với 31/12 năm trước (%)", 1)]
    ssub = [None, None, f"Cuối tháng {m}/{y}", f"Cuối tháng {m}/{y - 1}", None, None]
    sh = _Sheet("02_NganHang", agency, "HOẠT ĐỘNG NGÂN HÀNG", period, "", stop, ssub)
    for s in STOCKS:
        ser = n.stocks[s.code].scope(merged)
        cur, ly = ser[y][m - 1], ser[y - 1][m - 1]
        dec_prev = ser[y - 1][11]
        sh.rows.append(Row(s.label, s.unit, [_val(cur, s.decimals), _val(ly, s.decimals), _idx(cur, ly), _idx(cur, dec_prev)],
                           _fmt(s.decimals), False, s.code))
    sh.notes = notes
    sheets.append(sh)

    itop = [("Chỉ tiêu", 1), (f"Tháng {m}/{y} so với (%)", 3), (f"Cộng dồn {m} tháng so với cùng kỳ (%)", 1)]
    isub = [None, "Tháng trước", "Cùng kỳ năm trước", "Tháng 12 năm trước", None]
    sh = _Sheet("03_IIP", agency, "CHỈ SỐ SẢN XUẤT CÔNG NGHIỆP (IIP)", period, "", itop, isub)
    for k, idx in enumerate(IIP_SERIES):
        sh.rows.append(_index_row(("Toàn ngành công nghiệp" if k == 0 else "  - " + idx.label), idx.code,
                                  n.indices[idx.code]["hp"], y, m, total=True, bold=(k == 0)))
        if k == 0:
            sh.rows.append(Row("Chia theo ngành cấp I:"))
    sh.notes = notes
    sheets.append(sh)

    sh = _Sheet("04_BanLe_DuLich", agency, "TỔNG MỨC BÁN LẺ HÀNG HÓA VÀ DOANH THU DỊCH VỤ TIÊU DÙNG", period, "", top, sub)
    sh.rows = [flow("RETAIL_SALES", "Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng", True), Row("Chia theo ngành hoạt động:"),
               flow("RETAIL_GOODS", "  - Bán lẻ hàng hóa"), flow("ACCOMMODATION_REVENUE", "  - Dịch vụ lưu trú"),
               flow("FOOD_SERVICE_REVENUE", "  - Dịch vụ ăn uống"),
               flow("TRAVEL_SERVICE_REVENUE", "  - Du lịch lữ hành và dịch vụ hỗ trợ"),
               flow("OTHER_SERVICE_REVENUE", "  - Dịch vụ khác"),
               flow("VISITORS_SERVED", bold=True), flow("INTERNATIONAL_VISITORS", "  Trong đó: Khách quốc tế")]
    sh.notes = notes
    sheets.append(sh)

    sh = _Sheet("05_VanTai", agency, "VẬN TẢI HÀNG HÓA VÀ HÀNH KHÁCH", period, "", top, sub)
    sh.rows = [flow("FREIGHT_CARRIED"), flow("PASSENGERS_CARRIED")]
    sh.notes = notes
    sheets.append(sh)

    sh = _Sheet("06_XNK", agency, "XUẤT, NHẬP KHẨU HÀNG HÓA", period, "", top, sub)
    sh.rows = [flow("EXPORT_TURNOVER"), flow("IMPORT_TURNOVER")]
    sh.notes = notes
    sheets.append(sh)

    ctop = [("Chỉ tiêu", 1), (f"Tháng {m}/{y} so với (%)", 3), (f"Bình quân {m} tháng so với cùng kỳ (%)", 1)]
    sh = _Sheet("07_CPI", agency, "CHỈ SỐ GIÁ TIÊU DÙNG, CHỈ SỐ GIÁ VÀNG VÀ ĐÔ LA MỸ", period, "", ctop, isub)
    for k, idx in enumerate(CPI_SERIES):
        label = idx.label if k == 0 or idx.code in ("GOLD_PRICE_INDEX", "USD_PRICE_INDEX") else "  - " + idx.label
        sh.rows.append(_index_row(label, idx.code, n.indices[idx.code]["hp"], y, m, total=False, bold=(k == 0)))
        if k == 0:
            sh.rows.append(Row("Trong đó:"))
    sh.notes = notes
    sheets.append(sh)

    sh = _Sheet("08_DauTu_DoanhNghiep", agency, "THU HÚT ĐẦU TƯ NƯỚC NGOÀI VÀ ĐĂNG KÝ DOANH NGHIỆP", period, "", top, sub)
    sh.rows = [flow("FDI_REGISTERED"), flow("FDI_NEW_PROJECTS", "  Trong đó: Số dự án cấp mới"),
               flow("NEW_ENTERPRISES"), flow("NEW_ENTERPRISE_CAPITAL")]
    sh.notes = notes
    sheets.append(sh)

    sh = _Sheet("09_TrTu_XaHoi", agency, "TAI NẠN GIAO THÔNG VÀ CHÁY, NỔ", period, "", top, sub)
    sh.rows = [flow("TRAFFIC_ACCIDENTS", "Số vụ tai nạn giao thông (đường bộ, đường sắt, đường thủy)", True),
               flow("TRAFFIC_DEATHS", "  - Số người chết"), flow("TRAFFIC_INJURED", "  - Số người bị thương"),
               flow("FIRES", bold=True)]
    sh.notes = notes
    sheets.append(sh)
    return sheets


def _index_row(label: str, code: str, levels: dict[int, list[float]], y: int, m: int, *, total: bool, bold: bool) -> Row:
    cur, prev = levels[y], levels[y - 1]
    mom_base = cur[m - 2] if m > 1 else prev[11]
    values = [round(cur[m - 1] / mom_base * 100, 2), round(cur[m - 1] / prev[m - 1] * 100, 2),
              round(cur[m - 1] / prev[11] * 100, 2), round(sum(cur[:m]) / sum(prev[:m]) * 100, 2)]
    return Row(label, None, values, "0.00", bold, code)


def _quarterly_sheets(n: Numbers, y: int, q: int) -> list[_Sheet]:
    merged = (y, q) >= (2025, 3)
    m_end = q * 3
    agency = _agency(y, m_end)
    period = f"Quý {_roman(q)} và {q * 3} tháng năm {y}" if q < 4 else f"Quý IV và năm {y}"
    period += " (*)" if merged else ""
    notes = _merger_note(y, q, False) + [INDEX_NOTE, "Nguồn: Thống kê thành phố Hải Phòng; số liệu quý báo cáo là số ước tính."]
    top, sub = _flow_header("Quý", y, q)
    sheets: list[_Sheet] = []

    sh = _Sheet("01_GRDP", agency, "TỔNG SẢN PHẨM TRÊN ĐỊA BÀN (GRDP)", period, "Đơn vị tính: tỷ đồng", top, sub)
    for kind, heading in (("CURRENT", "A. Theo giá hiện hành"), ("CONSTANT", "B. Theo giá so sánh 2010")):
        sh.rows.append(Row(heading, bold=True))
        total_code = "GRDP_CURRENT" if kind == "CURRENT" else "GRDP_CONSTANT_2010"
        sh.rows.append(_flow_row("Tổng sản phẩm trên địa bàn (GRDP)", total_code, n.quarterly[total_code], y, q, merged,
                                 "Tỷ đồng", True))
        for code, label, *_ in GRDP_SECTORS:
            sh.rows.append(_flow_row("  - " + label, f"{code}_{kind}", n.quarterly[f"{code}_{kind}"], y, q, merged, "Tỷ đồng"))
    sh.notes = notes
    sheets.append(sh)

    sh = _Sheet("02_VonDauTu", agency, "VỐN ĐẦU TƯ THỰC HIỆN TRÊN ĐỊA BÀN (GIÁ HIỆN HÀNH)", period, "", top, sub)
    sh.rows = [_flow_row("Tổng vốn đầu tư thực hiện", "TOTAL_INVESTMENT", n.quarterly["TOTAL_INVESTMENT"], y, q, merged,
                         "Tỷ đồng", True), Row("Chia theo khu vực kinh tế:")]
    for code, label, *_ in INVESTMENT_PARTS:
        sh.rows.append(_flow_row("  - " + label, code, n.quarterly[code], y, q, merged, "Tỷ đồng"))
    sh.notes = notes
    sheets.append(sh)

    ltop, lsub = _flow_header("Quý", y, q, "Bình quân từ đầu năm")
    lsub[4], lsub[5] = f"{q} quý/{y}", f"{q} quý/{y - 1}"
    sh = _Sheet("03_DanSo_LaoDong", agency, "LAO ĐỘNG VÀ VIỆC LÀM", period, "", ltop, lsub)
    lf_e = {}
    for code, label, unit, d, *_ in LABOUR:
        s = n.quarterly[code].scope(merged)
        cur, prev = s[y], s[y - 1]
        # stored as quarterly values whose sum over the year is 4 x the annual average
        avg_cur, avg_prev = sum(cur[:q]) / q, sum(prev[:q]) / q
        lf_e[code] = (cur[q - 1], avg_cur)
        sh.rows.append(Row(label, unit, [_val(cur[q - 1], d), _val(prev[q - 1], d), round(avg_cur / 10 ** d, d),
                                         round(avg_prev / 10 ** d, d), _idx(cur[q - 1], prev[q - 1]), _idx(avg_cur, avg_prev)],
                           _fmt(d), False, code))
    (lf_q, lf_avg), (e_q, e_avg) = lf_e["LABOUR_FORCE"], lf_e["EMPLOYED"]
    sh.rows.append(Row("Tỷ lệ thất nghiệp", "%", [round((lf_q - e_q) / lf_q * 100, 2), NOT_APPLICABLE,
                                                   round((lf_avg - e_avg) / lf_avg * 100, 2), NOT_APPLICABLE,
                                                   NOT_APPLICABLE, NOT_APPLICABLE], "0.00", False, "UNEMPLOYMENT_RATE"))
    sh.notes = ["Ghi chú: tỷ lệ thất nghiệp = (lực lượng lao động - lao động đang làm việc) / lực lượng lao động."] + notes
    sheets.append(sh)

    stop = [("Chỉ tiêu", 1), ("Đơn vị tính", 1), ("Thực hiện đến cuối kỳ", 2), ("So với cùng kỳ (%)", 1),
            ("So với cuối năm trước (%)", 1)]
    ssub = [None, None, f"Quý {_roman(q)}/{y}", f"Quý {_roman(q)}/{y - 1}", None, None]
    sh = _Sheet("04_XaHoi_MoiTruong", agency, "BẢO HIỂM XÃ HỘI VÀ MỘT SỐ CHỈ TIÊU XÃ HỘI, MÔI TRƯỜNG", period, "", stop, ssub)
    ins = n.quarterly["SOCIAL_INSURANCE_PARTICIPANTS"].scope(merged)
    cur, ly, dec_prev = ins[y][q - 1], ins[y - 1][q - 1], ins[y - 1][3]
    sh.rows.append(Row("Số người tham gia bảo hiểm xã hội, bảo hiểm y tế", "Người", [cur, ly, _idx(cur, ly), _idx(cur, dec_prev)],
                       "#,##0", False, "SOCIAL_INSURANCE_PARTICIPANTS"))
    pop = n.annual["POPULATION"][y]                      # units of 0,1 nghìn người = 100 people
    hi = round(cur / (pop * 100) * 100, 1)
    si = round(cur * 0.21 / (lf_q * 100) * 100, 1)       # ~21% of participants hold social (not only health) insurance
    sh.rows.append(Row("Tỷ lệ lực lượng lao động tham gia bảo hiểm xã hội", "%", [si, UNAVAILABLE, NOT_APPLICABLE, NOT_APPLICABLE],
                       "0.0", False, "SOCIAL_INSURANCE_COVERAGE"))
    sh.rows.append(Row("Tỷ lệ dân số tham gia bảo hiểm y tế", "%", [hi, UNAVAILABLE, NOT_APPLICABLE, NOT_APPLICABLE],
                       "0.0", False, "HEALTH_INSURANCE_COVERAGE"))
    sh.rows.append(Row("Chỉ tiêu năm (chỉ có số liệu trong báo cáo quý IV):", bold=True))
    for code, label, unit, d, _values in ANNUAL_SOCIAL:
        vals = n.annual[code]
        if q == 4:
            prev_units = _units(POPULATION_BASIS_2024_MERGED, 1) if (code == "POPULATION" and y == 2025) else vals[y - 1]
            row_vals = [_val(vals[y], d), _val(prev_units, d),
                        _idx(vals[y], prev_units) if unit != "%" else NOT_APPLICABLE, NOT_APPLICABLE]
        else:
            row_vals = [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE]
        sh.rows.append(Row("  - " + label, unit, row_vals, _fmt(d) if unit != "%" else "0." + "0" * d, False, code))
    sh.notes = [f"Ghi chú: \"{UNAVAILABLE}\" là chưa có số liệu; \"{NOT_APPLICABLE}\" là không áp dụng. Số liệu năm 2025 trở đi "
                "là của thành phố sau hợp nhất."] + notes
    sheets.append(sh)
    return sheets


def _cover(wb: Any, title: str, agency: str, sheets: Sequence[_Sheet]) -> None:
    ws = wb.active
    ws.title = "Bia"
    ws["A1"] = agency
    ws["A3"] = title
    ws["A5"] = "Danh mục biểu:"
    for k, sh in enumerate(sheets):
        ws.cell(row=6 + k, column=1, value=f"{sh.name}: {sh.title}")
    ws.column_dimensions["A"].width = 90


def write_workbook(path: Path, sheets: Sequence[_Sheet], title: str, agency: str, rng: random.Random,
                   rates: dict[str, float], stats: GenerationStats) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    _cover(wb, title, agency, sheets)
    for sh in sheets:
        _write_sheet(wb, sh, rng, rates, stats)
        stats.rows["table_rows"] += len(sh.rows)
    _save(wb, path)


def monthly_filename(y: int, m: int) -> str:
    return f"KTXH_thang_{m:02d}_{y}.xlsx"


def quarterly_filename(y: int, q: int) -> str:
    return f"KTXH_quy_{q}_{y}.xlsx"


def generate(target: str | Path, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None) -> GenerationStats:
    """Write every monthly and quarterly workbook (and ``statistics.manifest.json``) under
    ``<target>/statistics/``. ``sf`` is ignored
    (city aggregates do not scale); output is deterministic for (seed, fault_rates)."""
    started = time.perf_counter()
    rates = {**DEFAULT_FAULT_RATES, **(fault_rates or {})}
    unknown = set(rates) - set(DEFAULT_FAULT_RATES)
    if unknown:
        raise ValueError(f"unknown fault types {sorted(unknown)}; known: {sorted(DEFAULT_FAULT_RATES)}")
    out = Path(target) / "statistics"
    out.mkdir(parents=True, exist_ok=True)
    stats = GenerationStats(system=SYSTEM.name)
    numbers = Numbers(seed)
    for y, m in _months():
        rng = rng_for("statistics", seed, f"faults-m-{y}-{m}")
        sheets = _monthly_sheets(numbers, y, m)
        write_workbook(out / monthly_filename(y, m), sheets, f"TÌNH HÌNH KINH TẾ - XÃ HỘI THÁNG {m}/{y}",
                       _agency(y, m), rng, rates, stats)
        stats.rows["monthly_workbooks"] += 1
    for y, q in _quarters():
        rng = rng_for("statistics", seed, f"faults-q-{y}-{q}")
        sheets = _quarterly_sheets(numbers, y, q)
        write_workbook(out / quarterly_filename(y, q), sheets, f"TÌNH HÌNH KINH TẾ - XÃ HỘI QUÝ {_roman(q)}/{y}",
                       _agency(y, q * 3), rng, rates, stats)
        stats.rows["quarterly_workbooks"] += 1
    stats.rows = +stats.rows
    stats.seconds = time.perf_counter() - started
    write_manifest(out, SYSTEM.name, seed, sf, stats)
    return stats


# -- a reader that works (and documents the layout) ----------------------------------------------

# Catalogue indicators that are a growth rate read off an index column: value = index - 100.
# (row code in the workbook, column) - e.g. GRDP_GROWTH is the constant-price GRDP row's
# year-to-date index: Q4/2024 gives 111,01, so 11,01%.
GROWTH_FROM_INDEX: dict[str, tuple[str, str]] = {
    "GRDP_GROWTH": ("GRDP_CONSTANT_2010", "index_ytd"),
    "GRDP_AGRI_GROWTH": ("GRDP_AGRI_CONSTANT", "index_ytd"),
    "GRDP_INDUSTRY_CONSTRUCTION_GROWTH": ("GRDP_INDUSTRY_CONSTRUCTION_CONSTANT", "index_ytd"),
    "GRDP_SERVICES_GROWTH": ("GRDP_SERVICES_CONSTANT", "index_ytd"),
    "GRDP_PRODUCT_TAX_GROWTH": ("GRDP_PRODUCT_TAX_CONSTANT", "index_ytd"),
    "IIP_GROWTH": ("IIP_GROWTH", "index_ytd"),
    "CPI_YOY": ("CPI_YOY", "index_ytd"),
}


def _label_codes() -> dict[tuple[str, str], str]:
    """(sheet, stripped label) -> indicator code, for every labelled data row the generator writes."""
    n = _CODES_NUMBERS
    out: dict[tuple[str, str], str] = {}
    for sheets in (_monthly_sheets(n, 2024, 12), _quarterly_sheets(n, 2024, 4)):
        for sh in sheets:
            section = ""
            for row in sh.rows:
                if row.label.startswith(("A. ", "B. ")):
                    section = row.label[:1]
                if row.code:
                    key = (sh.name, (section + ":" if sh.name == "01_GRDP" else "") + _clean_label(row.label))
                    out[key] = row.code
    return out


def _clean_label(label: str) -> str:
    text = label.strip()
    for prefix in ("- ", "Trong đó: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.strip()


_CODES_NUMBERS: Any = None


def row_codes() -> dict[tuple[str, str], str]:
    """(sheet name, cleaned label) -> indicator code. GRDP rows are keyed "A:..." (current
    prices) and "B:..." (constant 2010 prices) because the labels repeat in both blocks."""
    global _CODES_NUMBERS
    if _CODES_NUMBERS is None:
        _CODES_NUMBERS = Numbers(0)
    return _label_codes()


def read_workbook(path: str | Path) -> list[dict[str, Any]]:
    """Tidy rows from one workbook: sheet, label, code, unit, column, value (float or None).
    Skips the cover, the title block, section and "Trong đó:" rows and the footnotes; converts
    text-typed numbers. Column names follow FLOW_COLUMNS / INDEX_COLUMNS / STOCK_COLUMNS."""
    from openpyxl import load_workbook

    codes = row_codes()
    wb = load_workbook(path, read_only=True, data_only=True)
    out: list[dict[str, Any]] = []
    try:
        for ws in wb.worksheets:
            if ws.title == "Bia":
                continue
            header_top = [c for c in next(ws.iter_rows(min_row=HEADER_ROWS[0], max_row=HEADER_ROWS[0], values_only=True))]
            has_unit = len(header_top) > 1 and header_top[1] == "Đơn vị tính"
            index_sheet = not has_unit
            stock_sheet = has_unit and any(isinstance(h, str) and h.startswith(("Số dư", "Thực hiện đến cuối")) for h in header_top)
            names = INDEX_COLUMNS if index_sheet else STOCK_COLUMNS if stock_sheet else FLOW_COLUMNS
            section = ""
            for row in ws.iter_rows(min_row=DATA_START_ROW, values_only=True):
                label = row[0]
                if label is None or str(label).strip() == "":
                    break
                label = str(label)
                if label.startswith(("A. ", "B. ")):
                    section = label[:1]
                key = (ws.title, (section + ":" if ws.title == "01_GRDP" else "") + _clean_label(label))
                code = codes.get(key)
                if code is None:
                    continue
                unit = row[1] if has_unit else None
                for name, value in zip(names[2 if has_unit else 1:], row[2 if has_unit else 1:]):
                    out.append({"sheet": ws.title, "label": _clean_label(label), "code": code, "unit": unit,
                                "column": name, "value": parse_vn_number(value)})
    finally:
        wb.close()
    return out


def seed_annual_2024() -> dict[str, float]:
    """The seed's 2024 annual figures (pre-merger city) the December / Q4 2024 year-to-date cells equal."""
    return {"RETAIL_SALES": 225784.2, "RETAIL_GOODS": 187683.8, "ACCOMMODATION_REVENUE": 2572.1,
            "FOOD_SERVICE_REVENUE": 24090.8, "TRAVEL_SERVICE_REVENUE": 275.9, "OTHER_SERVICE_REVENUE": 11161.6,
            "BUDGET_REVENUE": 118255.3, "BUDGET_REVENUE_DOMESTIC": 50068.0, "BUDGET_REVENUE_IMPORT_EXPORT": 67046.3,
            "BUDGET_EXPENDITURE": 39407.7, "BUDGET_EXPENDITURE_INVESTMENT": 18912.6, "BUDGET_EXPENDITURE_RECURRENT": 16076.2,
            "VISITORS_SERVED": 9103.0, "INTERNATIONAL_VISITORS": 987.8, "FREIGHT_CARRIED": 321500.0,
            "PASSENGERS_CARRIED": 85500.0, "FDI_REGISTERED": 4909.36, "FDI_NEW_PROJECTS": 126,
            "TRAFFIC_ACCIDENTS": 516, "TRAFFIC_DEATHS": 229, "TRAFFIC_INJURED": 380, "FIRES": 247,
            "GRDP_CURRENT": 445995.0, "GRDP_CONSTANT_2010": 288492.0, "GRDP_GROWTH": 11.01,
            "TOTAL_INVESTMENT": 211481.0, "INVESTMENT_STATE": 29351.0, "INVESTMENT_NON_STATE": 72841.7,
            "INVESTMENT_FDI": 109288.3, "CPI_YOY": 3.11, "IIP_GROWTH": 15.43, "POPULATION": 2124.0,
            "LABOUR_FORCE": 1050.6, "EMPLOYED": 1030.1, "DEPOSITS": 361583, "OUTSTANDING_LOANS": 249321,
            "SOCIAL_INSURANCE_PARTICIPANTS": 1987356}


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(generate(args.target, seed=args.seed).as_dict(), ensure_ascii=False, indent=2))
