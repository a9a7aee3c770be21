-- A table, not a view: it joins million-row zone tables, and its tests and every model
-- reading it would otherwise each recompute it (at SF10 that cost the build ~15 s).
{{ config(materialized='table') }}

-- Each insurance participation with the schemes its category gives and the participant's
-- pseudonym. Which category gives which scheme (Luật BHYT 2008/2014, Luật BHXH 2024):
--   health insurance (BHYT): every category except tu_nguyen (voluntary social insurance does
--     not include a health card; the extract lists one category per person, so a voluntary member
--     without a separate household card is not counted as health-insured);
--   social insurance (BHXH): bat_buoc (compulsory, through an employer) and tu_nguyen (voluntary);
--     pensioners (huu_tri) receive from the fund, they do not contribute, so they are not counted.
with participants as (
    select * from {{ ref('stg_processed_insurance__insurance_participant') }}
),

links as (
    select record_id, citizen_key, match_status
    from {{ ref('stg_integrated_citizen__citizen_link') }}
    where source_table = 'processed/insurance/insurance_participant'
      and role = 'insurance.participant'
),

final as (
    select
        participants.record_id,
        participants.extract_month,
        participants.category,
        participants.commune_code,
        -- 'ambiguous' (CCCD found, birth dates disagree) is still a link: the citizen_link doc
        -- says so, and the birth date is the field BHXH data most often gets wrong.
        case when links.match_status in ('matched', 'ambiguous') then links.citizen_key end as citizen_key,
        -- null when the link table misses the participation (link job older than the extract):
        -- the not_null test on it stops the build rather than count the person as uninsured.
        links.match_status,
        participants.category <> 'tu_nguyen' as covers_health,
        participants.category in ('bat_buoc', 'tu_nguyen') as covers_social,
        participants.ingested_at
    from participants
    left join links on participants.record_id = links.record_id
)

select * from final
