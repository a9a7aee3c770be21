-- Construction-permit dossiers with their processing time (thời gian giải quyết): calendar days
-- from submission to issue against the legal limit the register's due date carries (15 days for
-- an individual house, 20 for other works), and whether the site parcel is in the land database.
with permits as (
    select * from {{ ref('stg_processed_construction_permits__construction_permit') }}
),

parcel_links as (
    select record_id, match_status
    from {{ ref('stg_integrated_land__parcel_link') }}
    where role = 'permit.parcel'
),

timed as (
    select
        permits.dossier_code,
        permits.works_type,
        permits.investor_kind,
        permits.commune_code,
        permits.status,
        permits.submitted_date,
        permits.due_date,
        permits.issued_date,
        -- a revoked permit was issued first: its processing time counts like any other
        permits.status in ('issued', 'revoked') and permits.issued_date is not null as was_issued,
        case when permits.issued_date is not null and permits.submitted_date is not null
            then date_diff('day', permits.submitted_date, permits.issued_date) end as processing_days,
        case when permits.due_date is not null and permits.submitted_date is not null
            then date_diff('day', permits.submitted_date, permits.due_date) end as legal_limit_days,
        case when permits.issued_date is not null and permits.due_date is not null
            then permits.issued_date <= permits.due_date end as is_on_time,
        coalesce(parcel_links.match_status, 'no_key') as parcel_match_status,
        permits.ingested_at
    from permits
    left join parcel_links on parcel_links.record_id = permits.record_id
)

select * from timed
