{#
    The incremental models (staging's latest versions, the content union) follow one contract:

    - The watermark is the newest load a model holds (max loaded_at). A run recomputes the records
      loaded after it, from all of their versions, so the work is idempotent: a watermark that lags
      (the latest load only deleted records) costs a little rework, never a wrong row. Loads and dbt
      runs must not overlap (the warehouse pool serializes them): a load committing during a run
      would carry a loaded_at below the watermark the run leaves.
    - Records that leave (soft-deleted, purged) are deleted by the model's pre-hooks, since
      delete+insert only replaces the keys a run produces. Each hook is one statement whose
      subqueries are joined by AND (never OR), so PostgreSQL plans them as semi or anti joins, never
      as per-row subqueries.
    - Every row carries the fingerprint of what built it; a run that finds another one empties the
      table first, so it rebuilds whole and a policy or code change reaches every record.
#}


{# The newest load the model holds; before any row, a time before every load. #}
{% macro incremental_watermark() -%}
    (select coalesce(max(built.loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }} as built)
{%- endmacro %}


{#
    What the model is built from, as a SQL string: its own code, the code of every model and
    the content of every seed upstream of it (the policy seeds), and the provenance field mapping.
    Other macros are not in it: after changing one that an incremental model uses, run
    `dbt build --full-refresh`.
#}
{% macro policy_fingerprint() -%}
    {%- set parts = ["mapping:" ~ tojson(sg_policy())] -%}
    {%- if execute -%}
        {%- set upstream = [] -%}
        {%- do _collect_upstream(model.unique_id, upstream) -%}
        {%- for unique_id in upstream | sort -%}
            {%- do parts.append(unique_id ~ ":" ~ graph.nodes[unique_id].checksum.checksum) -%}
        {%- endfor -%}
    {%- endif -%}
    cast('{{ local_md5(parts | join("\n")) }}' as {{ dbt.type_string() }})
{%- endmacro %}


{# The model and every model or seed it depends on, transitively (sources are data, not code). #}
{% macro _collect_upstream(unique_id, collected) %}
    {%- if unique_id not in collected and unique_id in graph.nodes -%}
        {%- do collected.append(unique_id) -%}
        {%- for parent in graph.nodes[unique_id].depends_on.nodes -%}
            {%- do _collect_upstream(parent, collected) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}


{# Pre-hook: empty the table when any row was built from something else than this build is. #}
{% macro incremental_prune_stale() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where exists (select 1 from {{ this }} as built where built.policy_fingerprint <> {{ policy_fingerprint() }})
    {%- endif -%}
{%- endmacro %}


{#
    Pre-hook of int_content_records_unioned: the records of one object that left its staging model.
    Only a record with a version loaded since the union's watermark (a soft delete arrives as one)
    or one listed as purged can have left, so only those are looked up: the hook costs what the
    night changed, not a scan of both tables.
#}
{% macro content_records_prune_removed(object_name) -%}
    {%- if is_incremental() -%}
    {%- set spec = salesforce_content_objects()[object_name] -%}
    delete from {{ this }} as built
    where built.object_name = '{{ object_name }}'
        and built.record_id in (
            select loads.record_id from {{ ref('stg_salesforce__record_loads') }} as loads
            where loads.object_name = '{{ object_name }}' and loads.loaded_at > {{ incremental_watermark() }}
            union all
            select purged.record_id from {{ ref('stg_salesforce__purged_records') }} as purged
        )
        and not exists (select 1 from {{ ref(spec["model"]) }} as live where live.{{ spec["id"] }} = built.record_id)
    {%- endif -%}
{%- endmacro %}


{#
    The `indexes` config of an incremental model: on PostgreSQL b-trees on its key, which the
    delete+insert and the pre-hooks look records up by, and on loaded_at, which the watermark
    (max) and the models downstream (rows loaded after theirs) read; without them every nightly
    scans each whole table several times. On DuckDB none: an ART index only slows its appends,
    and its zone maps already skip old row groups (see synthgov.warehouse for the raw tables).
#}
{% macro incremental_indexes(key) -%}
    {%- set key = [key] if key is string else key -%}
    {{ return([{"columns": key}, {"columns": ["loaded_at"]}] if target.type == "postgres" else []) }}
{%- endmacro %}
