-- Registration change events. The description text names representatives (with their CCCD), so
-- only the amounts read from it for capital increases leave staging.
with source as (
    select * from {{ source('processed_business_registration', 'registration_change') }}
),

renamed as (
    select
        event_id,
        'DN:' || tax_code as business_key,
        change_type,
        effective_date,
        capital_before_vnd,
        capital_after_vnd,
        timezone('UTC', _ingested_at) as ingested_at
    from source
)

select * from renamed
