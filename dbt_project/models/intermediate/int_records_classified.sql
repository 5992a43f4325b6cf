{#-
    The evidence that a content record is AI-generated or synthetic, one row per record that has
    any. Evidence kinds, strongest first:
      explicit_field     the org's own AI-generated or synthetic-persona field says so
      provenance_record  a provenance object record (AI_Content_Provenance__c) names the record
      c2pa               the file carries a C2PA manifest of an AI digital source type
      integration_user   an AI integration user (policy) created it: an API that drops the tags
      text_marker        its text contains a phrase that gives pasted AI text away (heuristic only;
                         screened once per record version by int_content_records_unioned)
    Records known only by a text marker are heuristic: reported, never purged on.
-#}

-- A table, rebuilt every run: the ledger, retention and several findings read it. Rebuilding it
-- is a scan of the content union with small joins (provenance, media, users), so provenance,
-- media or policy changes reach every record without tracking who depends on them.
{{ config(materialized="table") }}

with records as (
    select * from {{ ref('int_content_records_unioned') }}
),

provenance as (
    select * from {{ ref('int_provenance_records_deduplicated') }}
),

media as (
    select * from {{ ref('stg_salesforce__content_version_media') }}
),

integration_users as (
    select
        users.user_id,
        users.username
    from {{ ref('stg_salesforce__users') }} as users
    inner join {{ ref('policy_ai_integration_users') }} as policy_users
        on lower(users.username) = lower(policy_users.username)
),

evidence as (
    select
        records.*,
        (records.ai_generated_flag or records.synthetic_persona) as has_explicit_field,
        provenance.provenance_record_id is not null as has_provenance_record,
        coalesce(records.object_name = 'ContentVersion' and media.is_ai_generated, false) as has_c2pa,
        integration_users.user_id is not null as has_integration_user,
        records.matched_marker is not null as has_text_marker,
        provenance.provenance_record_id,
        provenance.ai_tool as provenance_ai_tool,
        provenance.ai_model as provenance_ai_model,
        provenance.generated_at as provenance_generated_at,
        provenance.reviewed_by_user_id,
        provenance.disclosure_shown as provenance_disclosure_shown,
        provenance.digital_source_type as provenance_digital_source_type,
        media.provenance_class as c2pa_provenance_class,
        media.validation_state as c2pa_validation_state,
        media.software_agent as c2pa_software_agent,
        integration_users.username as integration_username
    from records
    left join provenance
        on records.record_id = provenance.record_id
    left join media
        on records.record_id = media.content_version_id
    left join integration_users
        on records.created_by_id = integration_users.user_id
),

with_evidence as (
    select * from evidence
    where has_explicit_field
        or has_provenance_record
        or has_c2pa
        or has_integration_user
        or has_text_marker
),

classified as (
    select
        object_name,
        record_id,
        owner_id,
        created_by_id,
        created_at,
        system_modstamp,
        ai_generated_flag,
        synthetic_persona,
        has_explicit_field,
        has_provenance_record,
        has_c2pa,
        has_integration_user,
        has_text_marker,
        case
            when has_explicit_field then 'explicit_field'
            when has_provenance_record then 'provenance_record'
            when has_c2pa then 'c2pa'
            when has_integration_user then 'integration_user'
            else 'text_marker'
        end as evidence,
        concat_ws(
            ',',
            case when has_explicit_field then 'explicit_field' end,
            case when has_provenance_record then 'provenance_record' end,
            case when has_c2pa then 'c2pa' end,
            case when has_integration_user then 'integration_user' end,
            case when has_text_marker then 'text_marker' end
        ) as evidence_all,
        case
            when has_explicit_field then {{ dbt.concat(["'field:'", explicit_field_name("object_name", "ai_generated_flag")]) }}
            when has_provenance_record then {{ dbt.concat(["'provenance_record:'", "provenance_record_id"]) }}
            when has_c2pa then {{ dbt.concat(["'c2pa:'", "c2pa_provenance_class"]) }}
            when has_integration_user then {{ dbt.concat(["'integration_user:'", "integration_username"]) }}
            else {{ dbt.concat(["'text_marker:'", "matched_marker"]) }}
        end as evidence_detail,
        case
            when has_explicit_field or has_provenance_record or has_c2pa then 'high'
            when has_integration_user then 'medium'
            else 'low'
        end as confidence,
        not (has_explicit_field or has_provenance_record or has_c2pa or has_integration_user) as is_heuristic,
        -- The IPTC digital source type: a file's own C2PA class; else what the provenance record
        -- declares; else made by a trained model: data for a synthetic persona, media (text) otherwise.
        case
            when has_c2pa then c2pa_provenance_class
            when provenance_digital_source_type is not null then provenance_digital_source_type
            when synthetic_persona then 'trainedAlgorithmicData'
            else 'trainedAlgorithmicMedia'
        end as provenance_class,
        coalesce(ai_tool, provenance_ai_tool, c2pa_software_agent) as ai_tool,
        coalesce(ai_model, provenance_ai_model) as ai_model,
        coalesce(generated_at, provenance_generated_at) as generated_at,
        (human_reviewed or reviewed_by_user_id is not null) as human_reviewed,
        coalesce(disclosure_shown, false) or coalesce(provenance_disclosure_shown, false) as disclosed,
        case
            when disclosure_shown is not null and has_explicit_field then 'field'
            when provenance_disclosure_shown is not null then 'provenance_record'
        end as disclosure_source,
        legal_hold,
        provenance_record_id,
        case when has_c2pa then c2pa_validation_state end as c2pa_validation_state,
        integration_username,
        matched_marker
    from with_evidence
)

select * from classified
