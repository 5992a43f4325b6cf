with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'organization')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as organization_id,
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("Name" as {{ dbt.type_string() }}) as organization_name,
        cast("OrganizationType" as {{ dbt.type_string() }}) as organization_type,
        cast("IsSandbox" as {{ dbt.type_boolean() }}) as is_sandbox,
        cast("InstanceName" as {{ dbt.type_string() }}) as instance_name,
        cast("Country" as {{ dbt.type_string() }}) as country,
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
