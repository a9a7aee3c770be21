-- IOC KPI table of the enterprise dashboard area (chỉ số điều hành lĩnh vực doanh nghiệp, hộ kinh
-- doanh): one row per indicator, period and administrative unit, in the contract every IOC table
-- shares, derived from the enterprise marts only.
--   day      stocks on the run's logical date: active enterprises, household businesses, capital
--   month    flows in each month of the dashboard window (var ioc_history_start .. the logical
--            date's month, month-to-date): registrations, dissolutions, new and added capital;
--   quarter, year  sums of complete quarters and years of the window.
-- Every unit gets a row for every period, 0 when the register has no event: the register is
-- complete, so no event is a true zero, not a gap. The city row ('31') sums its units.
{%- set as_of = "cast('" ~ var('as_of_date') ~ "' as date)" %}
{%- set window_start = "cast('" ~ var('ioc_history_start', '2021-01-01') ~ "' as date)" %}
with active as (
    select * from {{ ref('active_businesses_by_industry_commune') }}
),

lifecycle as (
    select * from {{ ref('business_lifecycle_by_month') }}
),

capital as (
    select * from {{ ref('registered_capital_by_month') }}
),

units as (
    select unit_code, unit_name from {{ ref('stg_reference__admin_units') }}
),

targets as (
    select
        indicator_code,
        period_type,
        cast(year as integer) as target_year,
        cast(admin_unit_code as varchar) as admin_unit_code,
        cast(target as double) as target,
        direction
    from {{ ref('kpi_targets') }}
),

-- grain: the period type the mart gives; scope: commune (rows per unit, summed for the city) or
-- city (the mart has no unit); aggregation: sum (a flow: a yearly target applies to the year row
-- only) or level (a stock: a yearly target applies to every period of the year)
indicators as (
    select * from (values
        ('ENT_ACTIVE_ENTERPRISES', 'Số doanh nghiệp đang hoạt động', 'Active enterprises',
         'doanh nghiệp', 'day', 'commune', 'level'),
        ('ENT_ACTIVE_HOUSEHOLD_BUSINESSES', 'Số hộ kinh doanh đang hoạt động', 'Active household businesses',
         'hộ', 'day', 'commune', 'level'),
        ('ENT_ACTIVE_ENTERPRISE_CAPITAL', 'Vốn đăng ký của doanh nghiệp đang hoạt động',
         'Registered capital of active enterprises', 'tỷ đồng', 'day', 'commune', 'level'),
        ('ENT_NEW_ENTERPRISES', 'Số doanh nghiệp đăng ký thành lập mới', 'Newly registered enterprises',
         'doanh nghiệp', 'month', 'commune', 'sum'),
        ('ENT_NEW_HOUSEHOLD_BUSINESSES', 'Số hộ kinh doanh đăng ký mới', 'Newly registered household businesses',
         'hộ', 'month', 'commune', 'sum'),
        ('ENT_DISSOLVED_ENTERPRISES', 'Số doanh nghiệp giải thể', 'Enterprises dissolved',
         'doanh nghiệp', 'month', 'commune', 'sum'),
        ('ENT_CEASED_HOUSEHOLD_BUSINESSES', 'Số hộ kinh doanh chấm dứt hoạt động', 'Household businesses ceased',
         'hộ', 'month', 'commune', 'sum'),
        ('ENT_NEW_AND_ADDED_CAPITAL', 'Tổng vốn đăng ký mới và tăng thêm của doanh nghiệp',
         'Capital registered by new enterprises and added by capital increases', 'tỷ đồng', 'month', 'city', 'sum')
    ) as t (indicator_code, indicator_name, indicator_name_en, unit, grain, scope, aggregation)
),

facts as (
    select
        case business_kind when 'enterprise' then 'ENT_ACTIVE_ENTERPRISES' else 'ENT_ACTIVE_HOUSEHOLD_BUSINESSES' end
            as indicator_code,
        as_of_date as period_start,
        commune_code as admin_unit_code,
        cast(active_businesses as double) as value,
        data_ingested_at as freshness_ts
    from active

    union all

    select 'ENT_ACTIVE_ENTERPRISE_CAPITAL', as_of_date, commune_code, active_registered_capital_vnd / 1e9,
           data_ingested_at
    from active
    where business_kind = 'enterprise'

    union all

    select
        case business_kind when 'enterprise' then 'ENT_NEW_ENTERPRISES' else 'ENT_NEW_HOUSEHOLD_BUSINESSES' end,
        month_start, commune_code, cast(registrations as double), data_ingested_at
    from lifecycle

    union all

    select
        case business_kind when 'enterprise' then 'ENT_DISSOLVED_ENTERPRISES' else 'ENT_CEASED_HOUSEHOLD_BUSINESSES' end,
        month_start, commune_code, cast(dissolutions as double), data_ingested_at
    from lifecycle

    union all

    select 'ENT_NEW_AND_ADDED_CAPITAL', month_start, '31', total_registered_capital_vnd / 1e9, data_ingested_at
    from capital
    where business_kind = 'enterprise'
),

-- when the register last arrived: the freshness of a zero (no row of the register is behind it,
-- but the whole register says there was none)
register_arrival as (
    select max(freshness_ts) as freshness_ts from facts
),

months as (
    select cast(month_start as date) as month_start
    from generate_series(
        cast({{ window_start }} as timestamp),
        cast(date_trunc('month', {{ as_of }}) as timestamp),
        interval 1 month
    ) as s (month_start)
),

periods as (
    select indicator_code, 'day' as period_type, {{ as_of }} as period_start, {{ as_of }} as period_end
    from indicators
    where grain = 'day'
    union all
    select indicators.indicator_code, 'month', months.month_start, last_day(months.month_start)
    from indicators
    cross join months
    where indicators.grain = 'month'
),

frame as (
    select periods.*, units.unit_code as admin_unit_code, units.unit_name as admin_unit_name
    from periods
    inner join indicators on indicators.indicator_code = periods.indicator_code
    cross join units
    where indicators.scope = 'commune'
    union all
    select periods.*, '31', 'Thành phố Hải Phòng'
    from periods
    inner join indicators on indicators.indicator_code = periods.indicator_code
    where indicators.scope = 'city'
),

framed as (
    select
        frame.indicator_code,
        frame.period_type,
        frame.period_start,
        frame.period_end,
        frame.admin_unit_code,
        frame.admin_unit_name,
        coalesce(sum(facts.value), 0) as value,
        max(facts.freshness_ts) as freshness_ts
    from frame
    left join facts
        on facts.indicator_code = frame.indicator_code
        and facts.period_start = frame.period_start
        and facts.admin_unit_code = frame.admin_unit_code
    group by all
),

with_city as (
    select * from framed
    union all
    select
        framed.indicator_code,
        framed.period_type,
        framed.period_start,
        framed.period_end,
        '31' as admin_unit_code,
        'Thành phố Hải Phòng' as admin_unit_name,
        sum(framed.value) as value,
        max(framed.freshness_ts) as freshness_ts
    from framed
    inner join indicators on indicators.indicator_code = framed.indicator_code
    where indicators.scope = 'commune'
    group by all
),

-- complete quarters and years inside the window: a partial one would read as a drop
rollups as (
    select
        indicator_code,
        'quarter' as period_type,
        cast(date_trunc('quarter', period_start) as date) as period_start,
        last_day(cast(date_trunc('quarter', period_start) as date) + interval 2 month) as period_end,
        admin_unit_code,
        admin_unit_name,
        sum(value) as value,
        max(freshness_ts) as freshness_ts
    from with_city
    where period_type = 'month'
    group by all
    having count(*) = 3 and max(period_end) <= {{ as_of }}

    union all

    select
        indicator_code,
        'year',
        cast(date_trunc('year', period_start) as date),
        cast(date_trunc('year', period_start) + interval 1 year - interval 1 day as date),
        admin_unit_code,
        admin_unit_name,
        sum(value),
        max(freshness_ts)
    from with_city
    where period_type = 'month'
    group by all
    having count(*) = 12 and max(period_end) <= {{ as_of }}
),

measured as (
    select
        rows.indicator_code,
        rows.period_type,
        rows.period_start,
        rows.period_end,
        rows.admin_unit_code,
        rows.admin_unit_name,
        round(rows.value, 3) as value,
        coalesce(rows.freshness_ts, register_arrival.freshness_ts) as freshness_ts,
        indicators.indicator_name,
        indicators.indicator_name_en,
        indicators.unit,
        indicators.aggregation
    from (select * from with_city union all select * from rollups) as rows
    inner join indicators on indicators.indicator_code = rows.indicator_code
    cross join register_arrival
),

-- the target of a row (seeds/kpi_targets.yml): same indicator and year; the unit's own target
-- before the city's; the same period type, or a yearly target for a level
targeted as (
    select
        measured.*,
        targets.target,
        targets.direction
    from measured
    left join targets
        on targets.indicator_code = measured.indicator_code
        and targets.target_year = year(measured.period_start)
        and targets.admin_unit_code in (measured.admin_unit_code, '31')
        and (targets.period_type = measured.period_type
             or (measured.aggregation = 'level' and targets.period_type = 'year'))
    qualify row_number() over (
        partition by measured.indicator_code, measured.period_type, measured.period_start, measured.admin_unit_code
        order by (targets.admin_unit_code = measured.admin_unit_code) desc nulls last,
                 (targets.period_type = measured.period_type) desc nulls last
    ) = 1
)

{{ ioc_contract_select('targeted', source_system="'business_registration'") }}
