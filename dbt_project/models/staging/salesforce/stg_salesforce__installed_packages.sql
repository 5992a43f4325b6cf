with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'installedsubscriberpackage')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as installed_package_id,
        cast("SubscriberPackageId" as {{ dbt.type_string() }}) as subscriber_package_id,
        cast("SubscriberPackage_NamespacePrefix" as {{ dbt.type_string() }}) as namespace_prefix,
        cast("SubscriberPackage_Name" as {{ dbt.type_string() }}) as package_name,
        cast("SubscriberPackageVersion_Id" as {{ dbt.type_string() }}) as package_version_id,
        cast("SubscriberPackageVersion_Name" as {{ dbt.type_string() }}) as package_version_name,
        cast("SubscriberPackageVersion_MajorVersion" as {{ dbt.type_bigint() }}) as major_version,
        cast("SubscriberPackageVersion_MinorVersion" as {{ dbt.type_bigint() }}) as minor_version,
        cast("SubscriberPackageVersion_PatchVersion" as {{ dbt.type_bigint() }}) as patch_version,
        cast("SubscriberPackageVersion_BuildNumber" as {{ dbt.type_bigint() }}) as build_number,
        {{ load_columns() }}
    from source
)

select * from renamed
