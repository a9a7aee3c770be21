-- Active enterprises and household businesses (doanh nghiệp, hộ kinh doanh đang hoạt động) by
-- commune-level unit, kind and VSIC 2018 division, with the capital they registered, as the
-- register stood on the run's logical date. Suspended businesses are counted beside them;
-- dissolved enterprises and ceased households are not in this mart.
with businesses as (
    select * from {{ ref('int_enterprise__businesses') }}
    where status in ('active', 'suspended')
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

vsic as (
    select * from {{ ref('stg_reference_enterprise__vsic') }}
),

counted as (
    select
        commune_code,
        business_kind,
        vsic_section,
        vsic_division,
        count(*) filter (where status = 'active') as active_businesses,
        count(*) filter (where status = 'suspended') as suspended_businesses,
        coalesce(sum(capital_vnd) filter (where status = 'active'), 0) as active_registered_capital_vnd,
        count(capital_vnd) filter (where status = 'active') as active_with_capital,
        max(ingested_at) as data_ingested_at
    from businesses
    group by all
),

final as (
    select
        counted.commune_code,
        units.unit_name as commune_name,
        counted.business_kind,
        counted.vsic_section,
        coalesce(section.name_vi, 'Chưa xác định') as vsic_section_name,
        counted.vsic_division,
        coalesce(division.name_vi, 'Chưa xác định') as vsic_division_name,
        counted.active_businesses,
        counted.suspended_businesses,
        cast(counted.active_registered_capital_vnd as bigint) as active_registered_capital_vnd,
        counted.active_with_capital,
        cast('{{ var("as_of_date") }}' as date) as as_of_date,
        counted.data_ingested_at
    from counted
    inner join units on units.unit_code = counted.commune_code
    left join vsic as section
        on section.vsic_level = 1
        and section.vsic_code = counted.vsic_section
    left join vsic as division
        on division.vsic_level = 2
        and division.vsic_code = counted.vsic_division
)

select * from final
order by commune_code, business_kind, vsic_division
