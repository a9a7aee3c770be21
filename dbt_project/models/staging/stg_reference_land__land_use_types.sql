-- Land-use type catalogue (both the 2018 and the 2024 schemes).
with source as (
    select * from {{ source('reference_land', 'land_use_types') }}
)

select
    code as land_use_code,
    name_vi,
    name_en,
    land_group,
    scheme
from source
