-- Registrations, suspensions, dissolutions and annulments of enterprises and household businesses
-- per month and commune-level unit (đăng ký thành lập mới, tạm ngừng, giải thể / chấm dứt hoạt
-- động, hủy đăng ký theo tháng). Months without any event in a unit have no row.
with events as (
    select * from {{ ref('int_enterprise__lifecycle_events') }}
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

monthly as (
    select
        cast(date_trunc('month', event_date) as date) as month_start,
        business_kind,
        commune_code,
        count(*) filter (where event_type = 'registration') as registrations,
        count(*) filter (where event_type = 'suspension') as suspensions,
        count(*) filter (where event_type = 'dissolution') as dissolutions,
        count(*) filter (where event_type = 'annulment') as annulments,
        max(ingested_at) as data_ingested_at
    from events
    group by all
),

final as (
    select
        monthly.month_start,
        strftime(monthly.month_start, '%Y-%m') as month,
        monthly.business_kind,
        monthly.commune_code,
        units.unit_name as commune_name,
        monthly.registrations,
        monthly.suspensions,
        monthly.dissolutions,
        monthly.annulments,
        monthly.registrations - monthly.dissolutions - monthly.annulments as net_change,
        monthly.data_ingested_at
    from monthly
    inner join units on units.unit_code = monthly.commune_code
)

select * from final
order by month_start, business_kind, commune_code
