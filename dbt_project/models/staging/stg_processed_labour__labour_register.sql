-- Labour register rows without CCCD, name or birth date: status, industry and unemployment
-- insurance per person and quarter; the person is reached through citizen_link by record_id.
with source as (
    select * from {{ source('processed_labour', 'labour_register') }}
),

renamed as (
    select
        record_id,
        cast(quarter as date) as quarter_start,
        commune_code,
        sex,
        employment_status,
        industry_section,
        unemployment_insured,
        _ingested_at as ingested_at
    from source
)

select * from renamed
