-- A table, not a view: it joins million-row zone tables, and its tests and every model
-- reading it would otherwise each recompute it (at SF10 that cost the build ~15 s).
{{ config(materialized='table') }}

-- One row per TTHC dossier with what the administrative-procedure KPIs count: receipt date,
-- closing date, receiving agency, commune, channel flags and outcome. No applicant identifiers.
with dossiers as (
    select * from {{ ref('stg_processed_dossiers__dossier') }}
),

procedures as (
    select * from {{ ref('stg_processed_dossiers__procedure') }}
),

agencies as (
    select * from {{ ref('stg_processed_dossiers__agency') }}
),

flagged as (
    select
        dossiers.receipt_code,
        dossiers.procedure_code,
        dossiers.agency_code,
        dossiers.commune_code,
        dossiers.applicant_type,
        dossiers.received_date,
        -- Closed = resolved or returned. The day it closed is the return time in Vietnam time; where
        -- the source recorded a resolution without a return time, the time of that status change.
        case
            when dossiers.status != 'in_progress' then coalesce(
                cast(timezone('Asia/Ho_Chi_Minh', dossiers.returned_at) as date),
                cast(timezone('Asia/Ho_Chi_Minh', dossiers.updated_at) as date),
                dossiers.received_date
            )
        end as closed_date,
        dossiers.status,
        coalesce(dossiers.submitted_online, false) as is_submitted_online,
        -- processed fully online (hồ sơ trực tuyến toàn trình): submitted online for a procedure
        -- offered as a full-process online service
        coalesce(dossiers.submitted_online, false) and coalesce(procedures.online_level = 'full', false)
            as is_full_online,
        dossiers.status in ('resolved_on_time', 'resolved_late') as is_resolved,
        -- on_time is the processed rule's judgement: return time against due time, else the recorded status
        dossiers.status in ('resolved_on_time', 'resolved_late') and coalesce(dossiers.on_time, false)
            as is_resolved_on_time,
        dossiers.status in ('resolved_on_time', 'resolved_late') and not coalesce(dossiers.on_time, false)
            as is_resolved_late,
        dossiers.status = 'returned' as is_returned,
        dossiers.processing_days,
        dossiers.ingested_at
    from dossiers
    left join procedures on dossiers.procedure_code = procedures.procedure_code
),

named as (
    -- the agency's name on the day the dossier was received (a code can name another agency after a reform)
    select
        flagged.*,
        agencies.agency_name
    from flagged
    left join agencies
        on flagged.agency_code = agencies.agency_code
        and flagged.received_date >= agencies.valid_from
        and (agencies.valid_to is null or flagged.received_date <= agencies.valid_to)
    qualify row_number() over (partition by flagged.receipt_code order by agencies.valid_from desc nulls last) = 1
)

select * from named
