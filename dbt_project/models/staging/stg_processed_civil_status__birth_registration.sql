-- Birth registrations without names or CCCDs: what event statistics by commune and month need.
with source as (
    select * from {{ source('processed_civil_status', 'birth_registration') }}
),

renamed as (
    select
        record_id,
        commune_code,
        registration_number,
        cast(registration_date as date) as registration_date,
        cast(birth_date as date) as birth_date,
        sex,
        cast(registration_delay_days as integer) as registration_delay_days,
        late_registration,
        _ingested_at as ingested_at
    from source
)

select * from renamed
