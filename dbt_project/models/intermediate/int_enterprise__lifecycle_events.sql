-- Lifecycle events of businesses: registration (đăng ký thành lập), suspension (tạm ngừng kinh
-- doanh), dissolution of an enterprise or ceasing of a household business (giải thể / chấm dứt
-- hoạt động) and annulment (hủy đăng ký: the registration vanished from the register). One row per
-- business and event, dated as precisely as the sources allow; date_source says how:
--   event         the effective date of the register's change event (thay_doi_dang_ky)
--   register      the founding / registration date of the register row
--   observed      when Kho's SCD2 history first showed the state, for states that appeared after
--                 Kho's first load of the register (a version of the first load only says the
--                 register already held the state, not when it began)
--   register_update  the day the register last updated the row (for a household business, whose
--                 status changes have no event table, the day its status change was recorded)
with history as (
    select * from {{ ref('stg_integrated_enterprise__business_history') }}
),

businesses as (
    select * from {{ ref('int_enterprise__businesses') }}
),

changes as (
    select * from {{ ref('stg_processed_business_registration__registration_change') }}
    where effective_date is not null
),

register_rows as (
    select business_key, updated_date from {{ ref('stg_processed_business_registration__enterprise') }}
    union all
    select business_key, updated_date from {{ ref('stg_processed_business_registration__household_business') }}
),

initial_load as (
    select min(valid_from) as loaded_at from history
),

first_seen as (
    select business_key, min(valid_from) as first_seen_at
    from history
    group by business_key
),

-- when the current status began in Kho's history: the first version of the latest unbroken run
-- of versions carrying it
status_entry as (
    select
        history.business_key,
        min(history.valid_from) as entered_at
    from history
    inner join businesses on businesses.business_key = history.business_key
    where not history.is_deleted
        and history.status = businesses.status
        and history.valid_from > coalesce((
            select max(other.valid_from)
            from history as other
            where other.business_key = history.business_key
                and not other.is_deleted
                and other.status <> businesses.status
        ), '-infinity'::timestamp)
    group by history.business_key
),

-- Kho's timestamps are UTC; Vietnam is UTC+7 all year, so this is the local calendar day
observed as (
    select
        businesses.business_key,
        case when first_seen.first_seen_at > initial_load.loaded_at
            then cast(first_seen.first_seen_at + interval 7 hour as date) end as first_seen_on,
        case when status_entry.entered_at > initial_load.loaded_at
            then cast(status_entry.entered_at + interval 7 hour as date) end as status_entered_on
    from businesses
    cross join initial_load
    left join first_seen on first_seen.business_key = businesses.business_key
    left join status_entry on status_entry.business_key = businesses.business_key
),

dissolution_events as (
    select business_key, min(effective_date) as dissolved_on, max(ingested_at) as ingested_at
    from changes
    where change_type = 'dissolution'
    group by business_key
),

suspension_events as (
    select business_key, effective_date as suspended_on, max(ingested_at) as ingested_at
    from changes
    where change_type = 'suspension'
    group by business_key, effective_date
),

registrations as (
    select
        businesses.business_key,
        businesses.business_kind,
        businesses.commune_code,
        'registration' as event_type,
        coalesce(businesses.founded_date, observed.first_seen_on) as event_date,
        case when businesses.founded_date is not null then 'register' else 'observed' end as date_source,
        businesses.ingested_at
    from businesses
    inner join observed on observed.business_key = businesses.business_key
),

dissolutions as (
    select
        businesses.business_key,
        businesses.business_kind,
        businesses.commune_code,
        'dissolution' as event_type,
        coalesce(dissolution_events.dissolved_on, observed.status_entered_on, register_rows.updated_date) as event_date,
        case
            when dissolution_events.dissolved_on is not null then 'event'
            when observed.status_entered_on is not null then 'observed'
            else 'register_update'
        end as date_source,
        coalesce(dissolution_events.ingested_at, businesses.ingested_at) as ingested_at
    from businesses
    inner join observed on observed.business_key = businesses.business_key
    left join dissolution_events on dissolution_events.business_key = businesses.business_key
    left join register_rows on register_rows.business_key = businesses.business_key
    where businesses.status in ('dissolved', 'ceased')
),

recorded_suspensions as (
    select
        businesses.business_key,
        businesses.business_kind,
        businesses.commune_code,
        'suspension' as event_type,
        suspension_events.suspended_on as event_date,
        'event' as date_source,
        suspension_events.ingested_at
    from suspension_events
    inner join businesses on businesses.business_key = suspension_events.business_key
),

-- suspended now, with no suspension event (every household business, and an enterprise whose
-- event was quarantined)
unrecorded_suspensions as (
    select
        businesses.business_key,
        businesses.business_kind,
        businesses.commune_code,
        'suspension' as event_type,
        coalesce(observed.status_entered_on, register_rows.updated_date) as event_date,
        case when observed.status_entered_on is not null then 'observed' else 'register_update' end as date_source,
        businesses.ingested_at
    from businesses
    inner join observed on observed.business_key = businesses.business_key
    left join register_rows on register_rows.business_key = businesses.business_key
    where businesses.status = 'suspended'
        and businesses.business_key not in (select business_key from suspension_events)
),

-- a current deleted version: the registration left the register; kind and unit from the last
-- version that still had them
annulments as (
    select
        deleted.business_key,
        last_known.business_kind,
        last_known.commune_code,
        'annulment' as event_type,
        cast(deleted.valid_from + interval 7 hour as date) as event_date,
        'observed' as date_source,
        cast(null as timestamp) as ingested_at
    from history as deleted
    inner join history as last_known
        on last_known.business_key = deleted.business_key
        and not last_known.is_deleted
        and last_known.valid_to = deleted.valid_from
    where deleted.is_current and deleted.is_deleted
),

events as (
    select * from registrations
    union all
    select * from dissolutions
    union all
    select * from recorded_suspensions
    union all
    select * from unrecorded_suspensions
    union all
    select * from annulments
)

select * from events
where event_date is not null
