{#-
    Whether each governance control had enough to judge. A control whose input is empty or too
    small cannot find anything, and an empty finding table must not read as a pass: each reason
    here makes governance_summary say insufficient_data instead of no_findings. One row per
    control; insufficient_data_reason is NULL when the control could judge all of its input, else
    every reason, joined by '; '. What "cannot judge" means for each control, and why, is in
    DECISIONS.md ("A control that cannot judge says so").
-#}
{%- set policy = sg_policy() -%}
{%- set mapped = policy["objects"] -%}
{%- set lead = mapped.get("Lead", {}) -%}
{%- set bias = lead_scoring_bias_policy() -%}
{%- set persona_objects = [] -%}
{%- for object_name in ["Contact", "Lead"] if mapped.get(object_name, {}).get("synthetic_persona") -%}
    {%- do persona_objects.append(object_name) -%}
{%- endfor -%}
{%- set text = dbt.type_string() -%}

with inputs as (
    -- One row of counts: scalar subqueries keep every count independent of the others' joins.
    select
        (select count(*) from {{ ref('int_content_records_unioned') }}) as content_records,
        (select count(*) from {{ ref('stg_salesforce__email_messages') }}) as email_messages,
        (select count(*) from {{ ref('stg_salesforce__contacts') }}) as contacts,
        (select count(*) from {{ ref('stg_salesforce__leads') }}) as leads,
        (select count(*) from {{ ref('int_lead_score_groups') }}) as scoring_models,
        (select count(*) from {{ ref('stg_salesforce__permission_set_assignments') }}) as assignments,
        (select count(*) from {{ ref('policy_ai_permission_sets') }}) as policy_permission_sets,
        (select count(*) from {{ ref('stg_salesforce__installed_packages') }}) as installed_packages,
        (select count(*) from {{ ref('policy_packages') }}) as policy_packages,
        (select count(*) from {{ ref('stg_training__manifests') }}) as training_manifests,
        (select count(*) from {{ ref('stg_training__lake_posture') }}) as posture_checks,
        (select count(*) from {{ ref('stg_salesforce__content_versions') }}) as files,
        (select count(*) from {{ ref('stg_salesforce__content_version_media') }}) as inspected_files
),

reasons as (
    select 'untagged_ai_content' as control,
        'no records of the mapped content objects ({{ mapped | list | sort | join(", ") }}) were extracted' as reason
    from inputs where content_records = 0

    union all
    {%- if "EmailMessage" in mapped %}
    select 'undisclosed_ai_communications', 'no EmailMessage records were extracted'
    from inputs where email_messages = 0
    {%- else %}
    select 'undisclosed_ai_communications', 'provenance_mapping.yml maps no EmailMessage fields'
    {%- endif %}

    union all
    {%- if persona_objects %}
    select 'synthetic_personas_in_pipeline',
        'no {{ persona_objects | join(" or ") }} records were extracted'
    from inputs where {% for object_name in persona_objects %}{{ object_name | lower }}s = 0{{ " and " if not loop.last }}{% endfor %}
    {%- else %}
    select 'synthetic_personas_in_pipeline',
        'provenance_mapping.yml maps no synthetic_persona field on Contact or Lead'
    {%- endif %}

    union all
    {%- if lead.get("score_automated_decision") %}
    select 'automated_decisions_without_review', 'no Lead records were extracted'
    from inputs where leads = 0
    {%- else %}
    select 'automated_decisions_without_review',
        'provenance_mapping.yml maps no score_automated_decision field on Lead'
    {%- endif %}

    union all
    select 'ai_tool_access', 'ai_tools.yml lists no ai_permission_sets' from inputs where policy_permission_sets = 0
    union all
    select 'ai_tool_access', 'no PermissionSetAssignment records were extracted' from inputs where assignments = 0

    union all
    select 'ai_capable_packages', 'ai_tools.yml lists no packages' from inputs where policy_packages = 0
    union all
    select 'ai_capable_packages', 'no InstalledSubscriberPackage records were extracted'
    from inputs where installed_packages = 0

    union all
    {%- if lead.get("lead_score") and lead.get("score_model") %}
    select 'lead_scoring_bias', 'no leads with a lead score and a scoring model' from inputs where scoring_models = 0
    union all
    select
        'lead_scoring_bias',
        {{ dbt.concat([
            "case when synthetic_n < " ~ bias["min_group_size"] ~ " then 'synthetic' else 'other' end",
            "' group of '",
            "cast(case when synthetic_n < " ~ bias["min_group_size"] ~ " then synthetic_n else other_n end as " ~ text ~ ")",
            "' leads below min_group_size " ~ bias["min_group_size"] ~ " (model '",
            "score_model",
            "')'",
        ]) }}
    from {{ ref('int_lead_score_groups') }}
    where synthetic_n < {{ bias["min_group_size"] }} or other_n < {{ bias["min_group_size"] }}
    {%- else %}
    select 'lead_scoring_bias', 'provenance_mapping.yml maps no lead_score and score_model fields on Lead'
    {%- endif %}

    union all
    select 'training_data_consent', 'no training-data manifests were read from the training zone'
    from inputs where training_manifests = 0

    union all
    select 'training_lake_posture', 'the training zone''s posture was not read' from inputs where posture_checks = 0

    union all
    select 'media_not_inspected', 'no ContentVersion records were extracted' from inputs where files = 0
    union all
    select 'media_not_inspected',
        {{ dbt.concat(["'no inspection record for any of the '", "cast(files as " ~ text ~ ")", "' files: the media inspection did not run'"]) }}
    from inputs where files > 0 and inspected_files = 0
),

controls as (
    {%- for control in governance_controls() %}
    select cast('{{ control["control"] }}' as {{ text }}) as control
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

by_control as (
    select
        control,
        {{ dbt.listagg("reason", "'; '", "order by reason") }} as insufficient_data_reason
    from reasons
    group by control
),

final as (
    select
        controls.control,
        cast(by_control.insufficient_data_reason as {{ text }}) as insufficient_data_reason
    from controls
    left join by_control
        on controls.control = by_control.control
)

select * from final
