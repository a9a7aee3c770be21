-- Registered capital flows (vốn đăng ký): the capital a business registered with when it was
-- founded (vốn đăng ký mới) and each later capital increase of an enterprise (vốn đăng ký tăng
-- thêm), one row per business and event.
with registrations as (
    select * from {{ ref('int_enterprise__lifecycle_events') }}
    where event_type = 'registration'
),

businesses as (
    select * from {{ ref('int_enterprise__businesses') }}
),

increases as (
    select * from {{ ref('stg_processed_business_registration__registration_change') }}
    where change_type = 'capital_increase'
),

-- The register keeps only today's capital. An enterprise's founding capital is the "before" amount
-- of its first capital increase, or today's capital when it never increased it.
first_increase as (
    select business_key, capital_before_vnd
    from increases
    where capital_before_vnd is not null
    qualify row_number() over (partition by business_key order by effective_date nulls last, event_id) = 1
),

founding_capital as (
    select
        registrations.business_key,
        registrations.business_kind,
        registrations.commune_code,
        'registration' as capital_event,
        registrations.event_date,
        coalesce(first_increase.capital_before_vnd, businesses.capital_vnd) as capital_vnd,
        registrations.ingested_at
    from registrations
    inner join businesses on businesses.business_key = registrations.business_key
    left join first_increase on first_increase.business_key = registrations.business_key
),

-- increases of enterprises in the register with both amounts and a date: the amount added is the
-- difference the event text states
added_capital as (
    select
        increases.business_key,
        businesses.business_kind,
        businesses.commune_code,
        'capital_increase' as capital_event,
        increases.effective_date as event_date,
        increases.capital_after_vnd - increases.capital_before_vnd as capital_vnd,
        increases.ingested_at
    from increases
    inner join businesses on businesses.business_key = increases.business_key
    where increases.effective_date is not null
        and increases.capital_before_vnd is not null
        and increases.capital_after_vnd is not null
)

select * from founding_capital
union all
select * from added_capital
