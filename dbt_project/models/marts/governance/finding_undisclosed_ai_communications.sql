{#-
    AI-generated e-mails sent out (status 3, outgoing) with no AI disclosure shown: neither the
    e-mail's disclosure field nor its provenance record says it was. Rule-based AI only.
-#}
{%- set policy = sg_policy() -%}
{%- set email_disclosure_field = policy["objects"].get("EmailMessage", {}).get("disclosure_shown") -%}
{%- set provenance_disclosure_field = ((policy.get("provenance_object") or {}).get("fields") or {}).get("disclosure") -%}

with classified as (
    select * from {{ ref('int_records_classified') }}
    where object_name = 'EmailMessage'
        and not is_heuristic
),

email_messages as (
    select * from {{ ref('stg_salesforce__email_messages') }}
),

undisclosed as (
    select
        classified.*,
        case
            when classified.disclosure_source = 'field'
                then 'field:{{ email_disclosure_field or "" }}'
            when classified.disclosure_source = 'provenance_record'
                then 'provenance_record:{{ provenance_disclosure_field or "" }}'
            else {{ dbt.concat(["'not_recorded '", "classified.evidence_detail"]) }}
        end as disclosure_evidence
    from classified
    inner join email_messages
        on classified.record_id = email_messages.email_message_id
    where email_messages.email_status = '3'
        and not coalesce(email_messages.is_incoming, false)
        and not classified.disclosed
),

final as (
    select
        {{ finding_columns(
            "undisclosed_ai_communications",
            entity_id="record_id",
            object_name="object_name",
            finding="'AI-generated e-mail sent without an AI disclosure'",
            severity="'high'",
            evidence="disclosure_evidence",
        ) }}
    from undisclosed
)

select * from final
