{{ config(
    materialized="incremental",
    unique_key="contact_id",
    indexes=incremental_indexes("contact_id"),
    pre_hook=salesforce_prune_hooks("contact", "contact_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'contact')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as contact_id,
        {{ salesforce_audit_columns() }},
        cast("AccountId" as {{ dbt.type_string() }}) as account_id,
        cast("FirstName" as {{ dbt.type_string() }}) as first_name,
        cast("LastName" as {{ dbt.type_string() }}) as last_name,
        cast("Name" as {{ dbt.type_string() }}) as full_name,
        cast("Email" as {{ dbt.type_string() }}) as email,
        cast("Phone" as {{ dbt.type_string() }}) as phone,
        cast("Title" as {{ dbt.type_string() }}) as title,
        cast("MailingCity" as {{ dbt.type_string() }}) as mailing_city,
        cast("MailingCountry" as {{ dbt.type_string() }}) as mailing_country,
        cast("ReportsToId" as {{ dbt.type_string() }}) as reports_to_contact_id,
        cast("HasOptedOutOfEmail" as {{ dbt.type_boolean() }}) as has_opted_out_of_email,
        cast("LeadSource" as {{ dbt.type_string() }}) as lead_source,
        cast("OwnerId" as {{ dbt.type_string() }}) as owner_id,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('Contact') }}
    from source
)

select * from renamed
