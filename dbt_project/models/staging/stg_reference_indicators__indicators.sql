-- The indicator catalogue: names, unit and the aggregation rule every period roll-up follows.
with source as (
    select * from {{ source('reference_indicators', 'indicators') }}
),

renamed as (
    select
        code as indicator_code,
        name_vi as indicator_name,
        name_en as indicator_name_en,
        unit,
        periodicity,
        owner_agency,
        aggregation,
        seed_reference,
        "group" as indicator_group,
        source_system
    from source
)

select * from renamed
