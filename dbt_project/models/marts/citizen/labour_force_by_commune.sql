-- Labour force by quarter and commune (lực lượng lao động theo quý và đơn vị hành chính cấp xã),
-- from the quarterly labour-supply register that communes keep of their residents aged 15+.
-- Counted where the register places the person; a row whose unit cannot be resolved (a split
-- pre-2025 unit) cannot be placed and is left out. Dense over units and the register's quarters.
with register as (
    select * from {{ ref('stg_processed_labour__labour_register') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

quarters as (
    select quarter_start, max(ingested_at) as ingested_at
    from register
    group by quarter_start
),

counted as (
    select
        quarter_start,
        commune_code,
        count(*) as registered_15_plus,
        count_if(coalesce(employment_status = 'co_viec', false)) as employed,
        count_if(coalesce(employment_status = 'that_nghiep', false)) as unemployed,
        count_if(coalesce(employment_status = 'ngoai_luc_luong', false)) as outside_labour_force,
        count_if(employment_status is null) as status_unknown
    from register
    where commune_code is not null
    group by quarter_start, commune_code
),

final as (
    select
        quarters.quarter_start,
        strftime(quarters.quarter_start, '%Y') || '-Q' || cast(quarter(quarters.quarter_start) as varchar) as quarter,
        units.unit_code as commune_code,
        units.unit_name as commune_name,
        units.unit_type as commune_type,
        coalesce(counted.registered_15_plus, 0) as registered_15_plus,
        coalesce(counted.employed, 0) + coalesce(counted.unemployed, 0) as labour_force,
        coalesce(counted.employed, 0) as employed,
        coalesce(counted.unemployed, 0) as unemployed,
        coalesce(counted.outside_labour_force, 0) as outside_labour_force,
        coalesce(counted.status_unknown, 0) as status_unknown,
        timezone('UTC', quarters.ingested_at) as source_ingested_at
    from quarters
    cross join units
    left join counted
        on quarters.quarter_start = counted.quarter_start
        and units.unit_code = counted.commune_code
)

select
    quarter_start,
    quarter,
    commune_code,
    commune_name,
    commune_type,
    cast(registered_15_plus as bigint) as registered_15_plus,
    cast(labour_force as bigint) as labour_force,
    cast(employed as bigint) as employed,
    cast(unemployed as bigint) as unemployed,
    cast(outside_labour_force as bigint) as outside_labour_force,
    cast(status_unknown as bigint) as status_unknown,
    cast(round(100.0 * unemployed / nullif(labour_force, 0), 2) as double) as unemployment_rate,
    cast(round(100.0 * labour_force / nullif(registered_15_plus - status_unknown, 0), 2) as double)
        as labour_force_participation_rate,
    source_ingested_at
from final
order by quarter_start, commune_code
