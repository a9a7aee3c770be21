-- IOC KPI table of the citizen dashboard area (chỉ số điều hành lĩnh vực dân cư): one row per
-- indicator, period and administrative unit, in the contract every IOC table shares. Derived
-- from the citizen marts only. Each commune row keeps its numerator and denominator until the
-- end, so the city row ('31') is the ratio of the sums, never an average of commune rates.
with population as (
    select * from {{ ref('population_by_commune_sex_age') }}
),

events as (
    select * from {{ ref('civil_status_events_by_month') }}
),

coverage as (
    select * from {{ ref('insurance_coverage') }}
),

labour_force as (
    select * from {{ ref('labour_force_by_commune') }}
),

poor_households as (
    select * from {{ ref('poor_households_by_commune') }}
),

targets as (
    select
        indicator_code,
        period_type,
        cast(year as integer) as target_year,
        cast(admin_unit_code as varchar) as admin_unit_code,
        cast(target as double) as target,
        direction
    from {{ ref('kpi_targets') }}
),

-- is_rate: the value is 100 * numerator / denominator (a level that holds at any moment of the
-- year, so a yearly target also applies to its months); else the value is the numerator (an
-- additive count).
indicators as (
    select * from (values
        ('CIT_POPULATION', 'Dân số theo cơ sở dữ liệu cư trú', 'Population of the residence register',
         'người', 'population', false),
        ('CIT_POPULATION_60_PLUS_SHARE', 'Tỷ lệ dân số từ 60 tuổi trở lên', 'Share of the population aged 60 and over',
         '%', 'population', true),
        ('CIT_BIRTHS_REGISTERED', 'Số trường hợp đăng ký khai sinh', 'Birth registrations',
         'trường hợp', 'civil_status', false),
        ('CIT_BIRTHS_ON_TIME_RATE', 'Tỷ lệ đăng ký khai sinh đúng hạn (trong 60 ngày)',
         'Share of births registered within the legal 60 days', '%', 'civil_status', true),
        ('CIT_DEATHS_REGISTERED', 'Số trường hợp đăng ký khai tử', 'Death registrations',
         'trường hợp', 'civil_status', false),
        ('CIT_MARRIAGES_REGISTERED', 'Số trường hợp đăng ký kết hôn', 'Marriage registrations',
         'trường hợp', 'civil_status', false),
        ('CIT_HEALTH_INSURANCE_COVERAGE', 'Tỷ lệ dân số tham gia bảo hiểm y tế',
         'Share of residents covered by health insurance', '%', 'insurance, population, civil_status', true),
        ('CIT_SOCIAL_INSURANCE_COVERAGE', 'Tỷ lệ người trong độ tuổi lao động tham gia bảo hiểm xã hội',
         'Share of working-age residents contributing to social insurance', '%',
         'insurance, population, civil_status', true),
        ('CIT_UNEMPLOYMENT_INSURANCE_COVERAGE', 'Tỷ lệ người trong độ tuổi lao động tham gia bảo hiểm thất nghiệp',
         'Share of working-age residents covered by unemployment insurance', '%',
         'labour, population, civil_status', true),
        ('CIT_EMPLOYED', 'Số người từ 15 tuổi trở lên có việc làm (sổ cung lao động)',
         'Employed persons aged 15 and over (labour-supply register)', 'người', 'labour', false),
        ('CIT_UNEMPLOYMENT_RATE', 'Tỷ lệ thất nghiệp (sổ cung lao động)',
         'Unemployment rate (labour-supply register)', '%', 'labour', true),
        ('CIT_POOR_HOUSEHOLDS', 'Số hộ nghèo', 'Poor households', 'hộ', 'labour', false),
        ('CIT_NEAR_POOR_HOUSEHOLDS', 'Số hộ cận nghèo', 'Near-poor households', 'hộ', 'labour', false)
    ) as t (indicator_code, indicator_name, indicator_name_en, unit, source_system, is_rate)
),

population_rows as (
    select
        'CIT_POPULATION' as indicator_code,
        'day' as period_type,
        as_of_date as period_start,
        as_of_date as period_end,
        commune_code as admin_unit_code,
        commune_name as admin_unit_name,
        sum(population) as numerator,
        cast(null as bigint) as denominator,
        max(source_ingested_at) as freshness_ts
    from population
    group by as_of_date, commune_code, commune_name

    union all

    select
        'CIT_POPULATION_60_PLUS_SHARE',
        'day',
        as_of_date,
        as_of_date,
        commune_code,
        commune_name,
        coalesce(sum(population) filter (where age_band >= '60'), 0),
        sum(population),
        max(source_ingested_at)
    from population
    group by as_of_date, commune_code, commune_name
),

event_months as (
    select
        case event_type
            when 'birth' then 'CIT_BIRTHS_REGISTERED'
            when 'death' then 'CIT_DEATHS_REGISTERED'
            when 'marriage' then 'CIT_MARRIAGES_REGISTERED'
        end as indicator_code,
        'month' as period_type,
        month_start as period_start,
        last_day(month_start) as period_end,
        commune_code as admin_unit_code,
        commune_name as admin_unit_name,
        registrations as numerator,
        cast(null as bigint) as denominator,
        source_ingested_at as freshness_ts
    from events

    union all

    select
        'CIT_BIRTHS_ON_TIME_RATE',
        'month',
        month_start,
        last_day(month_start),
        commune_code,
        commune_name,
        registrations - late_registrations,
        registrations,
        source_ingested_at
    from events
    where event_type = 'birth'
),

