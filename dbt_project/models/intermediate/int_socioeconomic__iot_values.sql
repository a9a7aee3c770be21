-- The IoT catalogue indicators (AQI_GOOD_DAYS, AQI_AVG, PM25_AVG, TRAFFIC_FLOW_AVG,
-- TRAFFIC_SPEED_AVG) per commune and for the city by month, quarter and year, with year-to-date
-- figures. Means are taken over days (air: unit-days; traffic: station-days) from the daily table,
-- for every period type directly, so a quarter is not a mean of monthly means.
with daily as (
    select * from {{ ref('int_socioeconomic__iot_daily') }}
),

calendar as (
    select * from {{ ref('int_socioeconomic__calendar') }}
    where is_closed and period_type in ('month', 'quarter', 'year')
),

per_period as (
    select
        calendar.period_type,
        calendar.period,
        calendar.period_start,
        calendar.period_end,
        calendar.year,
        daily.admin_unit_code,
        -- good air (VN_AQI 0-50) on a day: the unit's daily AQI
        count(*) filter (where daily.aqi <= 50) as aqi_good_days,
        count(daily.aqi) as aqi_days,
        -- summed as decimals: exact, whatever order the days are added in
        cast(sum(daily.aqi::decimal(38, 9)) as double) as aqi_sum,
        count(daily.pm25) as pm25_days,
        cast(sum(daily.pm25::decimal(38, 9)) as double) as pm25_sum,
        cast(sum(daily.traffic_flow_sum::decimal(38, 9)) as double) as traffic_flow_sum,
        sum(daily.traffic_flow_station_days) as traffic_flow_station_days,
        cast(sum(daily.speed_sum::decimal(38, 9)) as double) as speed_sum,
        sum(daily.speed_station_days) as speed_station_days,
        max(daily.freshness_ts) as freshness_ts
    from daily
    inner join calendar on calendar.calendar_date = daily.local_date
    group by all
),

measures (indicator_code, aggregation) as (
    values
        ('AQI_GOOD_DAYS', 'sum'),
        ('AQI_AVG', 'ratio'),
        ('PM25_AVG', 'ratio'),
        ('TRAFFIC_FLOW_AVG', 'ratio'),
        ('TRAFFIC_SPEED_AVG', 'ratio')
),

long as (
    select
        measures.indicator_code,
        measures.aggregation,
        per_period.period_type,
        per_period.period,
        per_period.period_start,
        per_period.period_end,
        per_period.year,
        per_period.admin_unit_code,
        per_period.freshness_ts,
        case measures.indicator_code
            when 'AQI_GOOD_DAYS' then per_period.aqi_good_days
            when 'AQI_AVG' then per_period.aqi_sum
            when 'PM25_AVG' then per_period.pm25_sum
            when 'TRAFFIC_FLOW_AVG' then per_period.traffic_flow_sum
            when 'TRAFFIC_SPEED_AVG' then per_period.speed_sum
        end as numerator,
        case measures.indicator_code
            -- good days are counted only where the air was measured
            when 'AQI_GOOD_DAYS' then per_period.aqi_days
            when 'AQI_AVG' then per_period.aqi_days
            when 'PM25_AVG' then per_period.pm25_days
            when 'TRAFFIC_FLOW_AVG' then per_period.traffic_flow_station_days
            when 'TRAFFIC_SPEED_AVG' then per_period.speed_station_days
        end as denominator
    from per_period
    cross join measures
),

year_to_date as (
    select
        *,
        cast(sum(numerator::decimal(38, 9)) over ytd_window as double) as ytd_numerator,
        sum(denominator) over ytd_window as ytd_denominator
    from long
    window ytd_window as (
        partition by indicator_code, period_type, admin_unit_code, year
        order by period_start
        rows between unbounded preceding and current row
    )
)

select
    indicator_code,
    period_type,
    period,
    period_start,
    period_end,
    year,
    admin_unit_code,
    case
        when aggregation = 'ratio' then cast(numerator as double) / denominator
        else cast(numerator as double)
    end as value,
    cast(null as double) as value_last_year,
    case
        when aggregation = 'ratio' then cast(ytd_numerator as double) / ytd_denominator
        else cast(ytd_numerator as double)
    end as ytd_value,
    case when period_end >= date '2025-07-01' then 'merged' else 'pre_merger' end as city_scope,
    freshness_ts
from year_to_date
-- no measured day, no value (a station type the unit does not have, or a period without data)
where coalesce(denominator, 0) > 0
