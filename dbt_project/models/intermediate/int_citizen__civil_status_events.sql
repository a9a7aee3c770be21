-- The three civil-status registers as one event list (sự kiện hộ tịch): what the monthly
-- counts need, no names or CCCDs.
with births as (
    select
        'birth' as event_type,
        record_id,
        commune_code,
        registration_date,
        birth_date as event_date,
        sex,
        late_registration,
        ingested_at
    from {{ ref('stg_processed_civil_status__birth_registration') }}
),

deaths as (
    select
        'death' as event_type,
        record_id,
        commune_code,
        registration_date,
        death_date as event_date,
        sex,
        late_registration,
        ingested_at
    from {{ ref('stg_processed_civil_status__death_registration') }}
),

marriages as (
    -- Marriage has no event date before its registration and no legal deadline: the
    -- registration is the marriage (Luật Hộ tịch art. 18), so late_registration does not apply.
    select
        'marriage' as event_type,
        record_id,
        commune_code,
        registration_date,
        registration_date as event_date,
        cast(null as varchar) as sex,
        cast(null as boolean) as late_registration,
        ingested_at
    from {{ ref('stg_processed_civil_status__marriage_registration') }}
)

select * from births
union all
select * from deaths
union all
select * from marriages
