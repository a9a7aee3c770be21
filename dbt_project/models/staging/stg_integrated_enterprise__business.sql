-- Businesses as the register holds them now: the current, not deleted version of each enterprise
-- and household business. Names and the owner pseudonym stay behind (marts count businesses).
with source as (
    select * from {{ source('integrated_enterprise', 'business') }}
),

renamed as (
    select
        business_key,
        kind as business_kind,
        legal_form,
        vsic_code,
        capital_vnd,
        cast(founded_date as date) as founded_date,
        commune_code,
        status
    from source
    where is_current and not is_deleted
)

select * from renamed
