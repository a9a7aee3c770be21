-- Poor and near-poor households by year and commune (hộ nghèo, hộ cận nghèo), from the year-end
-- lists. Dense over units and list years: a unit without poor households reads 0.
with households as (
    select * from {{ ref('stg_processed_labour__poor_household') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

years as (
    select list_year, max(ingested_at) as ingested_at
    from households
    group by list_year
),

counted as (
    select
        list_year,
        commune_code,
        count_if(poverty_type = 'ngheo') as poor_households,
        count_if(poverty_type = 'can_ngheo') as near_poor_households,
        coalesce(sum(household_size) filter (where poverty_type = 'ngheo'), 0) as poor_household_members,
        coalesce(sum(household_size) filter (where poverty_type = 'can_ngheo'), 0) as near_poor_household_members,
        count_if(household_size is null) as households_size_unknown
    from households
    where commune_code is not null
    group by list_year, commune_code
)

select
    years.list_year as year,
    units.unit_code as commune_code,
    units.unit_name as commune_name,
    units.unit_type as commune_type,
    cast(coalesce(counted.poor_households, 0) as bigint) as poor_households,
    cast(coalesce(counted.near_poor_households, 0) as bigint) as near_poor_households,
    cast(coalesce(counted.poor_household_members, 0) as bigint) as poor_household_members,
    cast(coalesce(counted.near_poor_household_members, 0) as bigint) as near_poor_household_members,
    cast(coalesce(counted.households_size_unknown, 0) as bigint) as households_size_unknown,
    timezone('UTC', years.ingested_at) as source_ingested_at
from years
cross join units
left join counted
    on years.list_year = counted.list_year
    and units.unit_code = counted.commune_code
order by year, commune_code
