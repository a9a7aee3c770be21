-- One row per calendar date and period type (day, month, quarter, year): the period the date falls
-- in, with the labels the IOC contract uses ('2026-11-27', '2026-11', '2026-Q4', '2026').
-- Why a model and not date arithmetic in every mart: every KPI must cut periods the same way, and
-- "closed" (the period ended by the run's logical date) decides which periods a mart publishes.
with dates as (
    select cast(d as date) as calendar_date
    from range(
        date '2020-01-01',
        -- through the end of the run's year, so every period that contains a data date is whole
        cast(date_trunc('year', cast('{{ var("as_of_date") }}' as date)) + interval 1 year as date),
        interval 1 day
    ) as t(d)
),

periods as (
    select
        calendar_date,
        'day' as period_type,
        strftime(calendar_date, '%Y-%m-%d') as period,
        calendar_date as period_start,
        calendar_date as period_end
    from dates
    union all
    select
        calendar_date,
        'month',
        strftime(calendar_date, '%Y-%m'),
        cast(date_trunc('month', calendar_date) as date),
        cast(date_trunc('month', calendar_date) + interval 1 month - interval 1 day as date)
    from dates
    union all
    select
        calendar_date,
        'quarter',
        cast(year(calendar_date) as varchar) || '-Q' || cast(quarter(calendar_date) as varchar),
        cast(date_trunc('quarter', calendar_date) as date),
        cast(date_trunc('quarter', calendar_date) + interval 3 month - interval 1 day as date)
    from dates
    union all
    select
        calendar_date,
        'year',
        cast(year(calendar_date) as varchar),
        cast(date_trunc('year', calendar_date) as date),
        cast(date_trunc('year', calendar_date) + interval 1 year - interval 1 day as date)
    from dates
)

select
    calendar_date,
    period_type,
    period,
    period_start,
    period_end,
    cast(year(period_start) as integer) as year,
    period_end <= cast('{{ var("as_of_date") }}' as date) as is_closed
from periods
