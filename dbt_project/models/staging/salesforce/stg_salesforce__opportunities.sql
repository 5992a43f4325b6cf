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
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp,
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
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Opportunity') }}
    from source
)

select * from renamed
