-- Parcels and their area by land-use type and commune-level unit (thửa đất và diện tích theo loại
-- đất và đơn vị hành chính cấp xã), from the current state of the integrated parcel entity, with
-- how many are certified and how many carry spatial data (the seed's spatial / attribute split).
with parcels as (
    select * from {{ ref('stg_integrated_land__parcel') }}
),

processed_parcels as (
    select * from {{ ref('stg_processed_land__land_parcel') }}
),

land_use_names as (
    select * from {{ ref('int_land__land_use_names') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

joined as (
    select
        parcels.commune_code,
        coalesce(parcels.land_use_code, 'unknown') as land_use_code,
        coalesce(parcels.land_use_group, 'unknown') as land_use_group,
        parcels.area_m2,
        parcels.is_certified,
        coalesce(processed_parcels.has_geometry, false) as has_geometry,
        processed_parcels.ingested_at
    from parcels
    left join processed_parcels on processed_parcels.parcel_key = parcels.parcel_key
),

counted as (
    select
        commune_code,
        land_use_code,
        land_use_group,
        count(*) as parcels,
        -- areas add as decimals: exact, so the total does not depend on the order DuckDB's threads
        -- add the rows in (double sums differ in their last bit from one build to the next)
        cast(coalesce(sum(area_m2::decimal(38, 9)), 0) as double) as area_m2,
        count(area_m2) as parcels_with_area,
        count(*) filter (where is_certified) as certified_parcels,
        cast(coalesce(sum(area_m2::decimal(38, 9)) filter (where is_certified), 0) as double) as certified_area_m2,
        count(*) filter (where has_geometry) as parcels_with_geometry,
        max(ingested_at) as data_ingested_at
    from joined
    group by all
),

final as (
    select
        counted.commune_code,
        units.unit_name as commune_name,
        counted.land_use_code,
        coalesce(land_use_names.land_use_name, 'Chưa xác định') as land_use_name,
        coalesce(land_use_names.land_use_name_en, 'Not recorded') as land_use_name_en,
        counted.land_use_group,
        counted.parcels,
        round(counted.area_m2, 1) as area_m2,
        round(counted.area_m2 / 10000, 4) as area_ha,
        counted.parcels_with_area,
        counted.certified_parcels,
        round(counted.certified_area_m2, 1) as certified_area_m2,
        counted.parcels_with_geometry,
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        counted.data_ingested_at
    from counted
    inner join units on units.unit_code = counted.commune_code
    left join land_use_names on land_use_names.land_use_code = counted.land_use_code
)

select * from final
order by commune_code, land_use_code
