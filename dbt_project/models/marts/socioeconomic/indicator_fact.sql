-- The socio-economic indicator fact (bảng sự kiện chỉ tiêu kinh tế - xã hội): one row per
-- indicator, period (month, quarter, year) and administrative unit, for every catalogue indicator
-- a sector system reports: the statistics office's workbooks (city-wide), the one-stop TTHC system
-- and the IoT monitoring stations (city and communes).
--
-- Per row: the value; the same period of the previous year (as the statistics office restates it
-- on the current city scope where it prints one, else the previous year's row), the change and the
-- growth; the year-to-date figure (sum for additive indicators, the office's cumulative column,
-- rates recomputed from cumulative counts, the value itself for stocks); the target from
-- kpi_targets and the plan achievement value / target; the annual target and the year-to-date
-- achievement against it.
with statistics_values as (
    select * from {{ ref('int_socioeconomic__statistics_values') }}
),

tthc_values as (
    select * from {{ ref('int_socioeconomic__tthc_values') }}
),

iot_values as (
    select * from {{ ref('int_socioeconomic__iot_values') }}
),

catalogue as (
    select * from {{ ref('int_socioeconomic__indicator_catalogue') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

targets as (
    select * from {{ ref('kpi_targets') }}
),

all_values as (
    select * from statistics_values
    union all
    select * from tthc_values
    union all
    select * from iot_values
),

with_catalogue as (
    select
        all_values.*,
        catalogue.indicator_name,
        catalogue.indicator_name_en,
        catalogue.indicator_group,
        catalogue.unit,
        catalogue.aggregation,
        catalogue.source_system
    from all_values
    inner join catalogue on all_values.indicator_code = catalogue.indicator_code
),

with_last_year as (
    select
        current_year.*,
        coalesce(current_year.value_last_year, previous_year.value) as comparable_last_year
    from with_catalogue as current_year
    left join all_values as previous_year
        on previous_year.indicator_code = current_year.indicator_code
        and previous_year.period_type = current_year.period_type
        and previous_year.admin_unit_code = current_year.admin_unit_code
        and previous_year.period_start = cast(current_year.period_start - interval 1 year as date)
),

row_keys as (
    select distinct indicator_code, aggregation, period_type, year, admin_unit_code from with_catalogue
),

period_targets as (
    -- The target of the row's own period type; for a rate or level (aggregation avg or last) the
    -- year's target also holds for each of its months and quarters. A commune without a target of
    -- its own takes the city's ('31'). Nearest first: own period and unit, then the city's, then
    -- the year's.
    select
        row_keys.indicator_code,
        row_keys.period_type,
        row_keys.year,
        row_keys.admin_unit_code,
        arg_min(targets.target, (targets.period_type != row_keys.period_type)::int * 2
            + (targets.admin_unit_code != row_keys.admin_unit_code)::int) as target,
        arg_min(targets.direction, (targets.period_type != row_keys.period_type)::int * 2
            + (targets.admin_unit_code != row_keys.admin_unit_code)::int) as direction
    from row_keys
    inner join targets
        on targets.indicator_code = row_keys.indicator_code
        and targets.year = row_keys.year
        and targets.admin_unit_code in (row_keys.admin_unit_code, '31')
        and (
            targets.period_type = row_keys.period_type
            or (targets.period_type = 'year' and row_keys.aggregation != 'sum')
        )
    group by all
),

annual_targets as (
    select
        row_keys.indicator_code,
        row_keys.period_type,
        row_keys.year,
        row_keys.admin_unit_code,
        arg_min(targets.target, (targets.admin_unit_code != row_keys.admin_unit_code)::int) as annual_target
    from row_keys
    inner join targets
        on targets.indicator_code = row_keys.indicator_code
        and targets.year = row_keys.year
        and targets.admin_unit_code in (row_keys.admin_unit_code, '31')
        and targets.period_type = 'year'
    group by all
),

final as (
    select
        facts.indicator_code,
        facts.indicator_name,
        facts.indicator_name_en,
        facts.indicator_group,
        facts.unit,
        facts.aggregation,
        facts.source_system,
        facts.period_type,
        facts.period,
        facts.period_start,
        facts.period_end,
        cast(facts.year as integer) as year,
        facts.admin_unit_code,
        case when facts.admin_unit_code = '31' then 'city' else 'commune' end as admin_unit_level,
        case when facts.admin_unit_code = '31' then 'Thành phố Hải Phòng' else units.unit_full_name end
            as admin_unit_name,
        facts.city_scope,
        cast(facts.value as double) as value,
        cast(facts.comparable_last_year as double) as value_last_year,
        cast(facts.value - facts.comparable_last_year as double) as yoy_change,
        -- a growth of a percentage is not meaningful: rates get the change in points only
        case
            when facts.unit != '%' and facts.comparable_last_year != 0
                then 100.0 * (facts.value - facts.comparable_last_year) / facts.comparable_last_year
        end as yoy_growth_pct,
        cast(facts.ytd_value as double) as ytd_value,
        period_targets.target,
        period_targets.direction as target_direction,
        facts.value / nullif(period_targets.target, 0) as plan_achievement,
        {{ ioc_status('facts.value', 'period_targets.target', 'period_targets.direction') }} as status,
        annual_targets.annual_target,
        facts.ytd_value / nullif(annual_targets.annual_target, 0) as ytd_plan_achievement,
        facts.freshness_ts
    from with_last_year as facts
    left join units on facts.admin_unit_code = units.unit_code
    left join period_targets
        on facts.indicator_code = period_targets.indicator_code
        and facts.period_type = period_targets.period_type
        and facts.year = period_targets.year
        and facts.admin_unit_code = period_targets.admin_unit_code
    left join annual_targets
        on facts.indicator_code = annual_targets.indicator_code
        and facts.period_type = annual_targets.period_type
        and facts.year = annual_targets.year
        and facts.admin_unit_code = annual_targets.admin_unit_code
)

select * from final
