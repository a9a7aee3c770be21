-- Links from department records to citizens, as pseudonyms: the only way the citizen marts
-- tie an insurance, labour or civil-status record to a resident.
with source as (
    select * from {{ source('integrated_citizen', 'citizen_link') }}
),

renamed as (
    select
        source_table,
        role,
        record_id,
        citizen_key,
        match_status
    from source
)

select * from renamed
