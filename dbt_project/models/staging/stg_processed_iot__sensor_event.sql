-- Air-quality and traffic readings with their sensor-fault flags; water-level readings pass too
-- (no KPI uses them yet) so the model stays a plain rename of the source.
with source as (
    select * from {{ source('processed_iot', 'sensor_event') }}
),

renamed as (
    select
        event_id,
        station_id,
        station_type,
        measured_at,
        aqi,
        pm25,
        pm10,
        motorbike,
        car,
        truck,
        bus,
        avg_speed_kmh,
        water_level_cm,
        coalesce(suspect_spike, false) as suspect_spike,
        coalesce(suspect_stuck, false) as suspect_stuck,
        _ingested_at as ingested_at
    from source
)

select * from renamed
