-- Household businesses of the processed register: only what the lifecycle and freshness need.
-- The owner's CCCD / personal tax code, name and the place of business (the owner's home) stay behind.
with source as (
    select * from {{ source('processed_business_registration', 'household_business') }}
),

renamed as (
    select
        'HKD:' || registration_no as business_key,
        status,
        registration_date,
        capital_vnd,
        cast(timezone('Asia/Ho_Chi_Minh', updated_at) as date) as updated_date,
        timezone('UTC', _ingested_at) as ingested_at
    from source
)

select * from renamed
