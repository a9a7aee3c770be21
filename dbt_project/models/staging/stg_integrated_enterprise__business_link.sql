-- Links from permits, certificates and transactions to businesses by enterprise tax code.
with source as (
    select * from {{ source('integrated_enterprise', 'business_link') }}
)

select
    source_table,
    role,
    record_id,
    business_key,
    match_status
from source
