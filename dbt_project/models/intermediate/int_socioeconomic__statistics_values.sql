-- Catalogue indicators reported by the statistics office, at the catalogue's periodicity and every
-- coarser period (month -> quarter -> year), city-wide (admin unit '31').
--
-- How a value is read (kho/sources/statistics.py documents the workbooks):
-- * growth indicators are the year-to-date index of a workbook row minus 100 (GROWTH_FROM_INDEX
--   there: GRDP_GROWTH is the constant-price GRDP row's index, IIP_GROWTH and CPI_YOY their rows');
-- * stocks are the end-of-period column; flows and labour levels the period column.
-- How a coarser period is built (the catalogue's aggregation):
-- * sum, quarter of months: the sum of the three months (all three must be reported);
-- * sum, year: the office's year-to-date column of the year's last period. Not the sum of the
--   periods: from 07/2025 the office restates year-to-date figures on the merged city, so the
--   months of 2025 describe two different cities and must not be added up;
-- * avg, year: the year-to-date average of the last quarter; avg, quarter of months: the mean;
-- * last: the value of the period's last sub-period.
-- A coarser period is published only when its last sub-period is reported (the year 2026 is not,
-- before its December report). The same-period-last-year figure is the one the office prints,
-- restated on the current scope; the fact fills it from the previous year's row where the
-- workbook has none (growth indicators, annual rates).
with catalogue as (
    select * from {{ ref('int_socioeconomic__indicator_catalogue') }}
    where source_system = 'statistics'
),

growth_rows (indicator_code, row_code) as (
    values
        ('GRDP_GROWTH', 'GRDP_CONSTANT_2010'),
        ('GRDP_AGRI_GROWTH', 'GRDP_AGRI_CONSTANT'),
        ('GRDP_INDUSTRY_CONSTRUCTION_GROWTH', 'GRDP_INDUSTRY_CONSTRUCTION_CONSTANT'),
        ('GRDP_SERVICES_GROWTH', 'GRDP_SERVICES_CONSTANT'),
        ('GRDP_PRODUCT_TAX_GROWTH', 'GRDP_PRODUCT_TAX_CONSTANT'),
        ('IIP_GROWTH', 'IIP_GROWTH'),
        ('CPI_YOY', 'CPI_YOY')
),

period_rank (period_type, period_rank) as (
    values ('month', 1), ('quarter', 2), ('year', 3)
),

mapped as (
    select
        catalogue.indicator_code,
        catalogue.periodicity,
        catalogue.aggregation,
        coalesce(growth_rows.row_code, catalogue.indicator_code) as row_code,
        growth_rows.row_code is not null as from_index
    from catalogue
    left join growth_rows on catalogue.indicator_code = growth_rows.indicator_code
),

native as (
    select
        mapped.indicator_code,
        mapped.periodicity,
        mapped.aggregation,
        series.native_period_type,
        series.period_start,
        series.period_end,
        series.city_scope,
        series.ingested_at,
        case
            when mapped.from_index then series.index_ytd - 100
            when series.series_kind = 'stock' then series.end_of_period
            else series.period_value
        end as value,
        case
            when mapped.from_index then null
            when series.series_kind = 'stock' then series.end_of_period_last_year
            else series.period_last_year
        end as value_last_year,
        case
            when mapped.from_index then series.index_ytd - 100
            when series.series_kind = 'stock' then series.end_of_period
            else series.ytd_value
        end as ytd_value,
        case
            when series.series_kind = 'flow' and not mapped.from_index then series.ytd_last_year
        end as ytd_last_year
    from mapped
    inner join {{ ref('int_socioeconomic__statistics_series') }} as series
        on series.row_code = mapped.row_code
),

reported as (
    -- '..' (unavailable) and '-' (not applicable) cells carry no value: e.g. annual indicators
    -- are printed only in the fourth-quarter workbook
    select * from native where value is not null
),

own_period as (
    select
        reported.indicator_code,
        reported.native_period_type as period_type,
        calendar.period,
        calendar.period_start,
        calendar.period_end,
        calendar.year,
        reported.value,
        reported.value_last_year,
        reported.ytd_value,
        reported.city_scope,
        reported.ingested_at as freshness_ts
    from reported
    inner join {{ ref('int_socioeconomic__calendar') }} as calendar
        on calendar.calendar_date = reported.period_start
        and calendar.period_type = reported.native_period_type
    where reported.periodicity = reported.native_period_type
),

coarser as (
    select
        reported.*,
        calendar.period_type as target_period_type,
        calendar.period,
        calendar.period_start as target_start,
        calendar.period_end as target_end,
        calendar.year as target_year
    from reported
    inner join {{ ref('int_socioeconomic__calendar') }} as calendar
        on calendar.calendar_date = reported.period_start
    inner join period_rank as native_rank on native_rank.period_type = reported.native_period_type
    inner join period_rank as target_rank on target_rank.period_type = calendar.period_type
    inner join period_rank as published_rank on published_rank.period_type = reported.periodicity
    where target_rank.period_rank > native_rank.period_rank
        and target_rank.period_rank >= published_rank.period_rank
),

rolled as (
    select
        indicator_code,
        aggregation,
        native_period_type,
        target_period_type as period_type,
        period,
        target_start as period_start,
        target_end as period_end,
        target_year as year,
        count(*) as parts,
        max(period_end) as last_part_end,
        -- added as decimals: exact, so the result does not depend on the order DuckDB's threads
        -- add the parts in (a double sum can differ in its last bit from one build to the next)
        cast(sum(value::decimal(38, 9)) as double) as sum_value,
        case when count(value_last_year) = count(*) then cast(sum(value_last_year::decimal(38, 9)) as double)
        end as sum_last_year,
        cast(avg(value::decimal(38, 9)) as double) as avg_value,
        case when count(value_last_year) = count(*) then cast(avg(value_last_year::decimal(38, 9)) as double)
        end as avg_last_year,
        arg_max_null(value, period_end) as last_value,
        arg_max_null(value_last_year, period_end) as last_value_last_year,
        arg_max_null(ytd_value, period_end) as last_ytd,
        arg_max_null(ytd_last_year, period_end) as last_ytd_last_year,
        arg_max_null(city_scope, period_end) as city_scope,
        max(ingested_at) as freshness_ts
    from coarser
    group by all
),

rolled_values as (
    select
        indicator_code,
        period_type,
        period,
        period_start,
        period_end,
        year,
        case
            when aggregation = 'sum' and period_type = 'year' then last_ytd
            when aggregation = 'sum' then sum_value
            when aggregation = 'avg' and period_type = 'year' then last_ytd
            when aggregation = 'avg' then avg_value
            else last_value
        end as value,
        case
            when aggregation = 'sum' and period_type = 'year' then last_ytd_last_year
            when aggregation = 'sum' then sum_last_year
            when aggregation = 'avg' and period_type = 'year' then last_ytd_last_year
            when aggregation = 'avg' then avg_last_year
            else last_value_last_year
        end as value_last_year,
        -- year to date at the period's end: the office's cumulative column, or the value of a stock
        case when aggregation = 'last' then last_value else last_ytd end as ytd_value,
        city_scope,
        freshness_ts
    from rolled
    -- the last sub-period must be reported; a sum over months needs all three months
    where last_part_end = period_end
        and not (aggregation = 'sum' and period_type = 'quarter' and native_period_type = 'month' and parts < 3)
)

select
    indicator_code,
    period_type,
    period,
    period_start,
    period_end,
    year,
    '31' as admin_unit_code,
    value,
    value_last_year,
    ytd_value,
    city_scope,
    cast(timezone('UTC', freshness_ts) as timestamp) as freshness_ts
from own_period
union all
select
    indicator_code,
    period_type,
    period,
    period_start,
    period_end,
    year,
    '31' as admin_unit_code,
    value,
    value_last_year,
    ytd_value,
    city_scope,
    cast(timezone('UTC', freshness_ts) as timestamp) as freshness_ts
from rolled_values
where value is not null
