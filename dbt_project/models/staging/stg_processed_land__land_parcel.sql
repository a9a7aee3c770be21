-- Parcels of the processed land database: whether each has a usable geometry, and when it arrived.
with source as (
    select * from {{ source('processed_land', 'land_parcel') }}
)

select
    -- the integrated parcel key, built as spark_jobs/business_land_integrated.py builds it
    concat_ws('|', commune_code, cast(map_sheet as varchar), cast(parcel_no as varchar)) as parcel_key,
    geometry_wkt is not null as has_geometry,
    timezone('UTC', _ingested_at) as ingested_at
from source
