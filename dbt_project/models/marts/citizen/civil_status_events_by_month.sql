-- Civil-status events registered per month and commune (sự kiện hộ tịch theo tháng): births,
-- deaths and marriages counted by registration month and registering unit. Dense: every unit
-- and every month of the registers' span has a row per event type, so a month without a birth
-- reads 0 rather than missing.
with events as (
    select * from {{ ref('int_citizen__civil_status_events') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

event_types as (
    select * from (values
        ('birth', 'khai sinh'),
        ('death', 'khai tử'),
        ('marriage', 'kết hôn')
    ) as t (event_type, event_type_vi)
),

span as (
    select
        date_trunc('month', min(registration_date)) as first_month,
        date_trunc('month', max(registration_date)) as last_month
    from events
),

months as (
    select cast(month_start as date) as month_start
    from span, unnest(generate_series(span.first_month, span.last_month, interval 1 month)) as m (month_start)
),

-- A zero count is only known from the whole register load, so every row of an event type
-- carries that register's latest arrival.
register_freshness as (
    select event_type, max(ingested_at) as ingested_at
    from events
    group by event_type
),

counted as (
    select
        event_type,
        cast(date_trunc('month', registration_date) as date) as month_start,
        commune_code,
        count(*) as registrations,
        cast(count_if(coalesce(late_registration, false)) as bigint) as late_registrations,
        cast(count_if(coalesce(sex = 'M', false)) as bigint) as registrations_male,
        cast(count_if(coalesce(sex = 'F', false)) as bigint) as registrations_female
    from events
    group by all
),

grid as (
    select event_types.event_type, event_types.event_type_vi, months.month_start, units.unit_code,
           units.unit_name, units.unit_type
    from event_types
    cross join months
    cross join units
),

final as (
    select
        grid.event_type,
        grid.event_type_vi,
        grid.month_start,
        strftime(grid.month_start, '%Y-%m') as month,
        strftime(grid.month_start, '%Y') || '-Q' || cast(quarter(grid.month_start) as varchar) as quarter,
        cast(year(grid.month_start) as integer) as year,
        grid.unit_code as commune_code,
        grid.unit_name as commune_name,
        grid.unit_type as commune_type,
        coalesce(counted.registrations, 0) as registrations,
        case when grid.event_type <> 'marriage' then coalesce(counted.late_registrations, 0) end as late_registrations,
        case when grid.event_type <> 'marriage' then coalesce(counted.registrations_male, 0) end as registrations_male,
        case when grid.event_type <> 'marriage' then coalesce(counted.registrations_female, 0) end as registrations_female,
        timezone('UTC', register_freshness.ingested_at) as source_ingested_at
    from grid
    left join counted
        on grid.event_type = counted.event_type
        and grid.month_start = counted.month_start
        and grid.unit_code = counted.commune_code
    left join register_freshness on grid.event_type = register_freshness.event_type
)

select * from final
order by event_type, month_start, commune_code
