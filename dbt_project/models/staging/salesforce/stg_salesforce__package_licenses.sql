with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'packagelicense')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as package_license_id,
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("NamespacePrefix" as {{ dbt.type_string() }}) as namespace_prefix,
        cast("Status" as {{ dbt.type_string() }}) as license_status,
        cast("AllowedLicenses" as {{ dbt.type_bigint() }}) as allowed_licenses,
        cast("UsedLicenses" as {{ dbt.type_bigint() }}) as used_licenses,
        cast("ExpirationDate" as {{ type_timestamptz() }}) as expires_at,
        cast("IsProvisioned" as {{ dbt.type_boolean() }}) as is_provisioned,
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
