-- Marriage registrations without the spouses' names or CCCDs.
with source as (
    select * from {{ source('processed_civil_status', 'marriage_registration') }}
),

renamed as (
    select
        record_id,
        commune_code,
        registration_number,
        cast(registration_date as date) as registration_date,
        _ingested_at as ingested_at
    from source
)

select * from renamed
