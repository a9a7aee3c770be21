-- A table, not a view: it joins million-row zone tables, and its tests and every model
-- reading it would otherwise each recompute it (at SF10 that cost the build ~15 s).
{{ config(materialized='table') }}

-- Unemployment insurance per resident and quarter, from the labour register (the BHXH extract
-- has no such field): a person listed as insured in the quarter's file, linked by pseudonym.
with register as (
    select * from {{ ref('stg_processed_labour__labour_register') }}
),

links as (
    select record_id, citizen_key
    from {{ ref('stg_integrated_citizen__citizen_link') }}
    where source_table = 'processed/labour/labour_register'
      and role = 'labour.worker'
      and match_status in ('matched', 'ambiguous')
),

final as (
    select
        links.citizen_key,
        register.quarter_start,
        bool_or(coalesce(register.unemployment_insured, false)) as unemployment_insured
    from register
    inner join links on register.record_id = links.record_id
    group by links.citizen_key, register.quarter_start
)

select * from final
