-- Registered capital per month (vốn đăng ký theo tháng): the capital of businesses founded in the
-- month (vốn đăng ký mới) and the capital enterprises added by capital increases (vốn đăng ký
-- tăng thêm), by kind of business, for the whole city.
with capital as (
    select * from {{ ref('int_enterprise__capital_events') }}
),

monthly as (
    select
        cast(date_trunc('month', event_date) as date) as month_start,
        business_kind,
        count(*) filter (where capital_event = 'registration') as new_businesses,
        coalesce(sum(capital_vnd) filter (where capital_event = 'registration'), 0) as new_registered_capital_vnd,
        count(*) filter (where capital_event = 'capital_increase') as capital_increases,
        coalesce(sum(capital_vnd) filter (where capital_event = 'capital_increase'), 0) as added_capital_vnd,
        max(ingested_at) as data_ingested_at
    from capital
    group by all
),

final as (
    select
        month_start,
        strftime(month_start, '%Y-%m') as month,
        business_kind,
        new_businesses,
        cast(new_registered_capital_vnd as bigint) as new_registered_capital_vnd,
        capital_increases,
        cast(added_capital_vnd as bigint) as added_capital_vnd,
        cast(new_registered_capital_vnd + added_capital_vnd as bigint) as total_registered_capital_vnd,
        data_ingested_at
    from monthly
)

select * from final
order by month_start, business_kind
