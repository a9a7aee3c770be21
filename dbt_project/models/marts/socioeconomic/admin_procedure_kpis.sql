-- Administrative-procedure KPIs (chỉ số giải quyết thủ tục hành chính) per day, month, quarter and
-- year, for the whole city, each commune and each receiving agency: dossiers received, resolved on
-- time / late, returned, the backlog at the period's end, and the on-time, online and full-process
-- online rates with the framework's targets (seed §V.4.2; kpi_targets).
--
-- Counting rule: a dossier counts in the period it was RECEIVED (receipt cohort), as the city
-- reports its yearly figures (seed ~2163-2166: "609.304 hồ sơ, đúng hạn 95,59%, trực tuyến
-- 58,45%"); so the on-time rate of a recent period can still rise or fall while its dossiers
-- are resolved. The backlog (in progress at the period's end) is a stock over all dossiers.
with dossiers as (
    select * from {{ ref('int_socioeconomic__dossiers') }}
),

calendar as (
    select * from {{ ref('int_socioeconomic__calendar') }}
    where is_closed
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

targets as (
    select * from {{ ref('kpi_targets') }}
),

dossier_levels as (
    -- each dossier once per level it is reported at: the city, its commune, its agency
    select 'city' as aggregation_level, '31' as level_unit_code, 'ALL' as level_agency_code, dossiers.*
    from dossiers
    union all
    select 'commune', dossiers.commune_code, 'ALL', dossiers.*
    from dossiers
    where dossiers.commune_code is not null
    union all
    select 'agency', '31', dossiers.agency_code, dossiers.*
    from dossiers
),

cohorts as (
    select
        calendar.period_type,
        calendar.period,
        calendar.period_start,
        calendar.period_end,
        calendar.year,
        dossier_levels.aggregation_level,
        dossier_levels.level_unit_code,
        dossier_levels.level_agency_code,
        arg_max(dossier_levels.agency_name, dossier_levels.received_date) as last_agency_name,
        count(*) as dossiers_received,
        count(*) filter (where dossier_levels.is_submitted_online) as dossiers_submitted_online,
        count(*) filter (where dossier_levels.is_full_online) as dossiers_full_online,
        count(*) filter (where dossier_levels.is_resolved) as dossiers_resolved,
        count(*) filter (where dossier_levels.is_resolved_on_time) as dossiers_resolved_on_time,
        count(*) filter (where dossier_levels.is_resolved_late) as dossiers_resolved_late,
        count(*) filter (where dossier_levels.is_returned) as dossiers_returned,
        -- averaged as decimals: exact, so the mean does not depend on the order the rows are added in
        cast(avg(dossier_levels.processing_days::decimal(38, 9)) filter (where dossier_levels.is_resolved) as double)
            as avg_processing_days,
        max(dossier_levels.ingested_at) as last_ingested_at
    from dossier_levels
    inner join calendar on calendar.calendar_date = dossier_levels.received_date
    group by all
),

open_changes as (
    -- +1 on the receipt day, -1 on the closing day
    select aggregation_level, level_unit_code, level_agency_code, received_date as change_date, 1 as change
    from dossier_levels
    union all
    select aggregation_level, level_unit_code, level_agency_code, closed_date as change_date, -1 as change
    from dossier_levels
    where closed_date is not null
),

open_running as (
    select
        aggregation_level,
        level_unit_code,
        level_agency_code,
        change_date,
        sum(sum(change)) over (
            partition by aggregation_level, level_unit_code, level_agency_code
            order by change_date
        ) as open_dossiers
    from open_changes
    group by aggregation_level, level_unit_code, level_agency_code, change_date
),

with_backlog as (
    -- the backlog at the period's end: the running count at the last change on or before it
    select
        cohorts.*,
        coalesce(open_running.open_dossiers, 0) as dossiers_in_progress_end_of_period
    from cohorts
    asof left join open_running
        on cohorts.aggregation_level = open_running.aggregation_level
        and cohorts.level_unit_code = open_running.level_unit_code
        and cohorts.level_agency_code = open_running.level_agency_code
        and cohorts.period_end >= open_running.change_date
),

row_keys as (
    select distinct period_type, year, level_unit_code from cohorts
),

rate_targets as (
    -- a rate's target of the year applies to each of its days, months and quarters; a commune
    -- without a target of its own takes the city's ('31')
    select
        row_keys.period_type,
        row_keys.year,
        row_keys.level_unit_code,
        targets.indicator_code,
        arg_min(targets.target, (targets.period_type != row_keys.period_type)::int * 2
            + (targets.admin_unit_code != row_keys.level_unit_code)::int) as target,
        arg_min(targets.direction, (targets.period_type != row_keys.period_type)::int * 2
            + (targets.admin_unit_code != row_keys.level_unit_code)::int) as direction
    from row_keys
    inner join targets
        on targets.year = row_keys.year
        and targets.admin_unit_code in (row_keys.level_unit_code, '31')
        and targets.period_type in (row_keys.period_type, 'year')
    where targets.indicator_code in ('TTHC_ON_TIME_RATE', 'TTHC_ONLINE_RATE', 'TTHC_FULL_ONLINE_RATE')
    group by all
),

targets_wide as (
    select
        period_type,
        year,
        level_unit_code,
        max(target) filter (where indicator_code = 'TTHC_ON_TIME_RATE') as on_time_rate_target,
        max(direction) filter (where indicator_code = 'TTHC_ON_TIME_RATE') as on_time_rate_direction,
        max(target) filter (where indicator_code = 'TTHC_ONLINE_RATE') as online_rate_target,
        max(direction) filter (where indicator_code = 'TTHC_ONLINE_RATE') as online_rate_direction,
        max(target) filter (where indicator_code = 'TTHC_FULL_ONLINE_RATE') as full_online_rate_target,
        max(direction) filter (where indicator_code = 'TTHC_FULL_ONLINE_RATE') as full_online_rate_direction
    from rate_targets
    group by all
),

rates as (
    select
        with_backlog.*,
        100.0 * dossiers_resolved_on_time / nullif(dossiers_resolved, 0) as on_time_rate,
        100.0 * dossiers_submitted_online / nullif(dossiers_received, 0) as online_rate,
        100.0 * dossiers_full_online / nullif(dossiers_received, 0) as full_online_rate
    from with_backlog
),

final as (
    select
        rates.period_type,
        rates.period,
        rates.period_start,
        rates.period_end,
        cast(rates.year as integer) as year,
        rates.aggregation_level,
        rates.level_unit_code as admin_unit_code,
        case when rates.level_unit_code = '31' then 'Thành phố Hải Phòng' else units.unit_full_name end
            as admin_unit_name,
        rates.level_agency_code as agency_code,
        case when rates.level_agency_code = 'ALL' then 'Tất cả cơ quan tiếp nhận' else rates.last_agency_name end
            as agency_name,
        cast(rates.dossiers_received as bigint) as dossiers_received,
        cast(rates.dossiers_submitted_online as bigint) as dossiers_submitted_online,
        cast(rates.dossiers_full_online as bigint) as dossiers_full_online,
        cast(rates.dossiers_resolved as bigint) as dossiers_resolved,
        cast(rates.dossiers_resolved_on_time as bigint) as dossiers_resolved_on_time,
        cast(rates.dossiers_resolved_late as bigint) as dossiers_resolved_late,
        cast(rates.dossiers_returned as bigint) as dossiers_returned,
        cast(rates.dossiers_in_progress_end_of_period as bigint) as dossiers_in_progress_end_of_period,
        cast(rates.avg_processing_days as double) as avg_processing_days,
        rates.on_time_rate,
        rates.online_rate,
        rates.full_online_rate,
        targets_wide.on_time_rate_target,
        {{ ioc_status('rates.on_time_rate', 'targets_wide.on_time_rate_target', 'targets_wide.on_time_rate_direction') }}
            as on_time_rate_status,
        targets_wide.online_rate_target,
        {{ ioc_status('rates.online_rate', 'targets_wide.online_rate_target', 'targets_wide.online_rate_direction') }}
            as online_rate_status,
        targets_wide.full_online_rate_target,
        {{ ioc_status('rates.full_online_rate', 'targets_wide.full_online_rate_target', 'targets_wide.full_online_rate_direction') }}
            as full_online_rate_status,
        cast(timezone('UTC', rates.last_ingested_at) as timestamp) as freshness_ts
    from rates
    left join units on rates.level_unit_code = units.unit_code
    left join targets_wide
        on rates.period_type = targets_wide.period_type
        and rates.year = targets_wide.year
        and rates.level_unit_code = targets_wide.level_unit_code
)

select * from final
