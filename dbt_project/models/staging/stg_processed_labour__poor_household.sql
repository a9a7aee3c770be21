-- Poor and near-poor households without the head's CCCD or name.
with source as (
    select * from {{ source('processed_labour', 'poor_household') }}
),

renamed as (
    select
        record_id,
        cast(year as integer) as list_year,
        household_code,
        poverty_type,
        cast(household_size as integer) as household_size,
        commune_code,
        _ingested_at as ingested_at
    from source
)

select * from renamed
