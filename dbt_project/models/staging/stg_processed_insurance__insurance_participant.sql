-- Insurance participations without the BHXH code, CCCD, name, birth date or phone: the scheme
-- (category), the period and the unit are what coverage statistics need; the person is reached
-- through citizen_link by record_id, as a pseudonym.
with source as (
    select * from {{ source('processed_insurance', 'insurance_participant') }}
),

renamed as (
    select
        record_id,
        cast(extract_month as date) as extract_month,
        category,
        commune_code,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        _ingested_at as ingested_at
    from source
)

select * from renamed
