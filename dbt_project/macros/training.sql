{#
    The latest snapshot of a training-zone table (synthgov.training writes one per nightly read):
    the run the loader recorded last for `object_name` in its ledger (`loads`, raw_salesforce._sg_loads),
    so a snapshot with no rows (the zone was emptied) empties the model rather than leaving the
    previous run's rows standing. Before the zone's first read the raw table does not exist: the
    model is then empty, with the raw columns typed as `columns` ((raw name, sg_type kind, staging
    name) tuples) say.
#}
{% macro training_latest_snapshot(relation, loads, object_name, columns) %}
    {%- set existing = load_relation(relation) if execute else relation -%}
    {%- if existing is none %}
    select
        {%- for raw, kind, name in columns %}
        cast(null as {{ sg_type(kind) }}) as {{ adapter.quote(raw) }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as _sg_run_id,
        cast(null as {{ dbt.type_timestamp() }}) as _sg_loaded_at
    where 1 = 0
    {%- else %}
    select *
    from {{ relation }}
    where _sg_run_id = (
        select max(loads.run_id)
        from {{ loads }} as loads
        where loads.object = '{{ object_name }}'
    )
    {%- endif %}
{% endmacro %}


{# The raw columns of a training-zone table as typed, renamed select items (see training_latest_snapshot). #}
{% macro training_columns(columns) -%}
    {%- for raw, kind, name in columns -%}
        cast({{ adapter.quote(raw) }} as {{ sg_type(kind) }}) as {{ name }}{{ ",\n        " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
