-- Arrival metadata of the residence register's processed rows: what the citizen marts need to
-- say how fresh a population number is. CCCD, name, birth date and address stop here.
with source as (
    select * from {{ source('processed_population', 'citizen') }}
),

renamed as (
    select
        record_id,
        commune_code,
        _batch_id as batch_id,
        _ingested_at as ingested_at
    from source
)

select * from renamed
