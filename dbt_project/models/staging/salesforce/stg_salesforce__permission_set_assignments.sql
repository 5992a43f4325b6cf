with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'permissionsetassignment')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as permission_set_assignment_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("AssigneeId" as {{ dbt.type_string() }}) as assignee_user_id,
        cast("PermissionSetId" as {{ dbt.type_string() }}) as permission_set_id,
        cast("PermissionSetGroupId" as {{ dbt.type_string() }}) as permission_set_group_id,
        cast("ExpirationDate" as {{ type_timestamptz() }}) as expires_at,
        cast("IsActive" as {{ dbt.type_boolean() }}) as is_active,
        cast("IsRevoked" as {{ dbt.type_boolean() }}) as is_revoked,
        {{ load_columns() }}
    from source
)

select * from renamed
