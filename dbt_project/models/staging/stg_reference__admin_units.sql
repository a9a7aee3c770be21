with source as (
    select * from {{ source('reference', 'admin_units') }}
)

select
    unit_code,
    unit_name,
    unit_type,
    unit_full_name
from source
