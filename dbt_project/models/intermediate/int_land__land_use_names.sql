-- Names of the land-use codes the land database uses (tên loại đất). A parcel with two uses is
-- recorded 'ONT+CLN'; its name joins the parts' names in the recorded order.
with parcels as (
    select land_use_code from {{ ref('stg_integrated_land__parcel') }}
),

certificates as (
    select land_use_code from {{ ref('stg_processed_land__land_certificate') }}
),

types as (
    select * from {{ ref('stg_reference_land__land_use_types') }}
),

codes as (
    select land_use_code from parcels where land_use_code is not null
    union
    select land_use_code from certificates where land_use_code is not null
),

parts as (
    select
        land_use_code,
        unnest(string_split(land_use_code, '+')) as part_code,
        generate_subscripts(string_split(land_use_code, '+'), 1) as part_position
    from codes
),

named as (
    select
        parts.land_use_code,
        string_agg(types.name_vi, ' + ' order by parts.part_position) as land_use_name,
        string_agg(types.name_en, ' + ' order by parts.part_position) as land_use_name_en,
        count(*) as part_count,
        count(types.land_use_code) as known_part_count
    from parts
    left join types on types.land_use_code = parts.part_code
    group by parts.land_use_code
)

select * from named
