{# Small adapter-dispatched helpers, so every model runs on DuckDB and on PostgreSQL. #}

{% macro type_timestamptz() %}
    {{ return(adapter.dispatch("type_timestamptz", "synthgov")()) }}
{% endmacro %}

{% macro default__type_timestamptz() -%}
    timestamp with time zone
{%- endmacro %}


{#
    The "now" of the build: the `as_of` var (an ISO 8601 timestamp with offset), else the
    SYNTHGOV_AS_OF environment variable (what the nightly sets), else the database's current time.
    Retention due dates and findings are judged at this instant. The nightly passes it in the
    environment, not as a var: dbt re-parses the whole project when its vars change, but only the
    files that read an environment variable when that variable changes.
#}
{% macro as_of() -%}
    {%- set value = var("as_of", none) or env_var("SYNTHGOV_AS_OF", "") -%}
    {%- if value -%}
        cast('{{ value }}' as {{ type_timestamptz() }})
    {%- else -%}
        cast({{ dbt.current_timestamp() }} as {{ type_timestamptz() }})
    {%- endif -%}
{%- endmacro %}


{#
    A timestamp plus a number of whole days, as exact 24-hour periods (as Python's timedelta does,
    which the retention policy is specified with): calendar-day arithmetic on a timestamp with time
    zone would move due dates by an hour across daylight-saving changes in the session's zone.
#}
{% macro add_days_exact(days, timestamp) -%}
    {{ dbt.dateadd("hour", "(" ~ days ~ ") * 24", timestamp) }}
{%- endmacro %}


{# Number of elements of a JSON array held in a text column (the media findings' lists). #}
{% macro json_array_length(text_column) %}
    {{ return(adapter.dispatch("json_array_length", "synthgov")(text_column)) }}
{% endmacro %}

{% macro default__json_array_length(text_column) -%}
    json_array_length(cast({{ text_column }} as json))
{%- endmacro %}

{% macro duckdb__json_array_length(text_column) -%}
    cast(json_array_length({{ text_column }}) as {{ dbt.type_bigint() }})
{%- endmacro %}


{# The first element of a JSON array of strings held in a text column, as text (NULL when empty). #}
{% macro json_array_first(text_column) %}
    {{ return(adapter.dispatch("json_array_first", "synthgov")(text_column)) }}
{% endmacro %}

{% macro default__json_array_first(text_column) -%}
    (cast({{ text_column }} as json) ->> 0)
{%- endmacro %}

{% macro duckdb__json_array_first(text_column) -%}
    json_extract_string({{ text_column }}, '$[0]')
{%- endmacro %}


{# A text value as a SQL string literal (single quotes doubled). #}
{% macro sql_literal(value) -%}
    '{{ (value | string).replace("'", "''") }}'
{%- endmacro %}
