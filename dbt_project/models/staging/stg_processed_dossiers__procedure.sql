-- The procedure catalogue: the online level says which dossiers count as full-process online.
with source as (
    select * from {{ source('processed_dossiers', 'procedure') }}
),

renamed as (
    select
        procedure_code,
        procedure_name,
        procedure_field,
        level,
        lead_agency_code,
        cast(time_limit_working_days as integer) as time_limit_working_days,
        online_level,
        eligible_applicants,
        fee_vnd,
        _ingested_at as ingested_at
    from source
)

select * from renamed
