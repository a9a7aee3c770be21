-- TTHC dossiers without the applicant's CCCD / tax code and name: the KPIs need codes, dates and flags only.
with source as (
    select * from {{ source('processed_dossiers', 'dossier') }}
),

renamed as (
    select
        receipt_code,
        procedure_code,
        agency_code,
        reported_unit_code,
        commune_code,
        channel,
        submitted_online,
        received_at,
        cast(received_date as date) as received_date,
        due_at,
        returned_at,
        status,
        on_time,
        processing_days,
        applicant_type,
        updated_at,
        quality_flags,
        _ingested_at as ingested_at
    from source
)

select * from renamed
