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
