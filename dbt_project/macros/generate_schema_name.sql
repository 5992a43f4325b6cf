{#
    Models land in schemas named exactly after their layer (staging, intermediate, marts) and the
    policy seeds in `policy`, on every target: other parts of synthgov (the retention DAG, the
    regulator pack, dashboards) read `marts.retention_candidates` and must not guess a prefix.
    Nodes without a custom schema use the target's schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
