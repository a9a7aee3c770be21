-- IOC KPI table of the socio-economic dashboard (chỉ tiêu kinh tế - xã hội cho IOC): the economic,
-- social and environmental indicators of the indicator fact (statistics office, IoT stations) in
-- the shared IOC contract. Administrative-procedure indicators are on ioc_public_service.
with facts as (
    select * from {{ ref('indicator_fact') }}
    where indicator_group in ('kinh_te', 'xa_hoi', 'moi_truong')
)

select
    facts.indicator_code,
    facts.indicator_name,
    facts.indicator_name_en,
    facts.unit,
    facts.period_type,
    facts.period,
    facts.period_start,
    facts.period_end,
    facts.admin_unit_code,
    facts.admin_unit_name,
    facts.value,
    facts.target,
    facts.status,
    facts.source_system,
    {{ data_version() }} as data_version,
    facts.freshness_ts
from facts
