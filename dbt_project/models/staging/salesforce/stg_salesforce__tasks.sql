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
        {{ salesforce_audit_columns() }},
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
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Task') }}
    from source
)

select * from renamed
