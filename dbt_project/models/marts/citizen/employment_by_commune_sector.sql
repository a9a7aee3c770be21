-- Employed residents by quarter, commune and industry (lao động có việc làm theo ngành kinh tế),
-- VSIC 2018 section of the job as the labour register records it. An employed person whose
-- industry is empty or unreadable is counted under 'unknown' rather than dropped, so the
-- sectors add up to the employed of labour_force_by_commune.
with register as (
    select * from {{ ref('stg_processed_labour__labour_register') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

freshness as (
    select quarter_start, max(ingested_at) as ingested_at
    from register
    group by quarter_start
),

counted as (
    select
        quarter_start,
        commune_code,
        coalesce(industry_section, 'unknown') as industry_section,
        count(*) as employed,
        count_if(coalesce(sex = 'M', false)) as employed_male,
        count_if(coalesce(sex = 'F', false)) as employed_female,
        count_if(coalesce(unemployment_insured, false)) as employed_unemployment_insured
    from register
    where employment_status = 'co_viec'
      and commune_code is not null
    group by all
)

select
    counted.quarter_start,
    strftime(counted.quarter_start, '%Y') || '-Q' || cast(quarter(counted.quarter_start) as varchar) as quarter,
    counted.commune_code,
    units.unit_name as commune_name,
    units.unit_type as commune_type,
    counted.industry_section,
    cast(counted.employed as bigint) as employed,
    cast(counted.employed_male as bigint) as employed_male,
    cast(counted.employed_female as bigint) as employed_female,
    cast(counted.employed_unemployment_insured as bigint) as employed_unemployment_insured,
    timezone('UTC', freshness.ingested_at) as source_ingested_at
from counted
inner join units on counted.commune_code = units.unit_code
inner join freshness on counted.quarter_start = freshness.quarter_start
order by counted.quarter_start, counted.commune_code, counted.industry_section
