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
        {{ salesforce_audit_columns() }},
        cast("Title" as {{ dbt.type_string() }}) as title,
        cast("FileType" as {{ dbt.type_string() }}) as file_type,
        cast("FileExtension" as {{ dbt.type_string() }}) as file_extension,
        cast("LatestPublishedVersionId" as {{ dbt.type_string() }}) as latest_published_version_id,
        cast("ParentId" as {{ dbt.type_string() }}) as parent_id,
        cast("IsArchived" as {{ dbt.type_boolean() }}) as is_archived,
        cast("ContentSize" as {{ dbt.type_bigint() }}) as content_size,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint
    from source
)

select * from renamed
