-- Enterprises of the processed register: only what the lifecycle and freshness need. The
-- representative's CCCD and name, the address and the e-mail stay behind.
with source as (
    select * from {{ source('processed_business_registration', 'enterprise') }}
),

renamed as (
    select
        'DN:' || tax_code as business_key,
        status,
        founding_date,
        charter_capital_vnd,
        -- the register writes Vietnam wall time; its calendar day is the day of the last change
        cast(timezone('Asia/Ho_Chi_Minh', updated_at) as date) as updated_date,
        timezone('UTC', _ingested_at) as ingested_at
    from source
)

select * from renamed
