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
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
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
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('ContentVersion') }}
    from source
)

select * from renamed
