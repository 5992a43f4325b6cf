{#-
    The C2PA findings of the media inspection (synthgov.extract.media), one row per inspected file
    per run; the latest finding per ContentVersion wins. The loader leaves out a column that had no
    value in any loaded run (and a run without files has only record_id), so absent columns are
    read as NULL instead of failing the build.
    Files of purged ContentVersions are left out.
-#}
{%- set media = source('synthgov', 'contentversion_media') -%}
{%- set present = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(media) -%}
        {%- do present.append(column.name | lower) -%}
    {%- endfor -%}
{%- endif -%}
{#- raw finding column, type, staging name -#}
{%- set finding_columns = [
    ("mime", "text", "mime_type"),
    ("declared_mime", "text", "declared_mime_type"),
    ("size_bytes", "int", "size_bytes"),
    ("status", "text", "inspection_status"),
    ("has_manifest", "boolean", "has_c2pa_manifest"),
    ("validation_state", "text", "validation_state"),
    ("validation_errors", "text", "validation_errors_json"),
    ("signer", "text", "signer"),
    ("signer_org", "text", "signer_org"),
    ("claim_generator", "text", "claim_generator"),
    ("title", "text", "manifest_title"),
    ("digital_source_types", "text", "digital_source_types_json"),
    ("software_agents", "text", "software_agents_json"),
    ("provenance_class", "text", "provenance_class"),
    ("ai_generated", "boolean", "is_ai_generated"),
    ("synthetic_kind", "text", "synthetic_kind"),
    ("authentic_capture", "boolean", "is_authentic_capture"),
    ("detail", "text", "inspection_detail"),
] -%}

with source as (
    select
        findings.*,
        row_number() over (
            partition by findings.record_id
            order by findings._sg_run_id desc
        ) as _sg_finding_rank
    from {{ media }} as findings
),

latest as (
    select * from source
    where _sg_finding_rank = 1
        and {{ salesforce_not_purged("source.record_id") }}
),

renamed as (
    select
        cast(record_id as {{ dbt.type_string() }}) as content_version_id,
        {%- for raw, kind, name in finding_columns %}
        {%- if raw in present or not execute %}
        cast({{ adapter.quote(raw) }} as {{ sg_type(kind) }}) as {{ name }},
        {%- else %}
        cast(null as {{ sg_type(kind) }}) as {{ name }},
        {%- endif %}
        {%- endfor %}
        {{ load_columns() }}
    from latest
),

final as (
    select
        content_version_id,
        mime_type,
        declared_mime_type,
        size_bytes,
        inspection_status,
        coalesce(has_c2pa_manifest, false) as has_c2pa_manifest,
        validation_state,
        validation_errors_json,
        coalesce({{ json_array_length("validation_errors_json") }}, 0) as validation_error_count,
        signer,
        signer_org,
        claim_generator,
        manifest_title,
        digital_source_types_json,
        software_agents_json,
        {{ json_array_first("software_agents_json") }} as software_agent,
        provenance_class,
        coalesce(is_ai_generated, false) as is_ai_generated,
        synthetic_kind,
        coalesce(is_authentic_capture, false) as is_authentic_capture,
        inspection_detail,
        extract_run_id,
        loaded_at
    from renamed
)

select * from final
