{#- Use the folder's schema as-is (citizen, staging, ...) instead of dbt's
    "<target schema>_<custom schema>", so analysts query citizen.<mart>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
