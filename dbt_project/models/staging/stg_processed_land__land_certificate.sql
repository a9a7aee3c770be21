-- Land-use certificates: what was issued, when, where, and to which kind of holder. The holder's
-- CCCD, tax code and name stay behind.
with source as (
    select * from {{ source('processed_land', 'land_certificate') }}
)

select
    record_id,
    serial_no,
    concat_ws('|', commune_code, cast(map_sheet as varchar), cast(parcel_no as varchar)) as parcel_key,
    commune_code,
    holder_kind,
    area_m2,
    land_use_code,
    land_use_group,
    issue_date,
    status,
    timezone('UTC', _ingested_at) as ingested_at
from source
