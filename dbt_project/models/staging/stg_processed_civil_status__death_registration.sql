-- Death registrations without the deceased's name, CCCD or birth date.
with source as (
    select * from {{ source('processed_civil_status', 'death_registration') }}
),

renamed as (
    select
        record_id,
        commune_code,
        registration_number,
        cast(registration_date as date) as registration_date,
        cast(death_date as date) as death_date,
        sex,
        cast(registration_delay_days as integer) as registration_delay_days,
        late_registration,
        _ingested_at as ingested_at
    from source
)

select * from renamed
