-- VSIC 2018 levels 1-2 (sections and divisions), typed.
with source as (
    select * from {{ source('reference_enterprise', 'vsic') }}
)

select
    code as vsic_code,
    cast(level as integer) as vsic_level,
    section as vsic_section,
    name_vi,
    name_en
from source
