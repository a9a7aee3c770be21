-- Age in completed years as of the run's logical date, and its 5-year band (nhóm tuổi).
with citizens as (
    select * from {{ ref('stg_integrated__citizen') }}
),

aged as (
    select
        citizen_key,
        sex,
        commune_code,
        date_sub('year', birth_date, cast('{{ var("as_of_date") }}' as date)) as age_years
    from citizens
),

banded as (
    select
        *,
        case
            when age_years >= 80 then '80+'
            else lpad(cast(age_years // 5 * 5 as varchar), 2, '0')
                 || '-' || lpad(cast(age_years // 5 * 5 + 4 as varchar), 2, '0')
        end as age_band
    from aged
)

select * from banded
