-- Residents whose death is registered in the civil-status register (khai tử). The residence
-- register is not told of deaths (a known gap between the two systems), so "residents alive in
-- a month" needs this. Only links with status 'matched' count: an 'ambiguous' link (the birth
-- dates disagree) may be a CCCD typo that hits someone else, and removing a living person from
-- the residents is worse than keeping a dead one.
with deaths as (
    select record_id, death_date from {{ ref('stg_processed_civil_status__death_registration') }}
),

links as (
    select record_id, citizen_key
    from {{ ref('stg_integrated_citizen__citizen_link') }}
    where source_table = 'processed/civil_status/death_registration'
      and role = 'death.deceased'
      and match_status = 'matched'
),

final as (
    select
        links.citizen_key,
        min(deaths.death_date) as death_date,
        count(*) as death_registrations
    from deaths
    inner join links on deaths.record_id = links.record_id
    group by links.citizen_key
)

select * from final
