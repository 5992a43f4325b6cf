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
        {{ salesforce_audit_columns() }},
        cast("Name" as {{ dbt.type_string() }}) as account_name,
        cast("Type" as {{ dbt.type_string() }}) as account_type,
        cast("ParentId" as {{ dbt.type_string() }}) as parent_account_id,
        cast("Industry" as {{ dbt.type_string() }}) as industry,
        cast("AnnualRevenue" as {{ sg_type('float') }}) as annual_revenue,
        cast("BillingCity" as {{ dbt.type_string() }}) as billing_city,
        cast("BillingCountry" as {{ dbt.type_string() }}) as billing_country,
        cast("Website" as {{ dbt.type_string() }}) as website,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Account') }}
    from source
)

select * from renamed
