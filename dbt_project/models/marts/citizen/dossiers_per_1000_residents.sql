-- Administrative procedure dossiers received per 1,000 residents (số hồ sơ thủ tục hành chính trên
-- 1.000 dân) by commune-level unit and month, and for the whole city.
--
-- Months start in 07/2025: before the merger the one-stop system served the pre-merger city and
-- filed dossiers under pre-2025 units (split units cannot be placed), so a per-commune rate of the
-- merged city over those months would compare dossiers of part of the city with all its residents.
-- Residents are the active residents of the residence register at the run (one denominator for
-- every month: the register keeps no monthly population). The city row counts every dossier, also
-- those whose applicant's commune cannot be decided.
with dossiers as (
    select * from {{ ref('int_socioeconomic__dossiers') }}
),

calendar as (
    select * from {{ ref('int_socioeconomic__calendar') }}
    where period_type = 'month' and is_closed
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

residents as (
    select commune_code, count(*) as residents
    from {{ ref('stg_integrated__citizen') }}
    group by commune_code
),

unit_residents as (
    select '31' as admin_unit_code, sum(residents) as residents from residents
    union all
    select units.unit_code, coalesce(residents.residents, 0)
    from units
    left join residents on units.unit_code = residents.commune_code
),

months as (
    -- merged-city months up to the last month the system has dossiers for
    select distinct period, period_start, period_end
    from calendar
    where period_start >= date '2025-07-01'
        and period_start <= (select max(received_date) from dossiers)
),

dossier_units as (
    select '31' as admin_unit_code, dossiers.* from dossiers
    union all
    select dossiers.commune_code, dossiers.* from dossiers where dossiers.commune_code is not null
),

counted as (
    select
        months.period,
        dossier_units.admin_unit_code,
        count(*) as dossiers_received,
        count(*) filter (where dossier_units.applicant_type = 'citizen') as citizen_dossiers_received,
        max(dossier_units.ingested_at) as last_ingested_at
    from dossier_units
    inner join months
        on dossier_units.received_date between months.period_start and months.period_end
    group by all
),

final as (
    -- every unit in every month: a month without dossiers is a zero, not a gap
    select
        months.period as month,
        months.period_start as month_start,
        months.period_end as month_end,
        unit_residents.admin_unit_code,
        case when unit_residents.admin_unit_code = '31' then 'city' else 'commune' end as admin_unit_level,
        case when unit_residents.admin_unit_code = '31' then 'Thành phố Hải Phòng' else units.unit_full_name end
            as admin_unit_name,
        cast(coalesce(counted.dossiers_received, 0) as bigint) as dossiers_received,
        cast(coalesce(counted.citizen_dossiers_received, 0) as bigint) as citizen_dossiers_received,
        cast(unit_residents.residents as bigint) as residents,
        1000.0 * coalesce(counted.dossiers_received, 0) / nullif(unit_residents.residents, 0)
            as dossiers_per_1000_residents,
        1000.0 * coalesce(counted.citizen_dossiers_received, 0) / nullif(unit_residents.residents, 0)
            as citizen_dossiers_per_1000_residents,
        cast('{{ var("as_of_date") }}' as date) as residents_as_of_date,
        -- a zero is as fresh as the month's latest dossier anywhere in the city
        cast(timezone('UTC', coalesce(counted.last_ingested_at, city.last_ingested_at)) as timestamp) as freshness_ts
    from months
    cross join unit_residents
    left join units on unit_residents.admin_unit_code = units.unit_code
    left join counted
        on counted.period = months.period
        and counted.admin_unit_code = unit_residents.admin_unit_code
    left join counted as city
        on city.period = months.period
        and city.admin_unit_code = '31'
)

select * from final
