-- Quarterly workbook cells of the statistics office, typed as the processed zone wrote them.
with source as (
    select * from {{ source('processed_statistics', 'quarterly_indicator') }}
),

renamed as (
    select
        record_id,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(year as integer) as year,
        cast(period_number as integer) as period_number,
        sheet,
        label,
        indicator_code,
        in_catalogue,
        unit,
        measure,
        cast(value as double) as value,
        city_scope,
        delivered_at,
        _ingested_at as ingested_at
    from source
)

select * from renamed
