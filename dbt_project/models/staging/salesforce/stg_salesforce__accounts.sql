{{ config(
    materialized="incremental",
    unique_key="account_id",
    indexes=incremental_indexes("account_id"),
    pre_hook=salesforce_prune_hooks("account", "account_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'account')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as account_id,
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
        cast("Name" as {{ dbt.type_string() }}) as account_name,
        cast("Type" as {{ dbt.type_string() }}) as account_type,
        cast("ParentId" as {{ dbt.type_string() }}) as parent_account_id,
        cast("Industry" as {{ dbt.type_string() }}) as industry,
        cast("AnnualRevenue" as {{ sg_type('float') }}) as annual_revenue,
        cast("BillingCity" as {{ dbt.type_string() }}) as billing_city,
        cast("BillingCountry" as {{ dbt.type_string() }}) as billing_country,
        cast("Website" as {{ dbt.type_string() }}) as website,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Account') }}
    from source
)

select * from renamed
