{{ config(
    materialized="incremental",
    unique_key="email_message_id",
    indexes=incremental_indexes("email_message_id"),
    pre_hook=salesforce_prune_hooks("emailmessage", "email_message_id"),
) }}

with source as (
    {{ salesforce_latest_versions(source('salesforce', 'emailmessage')) }}
),

renamed as (
    select
        cast("Id" as {{ dbt.type_string() }}) as email_message_id,
        {{ salesforce_audit_columns() }},
        cast("ParentId" as {{ dbt.type_string() }}) as parent_id,
        cast("ActivityId" as {{ dbt.type_string() }}) as activity_id,
        cast("RelatedToId" as {{ dbt.type_string() }}) as related_to_id,
        cast("Subject" as {{ dbt.type_string() }}) as subject,
        cast("FromAddress" as {{ dbt.type_string() }}) as from_address,
        cast("FromName" as {{ dbt.type_string() }}) as from_name,
        cast("ToAddress" as {{ dbt.type_string() }}) as to_address,
        cast("CcAddress" as {{ dbt.type_string() }}) as cc_address,
        cast("TextBody" as {{ dbt.type_string() }}) as text_body,
        cast("HtmlBody" as {{ dbt.type_string() }}) as html_body,
        cast("Incoming" as {{ dbt.type_boolean() }}) as is_incoming,
        cast("MessageDate" as {{ type_timestamptz() }}) as message_at,
        cast("Status" as {{ dbt.type_string() }}) as email_status,
        {{ load_columns() }},
        {{ policy_fingerprint() }} as policy_fingerprint,

        -- provenance roles: field names from include/policies/provenance_mapping.yml
        {{ provenance_role_columns('EmailMessage') }}
    from source
)

select * from renamed
