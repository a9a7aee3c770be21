-- Population structure (cơ cấu dân số) by commune-level unit, sex and 5-year age band.
with citizens as (
    select * from {{ ref('int_citizen__age_band') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

-- A count is only as fresh as the whole register load it comes from (a missing band is a zero).
freshness as (
    select max(ingested_at) as ingested_at from {{ ref('stg_processed_population__citizen') }}
),

counted as (
    select
        commune_code,
        sex,
        age_band,
        count(*) as population
    from citizens
    group by all
),

final as (
    select
        counted.commune_code,
        units.unit_name as commune_name,
        units.unit_type as commune_type,
        counted.sex,
        counted.age_band,
        counted.population,
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        timezone('UTC', freshness.ingested_at) as source_ingested_at
    from counted
    inner join units on counted.commune_code = units.unit_code
    cross join freshness
)

select * from final
order by commune_code, sex, age_band
