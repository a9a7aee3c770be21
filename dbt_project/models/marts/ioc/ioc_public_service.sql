-- IOC KPI table of the public-service dashboard (chỉ số giải quyết thủ tục hành chính cho IOC):
-- the administrative-procedure KPIs per day, month, quarter and year for the city and each
-- commune, with the framework's targets, plus dossiers per 1,000 residents by month, in the shared
-- IOC contract. Derived from socioeconomic.admin_procedure_kpis and
-- citizen.dossiers_per_1000_residents; agencies are not administrative units, so the agency rows
-- of the KPI mart stay there.
with kpis as (
    -- day rows for the whole city only: a commune receives a handful of dossiers a day, so its daily
    -- rates are noise on a dashboard (and would make this table 114 times longer); the day x commune
    -- detail stays in admin_procedure_kpis
    select * from {{ ref('admin_procedure_kpis') }}
    where aggregation_level = 'city'
        or (aggregation_level = 'commune' and period_type != 'day')
),

per_1000 as (
    select * from {{ ref('dossiers_per_1000_residents') }}
),

catalogue as (
    select * from {{ ref('int_socioeconomic__indicator_catalogue') }}
),

measures (indicator_code) as (
    values
        ('TTHC_RECEIVED'),
        ('TTHC_RESOLVED_ON_TIME'),
        ('TTHC_RESOLVED_LATE'),
        ('TTHC_RETURNED'),
        ('TTHC_IN_PROGRESS'),
        ('TTHC_ON_TIME_RATE'),
        ('TTHC_ONLINE_RATE'),
        ('TTHC_FULL_ONLINE_RATE')
),

procedure_rows as (
    select
        measures.indicator_code,
        kpis.period_type,
        kpis.period,
        kpis.period_start,
        kpis.period_end,
        kpis.admin_unit_code,
        kpis.admin_unit_name,
        case measures.indicator_code
            when 'TTHC_RECEIVED' then cast(kpis.dossiers_received as double)
            when 'TTHC_RESOLVED_ON_TIME' then cast(kpis.dossiers_resolved_on_time as double)
            when 'TTHC_RESOLVED_LATE' then cast(kpis.dossiers_resolved_late as double)
            when 'TTHC_RETURNED' then cast(kpis.dossiers_returned as double)
            when 'TTHC_IN_PROGRESS' then cast(kpis.dossiers_in_progress_end_of_period as double)
            when 'TTHC_ON_TIME_RATE' then kpis.on_time_rate
            when 'TTHC_ONLINE_RATE' then kpis.online_rate
            when 'TTHC_FULL_ONLINE_RATE' then kpis.full_online_rate
        end as value,
        case measures.indicator_code
            when 'TTHC_ON_TIME_RATE' then kpis.on_time_rate_target
            when 'TTHC_ONLINE_RATE' then kpis.online_rate_target
            when 'TTHC_FULL_ONLINE_RATE' then kpis.full_online_rate_target
        end as target,
        case measures.indicator_code
            when 'TTHC_ON_TIME_RATE' then kpis.on_time_rate_status
            when 'TTHC_ONLINE_RATE' then kpis.online_rate_status
            when 'TTHC_FULL_ONLINE_RATE' then kpis.full_online_rate_status
            else 'no_target'
        end as status,
        'dossiers' as source_system,
        kpis.freshness_ts
    from kpis
    cross join measures
),

per_1000_rows as (
    select
        'TTHC_PER_1000_RESIDENTS' as indicator_code,
        'month' as period_type,
        per_1000.month as period,
        per_1000.month_start as period_start,
        per_1000.month_end as period_end,
        per_1000.admin_unit_code,
        per_1000.admin_unit_name,
        per_1000.dossiers_per_1000_residents as value,
        cast(null as double) as target,
        'no_target' as status,
        -- dossiers from the one-stop system over residents of the residence register
        'dossiers, population' as source_system,
        per_1000.freshness_ts
    from per_1000
),

all_rows as (
    select * from procedure_rows
    union all
    select * from per_1000_rows
)

select
    all_rows.indicator_code,
    catalogue.indicator_name,
    catalogue.indicator_name_en,
    catalogue.unit,
    all_rows.period_type,
    all_rows.period,
    all_rows.period_start,
    all_rows.period_end,
    all_rows.admin_unit_code,
    all_rows.admin_unit_name,
    all_rows.value,
    all_rows.target,
    all_rows.status,
    all_rows.source_system,
    {{ data_version() }} as data_version,
    all_rows.freshness_ts
from all_rows
inner join catalogue on all_rows.indicator_code = catalogue.indicator_code
-- a rate without a denominator (no dossier resolved in the period) is not published
where all_rows.value is not null
