{{ config(
    materialized="incremental",
    unique_key="content_version_id",
    indexes=incremental_indexes("content_version_id"),
    pre_hook=salesforce_prune_hooks("contentversion", "content_version_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'contentversion')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as content_version_id,
        {{ salesforce_audit_columns() }},
        cast("ContentDocumentId" as {{ dbt.type_string() }}) as content_document_id,
        cast("IsLatest" as {{ dbt.type_boolean() }}) as is_latest,
        cast("Title" as {{ dbt.type_string() }}) as title,
        cast("PathOnClient" as {{ dbt.type_string() }}) as path_on_client,
        cast("FileType" as {{ dbt.type_string() }}) as file_type,
        cast("FileExtension" as {{ dbt.type_string() }}) as file_extension,
        cast("ContentSize" as {{ dbt.type_bigint() }}) as content_size,
        cast("Checksum" as {{ dbt.type_string() }}) as checksum,
        cast("FirstPublishLocationId" as {{ dbt.type_string() }}) as first_publish_location_id,
        cast("Description" as {{ dbt.type_string() }}) as description,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('ContentVersion') }}
    from source
)

select * from renamed
