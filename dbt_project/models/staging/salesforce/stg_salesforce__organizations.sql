with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'organization')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as organization_id,
        {{ salesforce_audit_columns() }},
        cast("Name" as {{ dbt.type_string() }}) as organization_name,
        cast("OrganizationType" as {{ dbt.type_string() }}) as organization_type,
        cast("IsSandbox" as {{ dbt.type_boolean() }}) as is_sandbox,
        cast("InstanceName" as {{ dbt.type_string() }}) as instance_name,
        cast("Country" as {{ dbt.type_string() }}) as country,
        {{ load_columns() }}
    from source
)

select * from renamed
