{#-
    Every record of every object the field mapping names, with its provenance roles in common
    columns and the text marker its text holds, if any. The mapping decides which objects are
    content; salesforce_content_objects() says where each one's staging model and key are.

    Incremental (macros/incremental.sql): a run reads the staging rows loaded since the watermark
    and screens only their text, the costly part of classification; the pre-hooks take out the
    records that left staging (soft-deleted, purged), and everything when the mapping, the text
    markers or the code changed.
-#}
{%- set content = salesforce_content_objects() -%}
{%- set mapped = sg_policy()["objects"] | list | sort -%}
{%- if not mapped -%}
    {{ exceptions.raise_compiler_error("provenance_mapping.yml maps no objects: synthgov has no content to govern") }}
{%- endif -%}
{%- for object_name in mapped if object_name not in content -%}
    {{ exceptions.raise_compiler_error(
        "provenance_mapping.yml maps " ~ object_name ~ ", which has no staging model with provenance roles; "
        ~ "known content objects: " ~ (content | list | sort | join(", "))
    ) }}
{%- endfor -%}

{%- set prune = ["{{ incremental_prune_stale() }}"] -%}
{%- for object_name in mapped -%}
    {%- do prune.append("{{ content_records_prune_removed('" ~ object_name ~ "') }}") -%}
{%- endfor -%}
{{ config(
    materialized="incremental",
    unique_key=["object_name", "record_id"],
    indexes=incremental_indexes(["object_name", "record_id"]),
    pre_hook=prune,
) }}

-- The pre-hooks read these; refs in a hook alone do not order the build.
-- depends_on: {{ ref('stg_salesforce__record_loads') }}
-- depends_on: {{ ref('stg_salesforce__purged_records') }}

with
{%- if is_incremental() %}
-- Read once: the newest load the table holds (incremental.sql).
watermark as (
    select {{ incremental_watermark() }} as loaded_at
),
{%- endif %}
{% for object_name in mapped %}
{%- set spec = content[object_name] %}
{{ object_name | lower }}_records as (
    select
        cast('{{ object_name }}' as {{ dbt.type_string() }}) as object_name,
        {{ spec["id"] }} as record_id,
        {{ spec["owner"] }} as owner_id,
        created_by_id,
        created_at,
        system_modstamp,
        ai_generated as ai_generated_flag,
        ai_tool,
        ai_model,
        generated_at,
        disclosure_shown,
        human_reviewed,
        legal_hold,
        synthetic_persona,
        {%- if spec["text"] %}
        concat_ws(' ', {{ spec["text"] | join(", ") }}) as content_text,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as content_text,
        {%- endif %}
        loaded_at
    from {{ ref(spec["model"]) }}
    {%- if is_incremental() %}
    where loaded_at > (select watermark.loaded_at from watermark)
    {%- endif %}
),
{% endfor %}
unioned as (
    {%- for object_name in mapped %}
    select * from {{ object_name | lower }}_records
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

-- The phrase that gives pasted AI text away (policy_text_markers), case-insensitive; the first
-- in sort order when several match.
marker_hits as (
    select
        unioned.object_name,
        unioned.record_id,
        min(markers.marker) as matched_marker
    from unioned
    inner join {{ ref('policy_text_markers') }} as markers
        on {{ dbt.position("lower(markers.marker)", "lower(unioned.content_text)") }} > 0
    where unioned.content_text is not null
    group by unioned.object_name, unioned.record_id
),

final as (
    select
        unioned.object_name,
        unioned.record_id,
        unioned.owner_id,
        unioned.created_by_id,
        unioned.created_at,
        unioned.system_modstamp,
        unioned.ai_generated_flag,
        unioned.ai_tool,
        unioned.ai_model,
        unioned.generated_at,
        unioned.disclosure_shown,
        unioned.human_reviewed,
        unioned.legal_hold,
        unioned.synthetic_persona,
        marker_hits.matched_marker,
        unioned.loaded_at,
        {{ policy_fingerprint() }} as policy_fingerprint
    from unioned
    left join marker_hits
        on unioned.object_name = marker_hits.object_name
        and unioned.record_id = marker_hits.record_id
)

select * from final
