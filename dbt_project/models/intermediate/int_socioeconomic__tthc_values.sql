-- The TTHC catalogue indicators (TTHC_*) from the administrative-procedure KPI mart, for the city
-- and each commune, by month, quarter and year, with their year-to-date figures. Rates are
-- recomputed from their counts at every level and for the year to date (the catalogue's rule for a
-- rate that is a ratio of two catalogued counts), never averaged.
with kpis as (
    select * from {{ ref('admin_procedure_kpis') }}
    where aggregation_level in ('city', 'commune')
        and period_type in ('month', 'quarter', 'year')
),

measures (indicator_code, aggregation) as (
    values
        ('TTHC_RECEIVED', 'sum'),
        ('TTHC_RESOLVED_ON_TIME', 'sum'),
        ('TTHC_RESOLVED_LATE', 'sum'),
        ('TTHC_RETURNED', 'sum'),
        ('TTHC_IN_PROGRESS', 'last'),
        ('TTHC_ON_TIME_RATE', 'ratio'),
        ('TTHC_ONLINE_RATE', 'ratio'),
        ('TTHC_FULL_ONLINE_RATE', 'ratio')
),

long as (
    select
        measures.indicator_code,
        measures.aggregation,
        kpis.period_type,
        kpis.period,
        kpis.period_start,
        kpis.period_end,
        kpis.year,
        kpis.admin_unit_code,
        kpis.freshness_ts,
        case measures.indicator_code
            when 'TTHC_RECEIVED' then kpis.dossiers_received
            when 'TTHC_RESOLVED_ON_TIME' then kpis.dossiers_resolved_on_time
            when 'TTHC_RESOLVED_LATE' then kpis.dossiers_resolved_late
            when 'TTHC_RETURNED' then kpis.dossiers_returned
            when 'TTHC_IN_PROGRESS' then kpis.dossiers_in_progress_end_of_period
            when 'TTHC_ON_TIME_RATE' then kpis.dossiers_resolved_on_time
            when 'TTHC_ONLINE_RATE' then kpis.dossiers_submitted_online
            when 'TTHC_FULL_ONLINE_RATE' then kpis.dossiers_full_online
        end as numerator,
        case measures.indicator_code
            when 'TTHC_ON_TIME_RATE' then kpis.dossiers_resolved
            when 'TTHC_ONLINE_RATE' then kpis.dossiers_received
            when 'TTHC_FULL_ONLINE_RATE' then kpis.dossiers_received
        end as denominator
    from kpis
    cross join measures
),

year_to_date as (
    select
        *,
        sum(numerator) over ytd_window as ytd_numerator,
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
        when aggregation = 'ratio' then 100.0 * numerator / nullif(denominator, 0)
        else cast(numerator as double)
    end as value,
    cast(null as double) as value_last_year,
    case
        when aggregation = 'ratio' then 100.0 * ytd_numerator / nullif(ytd_denominator, 0)
        when aggregation = 'sum' then cast(ytd_numerator as double)
        else cast(numerator as double)
    end as ytd_value,
    case when period_end >= date '2025-07-01' then 'merged' else 'pre_merger' end as city_scope,
    freshness_ts
from year_to_date
-- a rate without a denominator (no dossier resolved yet) has no value
where not (aggregation = 'ratio' and coalesce(denominator, 0) = 0)
