-- Daily air-quality and traffic figures per commune and for the whole city ('31') from the IoT
-- monitoring stations, in Vietnam days. What enters:
-- * readings the processed zone flagged as sensor faults (suspect_spike, suspect_stuck) are left
--   out: they are kept in processed for the data owner, but a KPI must not average a stuck or
--   spiking sensor;
-- * a station-day counts only when its valid readings cover at least 75% of the day (the
--   station's reporting interval is the median gap between its readings), so a station that was
--   down half the day, or the first partial day of a stream, does not bias a daily mean towards
--   the hours it happened to report.
-- Air: the unit's daily AQI / PM2.5 is the mean over its stations' daily means. Traffic: a
-- station's daily flow is its mean vehicles per reading times the readings in a day.
with readings as (
    select
        events.station_id,
        events.station_type,
        stations.commune_code,
        events.measured_at,
        cast(timezone('Asia/Ho_Chi_Minh', events.measured_at) as date) as local_date,
        not (events.suspect_spike or events.suspect_stuck) as is_valid,
        events.aqi,
        events.pm25,
        events.motorbike + events.car + events.truck + events.bus as vehicles,
        events.avg_speed_kmh,
        events.ingested_at
    from {{ ref('stg_processed_iot__sensor_event') }} as events
    inner join {{ ref('stg_processed_iot__station') }} as stations
        on events.station_id = stations.station_id
    where events.station_type in ('air', 'traffic')
),

gaps as (
    select
        station_id,
        epoch(measured_at) - epoch(lag(measured_at) over (partition by station_id order by measured_at)) as gap_s
    from readings
),

intervals as (
    select station_id, median(gap_s) as interval_s
    from gaps
    where gap_s > 0
    group by station_id
),

station_days as (
    select
        readings.station_id,
        readings.station_type,
        readings.commune_code,
        readings.local_date,
        86400.0 / intervals.interval_s as readings_per_day,
        count(readings.aqi) filter (where readings.is_valid) as aqi_readings,
        -- averages and sums over decimals: exact, so they do not depend on the order DuckDB's
        -- threads add the rows in (double sums differ in their last bit from one build to the next)
        avg(readings.aqi::decimal(38, 9)) filter (where readings.is_valid) as aqi,
        count(readings.pm25) filter (where readings.is_valid) as pm25_readings,
        avg(readings.pm25::decimal(38, 9)) filter (where readings.is_valid) as pm25,
        count(readings.vehicles) filter (where readings.is_valid) as vehicle_readings,
        avg(readings.vehicles::decimal(38, 9)) filter (where readings.is_valid) as vehicles_per_reading,
        count(readings.avg_speed_kmh) filter (where readings.is_valid) as speed_readings,
        avg(readings.avg_speed_kmh::decimal(38, 9)) filter (where readings.is_valid) as speed_kmh,
        max(readings.ingested_at) as ingested_at
    from readings
    inner join intervals on readings.station_id = intervals.station_id
    group by all
),

covered as (
    -- a measure of a station-day counts only with 75% of the day's readings
    select
        station_id,
        station_type,
        commune_code,
        local_date,
        case when aqi_readings >= 0.75 * readings_per_day then aqi end as aqi,
        case when pm25_readings >= 0.75 * readings_per_day then pm25 end as pm25,
        case when vehicle_readings >= 0.75 * readings_per_day then vehicles_per_reading * readings_per_day end
            as traffic_flow,
        case when speed_readings >= 0.75 * readings_per_day then speed_kmh end as speed_kmh,
        ingested_at
    from station_days
),

unit_station_days as (
    select '31' as admin_unit_code, covered.* from covered
    union all
    select covered.commune_code as admin_unit_code, covered.* from covered
    where covered.commune_code is not null
)

select
    admin_unit_code,
    local_date,
    avg(aqi::decimal(38, 9)) as aqi,
    avg(pm25::decimal(38, 9)) as pm25,
    count(aqi) as aqi_station_days,
    cast(sum(traffic_flow::decimal(38, 9)) as double) as traffic_flow_sum,
    count(traffic_flow) as traffic_flow_station_days,
    cast(sum(speed_kmh::decimal(38, 9)) as double) as speed_sum,
    count(speed_kmh) as speed_station_days,
    cast(timezone('UTC', max(ingested_at)) as timestamp) as freshness_ts
from unit_station_days
group by admin_unit_code, local_date
