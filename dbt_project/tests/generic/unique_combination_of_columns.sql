{#- The columns together identify a row (dbt_utils' test of the same name, without the package). -#}
{% test unique_combination_of_columns(model, columns) %}
select
    {{ columns | join(", ") }},
    count(*) as rows_with_these_values
from {{ model }}
group by {{ columns | join(", ") }}
having count(*) > 1
{% endtest %}
