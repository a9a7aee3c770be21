-- Workbook cells pivoted to one row per workbook row code and reported period, one column per
-- measure the indicator fact reads. The workbook layout decides the kind of row:
--   flow  (period, same period last year, year-to-date, ...)     e.g. retail sales, GRDP, labour force
--   stock (end of period, same time last year)                    e.g. deposits, population
--   index (index columns only, previous year = 100)               e.g. IIP, CPI
with cells as (
    select 'month' as native_period_type, * from {{ ref('stg_processed_statistics__monthly_indicator') }}
    union all
    select 'quarter' as native_period_type, * from {{ ref('stg_processed_statistics__quarterly_indicator') }}
),

pivoted as (
    select
        native_period_type,
        indicator_code as row_code,
        sheet,
        period_start,
        period_end,
        year,
        period_number,
        case
            when bool_or(measure = 'period') then 'flow'
            when bool_or(measure = 'end_of_period') then 'stock'
            else 'index'
        end as series_kind,
        max(value) filter (where measure = 'period') as period_value,
        max(value) filter (where measure = 'period_last_year') as period_last_year,
        max(value) filter (where measure = 'ytd') as ytd_value,
        max(value) filter (where measure = 'ytd_last_year') as ytd_last_year,
        max(value) filter (where measure = 'index_ytd') as index_ytd,
        max(value) filter (where measure = 'end_of_period') as end_of_period,
        max(value) filter (where measure = 'end_of_period_last_year') as end_of_period_last_year,
        max(city_scope) as city_scope,
        max(ingested_at) as ingested_at
    from cells
    group by native_period_type, indicator_code, sheet, period_start, period_end, year, period_number
)

select * from pivoted
