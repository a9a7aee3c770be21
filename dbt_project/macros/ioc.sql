{#- Shared pieces of the IOC KPI tables (models/marts/ioc): one contract for every dashboard area. -#}

{#- Status of a value against its target. direction: 'higher' (a rate to reach) or 'lower' (a ceiling).
    Why in a macro: every IOC table must classify the same way, or the dashboard colours disagree. -#}
{% macro ioc_status(value, target, direction) -%}
    case
        when {{ target }} is null or {{ value }} is null then 'no_target'
        when {{ direction }} = 'lower' and {{ value }} <= {{ target }} then 'met'
        when {{ direction }} = 'lower' then 'not_met'
        when {{ value }} >= {{ target }} then 'met'
        else 'not_met'
    end
{%- endmacro %}

{#- The data version every mart row carries: set by kho.marts from the Delta versions of the
    zone tables the build read, so the IOC can tell which lake state a number comes from. -#}
{% macro data_version() -%}
    cast('{{ var("data_version", "dev") }}' as varchar)
{%- endmacro %}

{#- The label of a period in the IOC contract: '2026-11-27', '2026-11', '2026-Q4' or '2026'. -#}
{% macro ioc_period_label(period_type, period_start) -%}
    case {{ period_type }}
        when 'day' then strftime({{ period_start }}, '%Y-%m-%d')
        when 'month' then strftime({{ period_start }}, '%Y-%m')
        when 'quarter' then strftime({{ period_start }}, '%Y') || '-Q' || cast(quarter({{ period_start }}) as varchar)
        else strftime({{ period_start }}, '%Y')
    end
{%- endmacro %}

{#- The closing select of an IOC table built from measured rows joined to their targets
    (columns indicator_code .. freshness_ts of the contract, plus `direction`): labels the
    period, classifies the status, stamps the data version, and casts every column to the
    contract's type, in the contract's order. -#}
{% macro ioc_contract_select(relation, source_system='source_system') -%}
select
    cast(indicator_code as varchar) as indicator_code,
    cast(indicator_name as varchar) as indicator_name,
    cast(indicator_name_en as varchar) as indicator_name_en,
    cast(unit as varchar) as unit,
    cast(period_type as varchar) as period_type,
    cast({{ ioc_period_label('period_type', 'period_start') }} as varchar) as period,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(admin_unit_code as varchar) as admin_unit_code,
    cast(admin_unit_name as varchar) as admin_unit_name,
    cast(value as double) as value,
    cast(target as double) as target,
    cast({{ ioc_status('value', 'target', 'direction') }} as varchar) as status,
    cast({{ source_system }} as varchar) as source_system,
    {{ data_version() }} as data_version,
    cast(freshness_ts as timestamp) as freshness_ts
from {{ relation }}
order by indicator_code, period_type, period_start, admin_unit_code
{%- endmacro %}
