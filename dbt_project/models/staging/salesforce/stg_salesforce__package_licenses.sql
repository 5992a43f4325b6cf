with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'packagelicense')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as package_license_id,
        {{ salesforce_audit_columns() }},
        cast("NamespacePrefix" as {{ dbt.type_string() }}) as namespace_prefix,
        cast("Status" as {{ dbt.type_string() }}) as license_status,
        cast("AllowedLicenses" as {{ dbt.type_bigint() }}) as allowed_licenses,
        cast("UsedLicenses" as {{ dbt.type_bigint() }}) as used_licenses,
        cast("ExpirationDate" as {{ type_timestamptz() }}) as expires_at,
        cast("IsProvisioned" as {{ dbt.type_boolean() }}) as is_provisioned,
        {{ load_columns() }}
    from source
)

select * from renamed
