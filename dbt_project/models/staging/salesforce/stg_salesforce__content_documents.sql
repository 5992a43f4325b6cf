{{ config(
    materialized="incremental",
    unique_key="content_document_id",
    indexes=incremental_indexes("content_document_id"),
    pre_hook=salesforce_prune_hooks("contentdocument", "content_document_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'contentdocument')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as content_document_id,
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("Title" as {{ dbt.type_string() }}) as title,
        cast("FileType" as {{ dbt.type_string() }}) as file_type,
        cast("FileExtension" as {{ dbt.type_string() }}) as file_extension,
        cast("LatestPublishedVersionId" as {{ dbt.type_string() }}) as latest_published_version_id,
        cast("ParentId" as {{ dbt.type_string() }}) as parent_id,
        cast("IsArchived" as {{ dbt.type_boolean() }}) as is_archived,
        cast("ContentSize" as {{ dbt.type_bigint() }}) as content_size,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        {{ policy_fingerprint() }} as policy_fingerprint
    from source
)

select * from renamed
