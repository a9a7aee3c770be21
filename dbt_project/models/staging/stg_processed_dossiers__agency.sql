-- Receiving agencies with validity periods: a code can name another agency after a reform.
with source as (
    select * from {{ source('processed_dossiers', 'agency') }}
),

renamed as (
    select
        agency_code,
        agency_name,
        level,
        commune_code,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        successor_code,
        _ingested_at as ingested_at
    from source
)

select * from renamed
