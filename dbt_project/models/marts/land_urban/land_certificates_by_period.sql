-- Land-use-right certificates issued per month and per quarter, by commune-level unit (giấy chứng
-- nhận quyền sử dụng đất đã cấp theo tháng, quý và đơn vị hành chính cấp xã). A certificate counts
-- in the period of its issue date whatever its status today; one without an issue date is left out.
with certificates as (
    select * from {{ ref('int_land__certificates') }}
    where issue_date is not null
),

units as (
    select * from {{ ref('stg_reference__admin_units') }}
),

dated as (
    select
        *,
        cast(date_trunc('month', issue_date) as date) as month_start,
        cast(date_trunc('quarter', issue_date) as date) as quarter_start
    from certificates
),

periods as (
    select
        'month' as period_type,
        strftime(month_start, '%Y-%m') as period,
        month_start as period_start,
        cast(month_start + interval 1 month - interval 1 day as date) as period_end,
        *
    from dated
    union all
    select
        'quarter' as period_type,
        strftime(quarter_start, '%Y') || '-Q' || cast(quarter(quarter_start) as varchar) as period,
        quarter_start as period_start,
        cast(quarter_start + interval 3 month - interval 1 day as date) as period_end,
        *
    from dated
),

counted as (
    select
        period_type,
        period,
        period_start,
        period_end,
        commune_code,
        count(*) as certificates_issued,
        count(*) filter (where holder_kind = 'person') as person_holder_certificates,
        count(*) filter (where holder_kind = 'organisation') as organisation_holder_certificates,
        count(*) filter (where is_registered_enterprise_holder) as registered_enterprise_holder_certificates,
        -- exact (decimal) sum: the same total whatever order the rows are added in
        cast(coalesce(sum(area_m2::decimal(38, 9)), 0) as double) as issued_area_m2,
        count(*) filter (where status = 'withdrawn') as withdrawn_since,
        max(ingested_at) as data_ingested_at
    from periods
    group by all
),

final as (
    select
        counted.period_type,
        counted.period,
        counted.period_start,
        counted.period_end,
        counted.commune_code,
        units.unit_name as commune_name,
        counted.certificates_issued,
        counted.person_holder_certificates,
        counted.organisation_holder_certificates,
        counted.registered_enterprise_holder_certificates,
        round(counted.issued_area_m2, 1) as issued_area_m2,
        counted.withdrawn_since,
        counted.data_ingested_at
    from counted
    inner join units on units.unit_code = counted.commune_code
)

select * from final
order by period_type, period_start, commune_code
