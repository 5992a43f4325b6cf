{{ config(
    materialized="incremental",
    unique_key="task_id",
    indexes=incremental_indexes("task_id"),
    pre_hook=salesforce_prune_hooks("task", "task_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'task')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as task_id,
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("Subject" as {{ dbt.type_string() }}) as subject,
        cast("Status" as {{ dbt.type_string() }}) as task_status,
        cast("Priority" as {{ dbt.type_string() }}) as priority,
        cast("ActivityDate" as date) as activity_date,
        cast("WhoId" as {{ dbt.type_string() }}) as who_id,
        cast("WhatId" as {{ dbt.type_string() }}) as what_id,
        cast("AccountId" as {{ dbt.type_string() }}) as account_id,
        cast("TaskSubtype" as {{ dbt.type_string() }}) as task_subtype,
        cast("Description" as {{ dbt.type_string() }}) as description,
        cast("IsClosed" as {{ dbt.type_boolean() }}) as is_closed,
        cast("IsArchived" as {{ dbt.type_boolean() }}) as is_archived,
        cast("CompletedDateTime" as {{ type_timestamptz() }}) as completed_at,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Task') }}
    from source
)

select * from renamed
