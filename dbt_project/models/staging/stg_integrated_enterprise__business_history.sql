-- Every SCD2 version of every business (lịch sử thay đổi): what the lifecycle events read to see
-- when a status changed between two runs and when a registration vanished from the register.
with source as (
    select * from {{ source('integrated_enterprise', 'business') }}
),

renamed as (
    select
        business_key,
        kind as business_kind,
        vsic_code,
        commune_code,
        status,
        cast(founded_date as date) as founded_date,
        capital_vnd,
        timezone('UTC', valid_from) as valid_from,
        timezone('UTC', valid_to) as valid_to,
        is_current,
        is_deleted
    from source
)

select * from renamed
