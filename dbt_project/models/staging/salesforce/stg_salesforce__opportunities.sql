{{ config(
    materialized="incremental",
    unique_key="opportunity_id",
    indexes=incremental_indexes("opportunity_id"),
    pre_hook=salesforce_prune_hooks("opportunity", "opportunity_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'opportunity')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as opportunity_id,
        {{ salesforce_audit_columns() }},
        cast("Name" as {{ dbt.type_string() }}) as opportunity_name,
        cast("AccountId" as {{ dbt.type_string() }}) as account_id,
        cast("StageName" as {{ dbt.type_string() }}) as stage_name,
        cast("CloseDate" as date) as close_date,
        cast("Amount" as {{ sg_type('float') }}) as amount,
        cast("Probability" as {{ sg_type('float') }}) as probability,
        cast("IsClosed" as {{ dbt.type_boolean() }}) as is_closed,
        cast("IsWon" as {{ dbt.type_boolean() }}) as is_won,
        cast("ForecastCategory" as {{ dbt.type_string() }}) as forecast_category,
        cast("LeadSource" as {{ dbt.type_string() }}) as lead_source,
        cast("ContactId" as {{ dbt.type_string() }}) as contact_id,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Opportunity') }}
    from source
)

select * from renamed
