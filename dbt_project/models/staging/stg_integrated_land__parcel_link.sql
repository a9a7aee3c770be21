-- Links from certificates, permits and transactions to parcels, with their match status.
with source as (
    select * from {{ source('integrated_land', 'parcel_link') }}
)

select
    source_table,
    role,
    record_id,
    parcel_key,
    match_status
from source
