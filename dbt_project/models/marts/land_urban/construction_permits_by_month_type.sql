-- Construction permits per month and type of works (giấy phép xây dựng theo tháng và loại công
-- trình) for the whole city: dossiers received in the month and what became of them, permits
-- issued in the month and how long they took (thời gian giải quyết) against the legal limit.
with permits as (
    select * from {{ ref('int_land__permits') }}
),

received as (
    select
        cast(date_trunc('month', submitted_date) as date) as month_start,
        works_type,
        count(*) as dossiers_received,
        count(*) filter (where was_issued) as received_now_issued,
        count(*) filter (where status = 'refused') as received_now_refused,
        count(*) filter (where status = 'in_progress') as received_in_progress,
        count(*) filter (where parcel_match_status = 'matched') as received_on_known_parcel,
        max(ingested_at) as data_ingested_at
    from permits
    where submitted_date is not null
    group by all
),

issued as (
    select
        cast(date_trunc('month', issued_date) as date) as month_start,
        works_type,
        count(*) as permits_issued,
        count(processing_days) as timed_permits,
        sum(processing_days) as total_processing_days,
        avg(processing_days) as avg_processing_days,
        median(processing_days) as median_processing_days,
        max(processing_days) as max_processing_days,
        median(legal_limit_days) as legal_limit_days,
        count(*) filter (where is_on_time) as issued_on_time,
        count(*) filter (where not is_on_time) as issued_late,
        max(ingested_at) as data_ingested_at
    from permits
    where was_issued
    group by all
),

final as (
    select
        coalesce(received.month_start, issued.month_start) as month_start,
        strftime(coalesce(received.month_start, issued.month_start), '%Y-%m') as month,
        coalesce(received.works_type, issued.works_type) as works_type,
        coalesce(received.dossiers_received, 0) as dossiers_received,
        coalesce(received.received_now_issued, 0) as received_now_issued,
        coalesce(received.received_now_refused, 0) as received_now_refused,
        coalesce(received.received_in_progress, 0) as received_in_progress,
        coalesce(received.received_on_known_parcel, 0) as received_on_known_parcel,
        coalesce(issued.permits_issued, 0) as permits_issued,
        coalesce(issued.timed_permits, 0) as timed_permits,
        cast(coalesce(issued.total_processing_days, 0) as bigint) as total_processing_days,
        cast(issued.avg_processing_days as double) as avg_processing_days,
        cast(issued.median_processing_days as double) as median_processing_days,
        cast(issued.max_processing_days as integer) as max_processing_days,
        cast(issued.legal_limit_days as double) as legal_limit_days,
        coalesce(issued.issued_on_time, 0) as issued_on_time,
        coalesce(issued.issued_late, 0) as issued_late,
        -- share of the permits issued in the month whose due date is known that met it
        cast(issued.issued_on_time as double)
            / nullif(issued.issued_on_time + issued.issued_late, 0) as on_time_rate,
        greatest(received.data_ingested_at, issued.data_ingested_at) as data_ingested_at
    from received
    full outer join issued
        on issued.month_start = received.month_start
        and issued.works_type = received.works_type
)

select * from final
order by month_start, works_type
