{#-
    Every record of every object the field mapping names, with its provenance roles in common
    columns. The mapping decides which objects are content; salesforce_content_objects() says
    where each one's staging model and key are.
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

with
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
        concat_ws(' ', {{ spec["text"] | join(", ") }}) as content_text
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as content_text
        {%- endif %}
    from {{ ref(spec["model"]) }}
),
{% endfor %}
unioned as (
    {%- for object_name in mapped %}
    select * from {{ object_name | lower }}_records
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from unioned
