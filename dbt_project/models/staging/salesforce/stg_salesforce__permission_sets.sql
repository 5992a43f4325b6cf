{{ config(
    materialized="incremental",
    unique_key="permission_set_id",
    indexes=incremental_indexes("permission_set_id"),
    pre_hook=salesforce_prune_hooks("permissionset", "permission_set_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'permissionset'), soft_delete=false) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as permission_set_id,
        {{ salesforce_audit_columns() }},
        cast("Name" as {{ dbt.type_string() }}) as permission_set_name,
        cast("Label" as {{ dbt.type_string() }}) as permission_set_label,
        cast("Description" as {{ dbt.type_string() }}) as description,
        cast("Type" as {{ dbt.type_string() }}) as permission_set_type,
        cast("IsOwnedByProfile" as {{ dbt.type_boolean() }}) as is_owned_by_profile,
        cast("IsCustom" as {{ dbt.type_boolean() }}) as is_custom,
        cast("ProfileId" as {{ dbt.type_string() }}) as profile_id,
        cast("LicenseId" as {{ dbt.type_string() }}) as license_id,
        cast("NamespacePrefix" as {{ dbt.type_string() }}) as namespace_prefix,
        cast("PermissionsApiEnabled" as {{ dbt.type_boolean() }}) as permissions_api_enabled,
        cast("PermissionsModifyAllData" as {{ dbt.type_boolean() }}) as permissions_modify_all_data,
        cast("PermissionsViewAllData" as {{ dbt.type_boolean() }}) as permissions_view_all_data,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint
    from source
)

select * from renamed
