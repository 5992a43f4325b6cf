{{ config(
    materialized="incremental",
    unique_key="lead_id",
    indexes=incremental_indexes("lead_id"),
    pre_hook=salesforce_prune_hooks("lead", "lead_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'lead')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as lead_id,
        {{ salesforce_audit_columns() }},
        cast("FirstName" as {{ dbt.type_string() }}) as first_name,
        cast("LastName" as {{ dbt.type_string() }}) as last_name,
        cast("Name" as {{ dbt.type_string() }}) as full_name,
        cast("Company" as {{ dbt.type_string() }}) as company,
        cast("Title" as {{ dbt.type_string() }}) as title,
        cast("Email" as {{ dbt.type_string() }}) as email,
        cast("Phone" as {{ dbt.type_string() }}) as phone,
        cast("Status" as {{ dbt.type_string() }}) as lead_status,
        cast("LeadSource" as {{ dbt.type_string() }}) as lead_source,
        cast("Industry" as {{ dbt.type_string() }}) as industry,
        cast("Country" as {{ dbt.type_string() }}) as country,
        cast("AnnualRevenue" as {{ sg_type('float') }}) as annual_revenue,
        cast("NumberOfEmployees" as {{ dbt.type_bigint() }}) as number_of_employees,
        cast("IsConverted" as {{ dbt.type_boolean() }}) as is_converted,
        cast("ConvertedAccountId" as {{ dbt.type_string() }}) as converted_account_id,
        cast("ConvertedContactId" as {{ dbt.type_string() }}) as converted_contact_id,
        cast("ConvertedOpportunityId" as {{ dbt.type_string() }}) as converted_opportunity_id,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Lead', content_roles() + ['lead_score', 'score_model', 'score_automated_decision']) }}
    from source
)

select * from renamed
