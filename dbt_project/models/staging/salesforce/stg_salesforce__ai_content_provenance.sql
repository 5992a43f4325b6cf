{#-
    The provenance object and its fields come from the field mapping (provenance_object); an org
    without one gets an empty, typed view, so everything downstream still builds.
-#}
{%- set provenance = sg_policy().get("provenance_object") -%}

{%- if provenance %}
{%- set raw = provenance["name"] | lower %}
{{ config(
    materialized="incremental",
    unique_key="provenance_record_id",
    indexes=incremental_indexes("provenance_record_id"),
    pre_hook=salesforce_prune_hooks(raw, "provenance_record_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', raw)) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as provenance_record_id,
        cast("Name" as {{ dbt.type_string() }}) as provenance_record_name,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ salesforce_audit_columns() }},
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_object_field("record_id") }} as record_id,
        {{ provenance_object_field("object_type") }} as object_type,
        {{ provenance_object_field("tool") }} as ai_tool,
        {{ provenance_object_field("model") }} as ai_model,
        {{ provenance_object_field("prompt_hash") }} as prompt_hash,
        {{ provenance_object_field("generated_at", "timestamptz") }} as generated_at,
        {{ provenance_object_field("reviewed_by") }} as reviewed_by_user_id,
        {{ provenance_object_field("disclosure") }} as disclosure,
        {{ provenance_object_field("digital_source_type") }} as digital_source_type
    from source
)

select * from renamed
{%- else %}
select
    {%- for column, kind in [
        ("provenance_record_id", "text"), ("provenance_record_name", "text"), ("owner_id", "text"),
        ("created_at", "timestamptz"), ("created_by_id", "text"), ("last_modified_at", "timestamptz"),
        ("last_modified_by_id", "text"), ("system_modstamp", "timestamptz"), ("extract_run_id", "text"),
        ("loaded_at", "timestamp"), ("policy_fingerprint", "text"), ("record_id", "text"), ("object_type", "text"),
        ("ai_tool", "text"), ("ai_model", "text"), ("prompt_hash", "text"), ("generated_at", "timestamptz"),
        ("reviewed_by_user_id", "text"), ("disclosure", "text"), ("digital_source_type", "text"),
    ] %}
    cast(null as {{ sg_type(kind) }}) as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
where false
{%- endif %}
