-- Land-use certificates with whether an organisation holder is an enterprise of the business
-- register (linked by tax code in the integrated zone).
with certificates as (
    select * from {{ ref('stg_processed_land__land_certificate') }}
),

holder_links as (
    select record_id, match_status
    from {{ ref('stg_integrated_enterprise__business_link') }}
    where role = 'certificate.holder'
)

select
    certificates.serial_no,
    certificates.commune_code,
    certificates.holder_kind,
    certificates.area_m2,
    certificates.land_use_code,
    certificates.land_use_group,
    certificates.issue_date,
    certificates.status,
    certificates.holder_kind = 'organisation'
        and coalesce(holder_links.match_status, 'no_key') = 'matched' as is_registered_enterprise_holder,
    certificates.ingested_at
from certificates
left join holder_links on holder_links.record_id = certificates.record_id
