{#- No dbt packages offline (the package hub is unreachable), so this small generic test
    stands in for dbt_utils.unique_combination_of_columns. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
