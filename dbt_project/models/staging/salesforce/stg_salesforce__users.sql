{{ config(
    materialized="incremental",
    unique_key="user_id",
    indexes=incremental_indexes("user_id"),
    pre_hook=salesforce_prune_hooks("user", "user_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'user'), soft_delete=false) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as user_id,
        {{ salesforce_audit_columns() }},
        cast("Username" as {{ dbt.type_string() }}) as username,
        cast("Email" as {{ dbt.type_string() }}) as email,
        cast("FirstName" as {{ dbt.type_string() }}) as first_name,
        cast("LastName" as {{ dbt.type_string() }}) as last_name,
        cast("Name" as {{ dbt.type_string() }}) as full_name,
        cast("Alias" as {{ dbt.type_string() }}) as alias,
        cast("IsActive" as {{ dbt.type_boolean() }}) as is_active,
        cast("UserType" as {{ dbt.type_string() }}) as user_type,
        cast("ProfileId" as {{ dbt.type_string() }}) as profile_id,
        cast("UserRoleId" as {{ dbt.type_string() }}) as user_role_id,
        cast("ManagerId" as {{ dbt.type_string() }}) as manager_id,
        cast("Title" as {{ dbt.type_string() }}) as title,
        cast("Department" as {{ dbt.type_string() }}) as department,
        cast("LastLoginDate" as {{ type_timestamptz() }}) as last_login_at,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint
    from source
)

select * from renamed
