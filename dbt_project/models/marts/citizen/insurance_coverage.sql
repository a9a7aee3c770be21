-- Insurance coverage of residents by month and commune (tỷ lệ bao phủ bảo hiểm): residents of
-- the residence register who appear, through their pseudonym, among the month's BHXH extract
-- participants (health, social) or the quarter's labour register (unemployment insurance).
-- Coverage is counted where people live (the residence register's unit), not where BHXH files
-- them. Working age: 15 up to the 2026 statutory retirement age in whole years (Nghị định
-- 135/2020/NĐ-CP: 61 years 6 months for men, 57 years for women), i.e. ages 15-60 for men and
-- 15-56 for women on the month's first day.
with residents as (
    select * from {{ ref('int_citizen__residents') }}
),

participation as (
    select * from {{ ref('int_citizen__insurance_participation') }}
),

unemployment as (
    select * from {{ ref('int_citizen__unemployment_insurance') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

population_freshness as (
    select max(ingested_at) as ingested_at from {{ ref('stg_processed_population__citizen') }}
),

months as (
    select extract_month as month_start, max(ingested_at) as ingested_at
    from participation
    group by extract_month
),

labour_quarters as (
    select distinct quarter_start from {{ ref('stg_processed_labour__labour_register') }}
),

-- Residents of each extract month: born by the month's end, no death registered before it
-- started (BHXH lists a person in the extract of the month they die).
resident_months as (
    select
        residents.citizen_key,
        residents.commune_code,
        months.month_start,
        date_sub('year', residents.birth_date, months.month_start) as age_years,
        residents.sex
    from residents
    cross join months
    where residents.birth_date <= last_day(months.month_start)
      and (residents.death_date is null or residents.death_date >= months.month_start)
),

covered as (
    select
        citizen_key,
        extract_month as month_start,
        bool_or(covers_health) as health,
        bool_or(covers_social) as social
    from participation
    where citizen_key is not null
    group by citizen_key, extract_month
),

flagged as (
    select
        resident_months.commune_code,
        resident_months.month_start,
        resident_months.age_years >= 15
            and resident_months.age_years <= case resident_months.sex when 'M' then 60 else 56 end as working_age,
        coalesce(covered.health, false) as health,
        coalesce(covered.social, false) as social,
        coalesce(unemployment.unemployment_insured, false) as unemployment
    from resident_months
    left join covered
        on resident_months.citizen_key = covered.citizen_key
        and resident_months.month_start = covered.month_start
    left join unemployment
        on resident_months.citizen_key = unemployment.citizen_key
        and unemployment.quarter_start = date_trunc('quarter', resident_months.month_start)
),

counted as (
    select
        commune_code,
        month_start,
        count(*) as residents,
        count_if(health) as health_insured,
        count_if(working_age) as working_age_residents,
        count_if(working_age and social) as social_insured,
        count_if(working_age and unemployment) as unemployment_insured
    from flagged
    group by commune_code, month_start
),

-- Participations that reach no resident (CCCD missing, invalid, or not in the residence
-- register), by the unit BHXH records: the size of what the rates cannot see.
unlinked as (
    select commune_code, extract_month as month_start, count(*) as unlinked_participations
    from participation
    where citizen_key is null and commune_code is not null
    group by commune_code, extract_month
),

final as (
    select
        months.month_start,
        strftime(months.month_start, '%Y-%m') as month,
        units.unit_code as commune_code,
        units.unit_name as commune_name,
        units.unit_type as commune_type,
        coalesce(counted.residents, 0) as residents,
        coalesce(counted.health_insured, 0) as health_insured,
        round(100.0 * counted.health_insured / nullif(counted.residents, 0), 2) as health_insurance_rate,
        coalesce(counted.working_age_residents, 0) as working_age_residents,
        coalesce(counted.social_insured, 0) as social_insured,
        round(100.0 * counted.social_insured / nullif(counted.working_age_residents, 0), 2) as social_insurance_rate,
        -- null where the labour register has no file for the month's quarter: unknown, not zero
        case when labour_quarters.quarter_start is not null
            then coalesce(counted.unemployment_insured, 0) end as unemployment_insured,
        case when labour_quarters.quarter_start is not null
            then round(100.0 * counted.unemployment_insured / nullif(counted.working_age_residents, 0), 2)
        end as unemployment_insurance_rate,
        coalesce(unlinked.unlinked_participations, 0) as unlinked_participations,
        timezone('UTC', greatest(months.ingested_at, population_freshness.ingested_at)) as source_ingested_at
    from months
    cross join units
    cross join population_freshness
    left join counted
        on months.month_start = counted.month_start
        and units.unit_code = counted.commune_code
    left join unlinked
        on months.month_start = unlinked.month_start
        and units.unit_code = unlinked.commune_code
    left join labour_quarters
        on labour_quarters.quarter_start = date_trunc('quarter', months.month_start)
)

select
    month_start,
    month,
    commune_code,
    commune_name,
    commune_type,
    cast(residents as bigint) as residents,
    cast(health_insured as bigint) as health_insured,
    cast(health_insurance_rate as double) as health_insurance_rate,
    cast(working_age_residents as bigint) as working_age_residents,
    cast(social_insured as bigint) as social_insured,
    cast(social_insurance_rate as double) as social_insurance_rate,
    cast(unemployment_insured as bigint) as unemployment_insured,
    cast(unemployment_insurance_rate as double) as unemployment_insurance_rate,
    cast(unlinked_participations as bigint) as unlinked_participations,
    source_ingested_at
from final
order by month_start, commune_code
