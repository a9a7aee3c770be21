-- Monitoring stations and the commune each stands in: the KPIs roll readings up to communes and the city.
with source as (
    select * from {{ source('processed_iot', 'station') }}
),

renamed as (
    select
        station_id,
        station_type,
        station_name,
        latitude,
        longitude,
        owner,
        commune_code,
        _ingested_at as ingested_at
    from source
)

select * from renamed