-- Quarters and years only when all their months are in the registers' span: a partial
-- quarter would read as a drop in registrations.
event_quarters as (
    select
        indicator_code,
        'quarter' as period_type,
        cast(date_trunc('quarter', period_start) as date) as period_start,
        last_day(cast(date_trunc('quarter', period_start) as date) + interval 2 month) as period_end,
        admin_unit_code,
        admin_unit_name,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        max(freshness_ts) as freshness_ts
    from event_months
    group by all
    having count(*) = 3
),

event_years as (
    select
        indicator_code,
        'year' as period_type,
        cast(date_trunc('year', period_start) as date) as period_start,
        cast(date_trunc('year', period_start) + interval 1 year - interval 1 day as date) as period_end,
        admin_unit_code,
        admin_unit_name,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        max(freshness_ts) as freshness_ts
    from event_months
    group by all
    having count(*) = 12
),

coverage_rows as (
    select
        'CIT_HEALTH_INSURANCE_COVERAGE' as indicator_code,
        'month' as period_type,
        month_start as period_start,
        last_day(month_start) as period_end,
        commune_code as admin_unit_code,
        commune_name as admin_unit_name,
        health_insured as numerator,
        residents as denominator,
        source_ingested_at as freshness_ts
    from coverage

    union all

    select 'CIT_SOCIAL_INSURANCE_COVERAGE', 'month', month_start, last_day(month_start), commune_code,
           commune_name, social_insured, working_age_residents, source_ingested_at
    from coverage

    union all

    select 'CIT_UNEMPLOYMENT_INSURANCE_COVERAGE', 'month', month_start, last_day(month_start), commune_code,
           commune_name, unemployment_insured, working_age_residents, source_ingested_at
    from coverage
    where unemployment_insured is not null
),

labour_rows as (
    select
        'CIT_EMPLOYED' as indicator_code,
        'quarter' as period_type,
        quarter_start as period_start,
        last_day(quarter_start + interval 2 month) as period_end,
        commune_code as admin_unit_code,
        commune_name as admin_unit_name,
        employed as numerator,
        cast(null as bigint) as denominator,
        source_ingested_at as freshness_ts
    from labour_force

    union all

    select 'CIT_UNEMPLOYMENT_RATE', 'quarter', quarter_start, last_day(quarter_start + interval 2 month),
           commune_code, commune_name, unemployed, labour_force, source_ingested_at
    from labour_force

    union all

    select 'CIT_POOR_HOUSEHOLDS', 'year', make_date(year, 1, 1), make_date(year, 12, 31), commune_code,
           commune_name, poor_households, cast(null as bigint), source_ingested_at
    from poor_households

    union all

    select 'CIT_NEAR_POOR_HOUSEHOLDS', 'year', make_date(year, 1, 1), make_date(year, 12, 31), commune_code,
           commune_name, near_poor_households, cast(null as bigint), source_ingested_at
    from poor_households
),

commune_rows as (
    select * from population_rows
    union all
    select * from event_months
    union all
    select * from event_quarters
    union all
    select * from event_years
    union all
    select * from coverage_rows
    union all
    select * from labour_rows
),

city_rows as (
    select
        indicator_code,
        period_type,
        period_start,
        period_end,
        '31' as admin_unit_code,
        'Thành phố Hải Phòng' as admin_unit_name,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        max(freshness_ts) as freshness_ts
    from commune_rows
    group by indicator_code, period_type, period_start, period_end
),

measured as (
    select
        rows.*,
        indicators.indicator_name,
        indicators.indicator_name_en,
        indicators.unit,
        indicators.source_system,
        indicators.is_rate,
        case
            when indicators.is_rate then round(100.0 * rows.numerator / nullif(rows.denominator, 0), 2)
            else cast(rows.numerator as double)
        end as value
    from (select * from commune_rows union all select * from city_rows) as rows
    inner join indicators on rows.indicator_code = indicators.indicator_code
    -- a rate of nobody (a unit without residents or without births) is no KPI value
    where not indicators.is_rate or coalesce(rows.denominator, 0) > 0
),

-- The target of a row (seeds/kpi_targets.yml): same indicator and year; the unit's own row
-- before the city's ('31' applies to every commune without one); the same period type, or a
-- yearly target for a rate.
targeted as (
    select
        measured.*,
        targets.target,
        targets.direction
    from measured
    left join targets
        on targets.indicator_code = measured.indicator_code
        and targets.target_year = year(measured.period_start)
        and targets.admin_unit_code in (measured.admin_unit_code, '31')
        and (targets.period_type = measured.period_type or (measured.is_rate and targets.period_type = 'year'))
    qualify row_number() over (
        partition by measured.indicator_code, measured.period_type, measured.period_start, measured.admin_unit_code
        order by (targets.admin_unit_code = measured.admin_unit_code) desc nulls last,
                 (targets.period_type = measured.period_type) desc nulls last
    ) = 1
)

{{ ioc_contract_select('targeted') }}
