-- Active citizens with pseudonymous key only: CCCD, name and address stop here.
with source as (
    select * from {{ source('integrated_citizen', 'citizen') }}
),

renamed as (
    select
        citizen_key,
        cast(birth_date as date) as birth_date,
        sex,
        commune_code
    from source
    where is_current and not is_deleted
)

select * from renamed
