-- Construction-permit dossiers: type, dates and outcome. The investor's CCCD / tax code, name and
-- the site address (an individual house's site is the investor's home) stay behind.
with source as (
    select * from {{ source('processed_construction_permits', 'construction_permit') }}
)

select
    record_id,
    dossier_code,
    issuing_agency_code,
    works_type,
    investor_kind,
    commune_code,
    concat_ws('|', commune_code, cast(map_sheet as varchar), cast(parcel_no as varchar)) as parcel_key,
    floor_area_m2,
    floors,
    submitted_date,
    due_date,
    issued_date,
    status,
    timezone('UTC', _ingested_at) as ingested_at
from source
