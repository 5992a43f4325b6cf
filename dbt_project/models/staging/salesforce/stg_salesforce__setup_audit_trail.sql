with source as (
    {{ salesforce_latest_snapshot(source('salesforce', 'setupaudittrail')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as setup_audit_trail_id,
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("Action" as {{ dbt.type_string() }}) as action,
        cast("Section" as {{ dbt.type_string() }}) as section,
        cast("Display" as {{ dbt.type_string() }}) as display,
        cast("DelegateUser" as {{ dbt.type_string() }}) as delegate_user,
        cast("CreatedByContext" as {{ dbt.type_string() }}) as created_by_context,
        cast("ResponsibleNamespacePrefix" as {{ dbt.type_string() }}) as responsible_namespace_prefix,
        {{ load_columns() }}
    from source
)

select * from renamed
