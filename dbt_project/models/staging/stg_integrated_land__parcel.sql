-- Parcels as the land database holds them now: the current, not deleted version of each parcel,
-- with whether it has a certificate. The address and the holder reference stay behind.
with source as (
    select * from {{ source('integrated_land', 'parcel') }}
),

renamed as (
    select
        parcel_key,
        commune_code,
        map_sheet,
        parcel_no,
        area_m2,
        land_use_code,
        land_use_group,
        certificate_serial is not null as is_certified,
        certificate_holder_kind
    from source
    where is_current and not is_deleted
)

select * from renamed
