-- A table, not a view: it joins million-row zone tables, and its tests and every model
-- reading it would otherwise each recompute it (at SF10 that cost the build ~15 s).
{{ config(materialized='table') }}

-- Active residents of the residence register with what the coverage marts need per month:
-- birth date (born by then?), sex (working age), unit, and a registered death (still alive?).
with citizens as (
    select * from {{ ref('stg_integrated__citizen') }}
),

deaths as (
    select * from {{ ref('int_citizen__registered_deaths') }}
),

final as (
    select
        citizens.citizen_key,
        citizens.sex,
        citizens.birth_date,
        citizens.commune_code,
        deaths.death_date
    from citizens
    left join deaths on citizens.citizen_key = deaths.citizen_key
)

select * from final
