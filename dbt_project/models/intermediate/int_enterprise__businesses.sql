-- Current businesses with their VSIC 2018 section and division (ngành cấp 1, cấp 2) and the
-- arrival time of the register row behind each one (for freshness).
with businesses as (
    select * from {{ ref('stg_integrated_enterprise__business') }}
),

vsic as (
    select * from {{ ref('stg_reference_enterprise__vsic') }}
),

register_rows as (
    select business_key, ingested_at from {{ ref('stg_processed_business_registration__enterprise') }}
    union all
    select business_key, ingested_at from {{ ref('stg_processed_business_registration__household_business') }}
),

classified as (
    select
        businesses.business_key,
        businesses.business_kind,
        businesses.status,
        businesses.commune_code,
        businesses.founded_date,
        businesses.capital_vnd,
        -- a level-4 code's division is its first two digits; the processed rule checked the division
        -- exists, so 'unknown' only means the register left the industry empty
        coalesce(division.vsic_code, 'unknown') as vsic_division,
        coalesce(division.vsic_section, 'unknown') as vsic_section,
        register_rows.ingested_at
    from businesses
    left join vsic as division
        on division.vsic_level = 2
        and division.vsic_code = left(businesses.vsic_code, 2)
    left join register_rows
        on register_rows.business_key = businesses.business_key
)

select * from classified
