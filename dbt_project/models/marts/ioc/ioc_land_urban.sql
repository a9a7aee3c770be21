-- IOC KPI table of the land-urban dashboard area (chỉ số điều hành lĩnh vực đất đai - đô thị): one
-- row per indicator, period and administrative unit, in the contract every IOC table shares,
-- derived from the land_urban marts only.
--   day      the land database on the run's logical date: parcels, area, certified and spatial shares
--   month    certificates issued per unit; permit dossiers received, permits issued, on-time rate
--            and mean processing days for the city, in each month of the dashboard window
--            (var ioc_history_start .. the logical date's month, month-to-date);
--   quarter, year  complete quarters and years of the window, from the months' numerators and
--            denominators.
-- Each row keeps its numerator and denominator to the end, so a city or quarter value is the ratio
-- of sums, never a mean of rates. Counts are 0 for a period without events (the registers are
-- complete); a rate or mean without a denominator is no KPI value and has no row.
{%- set as_of = "cast('" ~ var('as_of_date') ~ "' as date)" %}
{%- set window_start = "cast('" ~ var('ioc_history_start', '2021-01-01') ~ "' as date)" %}
with parcels as (
    select * from {{ ref('parcels_by_land_use_commune') }}
),

certificates as (
    select * from {{ ref('land_certificates_by_period') }}
    where period_type = 'month'
),

permits as (
    select * from {{ ref('construction_permits_by_month_type') }}
),

units as (
    select unit_code, unit_name from {{ ref('stg_reference__admin_units') }}
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

-- grain: period type the mart gives; scope: commune (rows per unit, summed for the city) or city;
-- kind: sum (value = numerator; a flow, a yearly target applies to the year row only), level (a
-- stock on a day), rate (100 * numerator / denominator) or mean (numerator / denominator); a
-- yearly target of a level, rate or mean applies to every period of its year
indicators as (
    select * from (values
        ('LU_PARCELS', 'Số thửa đất trong cơ sở dữ liệu đất đai', 'Parcels in the land database',
         'thửa', 'day', 'commune', 'level', 'land'),
        ('LU_PARCEL_AREA', 'Diện tích các thửa đất trong cơ sở dữ liệu đất đai', 'Area of the parcels in the land database',
         'ha', 'day', 'commune', 'level', 'land'),
        ('LU_PARCEL_CERTIFIED_SHARE', 'Tỷ lệ thửa đất đã cấp giấy chứng nhận', 'Share of parcels with a land-use-right certificate',
         '%', 'day', 'commune', 'rate', 'land'),
        ('LU_PARCEL_SPATIAL_SHARE', 'Tỷ lệ thửa đất có dữ liệu không gian', 'Share of parcels with spatial data',
         '%', 'day', 'commune', 'rate', 'land'),
        ('LU_CERTIFICATES_ISSUED', 'Số giấy chứng nhận quyền sử dụng đất đã cấp', 'Land-use-right certificates issued',
         'giấy chứng nhận', 'month', 'commune', 'sum', 'land'),
        ('LU_PERMIT_DOSSIERS_RECEIVED', 'Số hồ sơ cấp phép xây dựng tiếp nhận', 'Construction-permit dossiers received',
         'hồ sơ', 'month', 'city', 'sum', 'construction_permits'),
        ('LU_PERMITS_ISSUED', 'Số giấy phép xây dựng đã cấp', 'Construction permits issued',
         'giấy phép', 'month', 'city', 'sum', 'construction_permits'),
        ('LU_PERMIT_ON_TIME_RATE', 'Tỷ lệ giấy phép xây dựng cấp đúng hạn', 'Share of construction permits issued on time',
         '%', 'month', 'city', 'rate', 'construction_permits'),
        ('LU_PERMIT_HOUSE_DAYS_AVG', 'Thời gian giải quyết bình quân cấp phép nhà ở riêng lẻ',
         'Mean processing time of individual-house permits', 'ngày', 'month', 'city', 'mean', 'construction_permits'),
        ('LU_PERMIT_OTHER_DAYS_AVG', 'Thời gian giải quyết bình quân cấp phép công trình khác',
         'Mean processing time of permits for other works', 'ngày', 'month', 'city', 'mean', 'construction_permits')
    ) as t (indicator_code, indicator_name, indicator_name_en, unit, grain, scope, kind, source_system)
),

facts as (
    select 'LU_PARCELS' as indicator_code, as_of_date as period_start, commune_code as admin_unit_code,
           cast(parcels as double) as numerator, cast(null as double) as denominator,
           data_ingested_at as freshness_ts
    from parcels
    union all
    select 'LU_PARCEL_AREA', as_of_date, commune_code, area_ha, null, data_ingested_at
    from parcels
    union all
    select 'LU_PARCEL_CERTIFIED_SHARE', as_of_date, commune_code, certified_parcels, parcels, data_ingested_at
    from parcels
    union all
    select 'LU_PARCEL_SPATIAL_SHARE', as_of_date, commune_code, parcels_with_geometry, parcels, data_ingested_at
    from parcels
    union all
    select 'LU_CERTIFICATES_ISSUED', period_start, commune_code, certificates_issued, null, data_ingested_at
    from certificates
    union all
    select 'LU_PERMIT_DOSSIERS_RECEIVED', month_start, '31', dossiers_received, null, data_ingested_at
    from permits
    union all
    select 'LU_PERMITS_ISSUED', month_start, '31', permits_issued, null, data_ingested_at
    from permits
    union all
    select 'LU_PERMIT_ON_TIME_RATE', month_start, '31', issued_on_time, issued_on_time + issued_late, data_ingested_at
    from permits
    union all
    select
        case works_type when 'individual_house' then 'LU_PERMIT_HOUSE_DAYS_AVG' else 'LU_PERMIT_OTHER_DAYS_AVG' end,
        month_start, '31', total_processing_days, timed_permits, data_ingested_at
    from permits
),

-- when each source last arrived: the freshness of a zero (no row is behind it, but the whole
-- register says there was none)
source_arrival as (
    select indicators.source_system, max(facts.freshness_ts) as freshness_ts
    from facts
    inner join indicators on indicators.indicator_code = facts.indicator_code
    group by indicators.source_system
),

months as (
    select cast(month_start as date) as month_start
    from generate_series(
        cast({{ window_start }} as timestamp),
        cast(date_trunc('month', {{ as_of }}) as timestamp),
        interval 1 month
    ) as s (month_start)
),

periods as (
    select indicator_code, 'day' as period_type, {{ as_of }} as period_start, {{ as_of }} as period_end
    from indicators
    where grain = 'day'
    union all
    select indicators.indicator_code, 'month', months.month_start, last_day(months.month_start)
    from indicators
    cross join months
    where indicators.grain = 'month'
),

frame as (
    select periods.*, units.unit_code as admin_unit_code, units.unit_name as admin_unit_name
    from periods
    inner join indicators on indicators.indicator_code = periods.indicator_code
    cross join units
    where indicators.scope = 'commune'
    union all
    select periods.*, '31', 'Thành phố Hải Phòng'
    from periods
    inner join indicators on indicators.indicator_code = periods.indicator_code
    where indicators.scope = 'city'
),

framed as (
    select
        frame.indicator_code,
        frame.period_type,
        frame.period_start,
        frame.period_end,
        frame.admin_unit_code,
        frame.admin_unit_name,
        coalesce(sum(facts.numerator), 0) as numerator,
        coalesce(sum(facts.denominator), 0) as denominator,
        max(facts.freshness_ts) as freshness_ts
    from frame
    left join facts
        on facts.indicator_code = frame.indicator_code
        and facts.period_start = frame.period_start
        and facts.admin_unit_code = frame.admin_unit_code
    group by all
),

with_city as (
    select * from framed
    union all
    select
        framed.indicator_code,
        framed.period_type,
        framed.period_start,
        framed.period_end,
        '31' as admin_unit_code,
        'Thành phố Hải Phòng' as admin_unit_name,
        sum(framed.numerator) as numerator,
        sum(framed.denominator) as denominator,
        max(framed.freshness_ts) as freshness_ts
    from framed
    inner join indicators on indicators.indicator_code = framed.indicator_code
    where indicators.scope = 'commune'
    group by all
),

-- complete quarters and years inside the window: a partial one would read as a drop
rollups as (
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
    from with_city
    where period_type = 'month'
    group by all
    having count(*) = 3 and max(period_end) <= {{ as_of }}

    union all

    select
        indicator_code,
        'year',
        cast(date_trunc('year', period_start) as date),
        cast(date_trunc('year', period_start) + interval 1 year - interval 1 day as date),
        admin_unit_code,
        admin_unit_name,
        sum(numerator),
        sum(denominator),
        max(freshness_ts)
    from with_city
    where period_type = 'month'
    group by all
    having count(*) = 12 and max(period_end) <= {{ as_of }}
),

measured as (
    select
        rows.indicator_code,
        rows.period_type,
        rows.period_start,
        rows.period_end,
        rows.admin_unit_code,
        rows.admin_unit_name,
        case indicators.kind
            when 'rate' then round(100.0 * rows.numerator / rows.denominator, 2)
            when 'mean' then round(rows.numerator / rows.denominator, 2)
            else round(rows.numerator, 4)
        end as value,
        coalesce(rows.freshness_ts, source_arrival.freshness_ts) as freshness_ts,
        indicators.indicator_name,
        indicators.indicator_name_en,
        indicators.unit,
        indicators.kind,
        indicators.source_system
    from (select * from with_city union all select * from rollups) as rows
    inner join indicators on indicators.indicator_code = rows.indicator_code
    left join source_arrival on source_arrival.source_system = indicators.source_system
    -- a rate or mean of nothing (no parcel, no permit issued) is no KPI value
    where indicators.kind in ('sum', 'level') or rows.denominator > 0
),

-- the target of a row (seeds/kpi_targets.yml): same indicator and year; the unit's own target
-- before the city's; the same period type, or a yearly target for anything but a flow
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
        and (targets.period_type = measured.period_type
             or (measured.kind <> 'sum' and targets.period_type = 'year'))
    qualify row_number() over (
        partition by measured.indicator_code, measured.period_type, measured.period_start, measured.admin_unit_code
        order by (targets.admin_unit_code = measured.admin_unit_code) desc nulls last,
                 (targets.period_type = measured.period_type) desc nulls last
    ) = 1
)

{{ ioc_contract_select('targeted') }}
