-- Leads on which the score decided automatically (routing, disqualification) with no human
-- review: GDPR Art. 22 requires the right to human intervention.
{%- set decision_field = sg_policy()["objects"].get("Lead", {}).get("score_automated_decision") %}

with leads as (
    select * from {{ ref('stg_salesforce__leads') }}
),

final as (
    select
        {{ finding_columns(
            "automated_decisions_without_review",
            entity_id="lead_id",
            object_name="'Lead'",
            finding="'Lead decided by an automated score without human review'",
            severity="'high'",
            evidence=dbt.concat(["'field:" ~ (decision_field or "") ~ " score_model:'", "coalesce(score_model, '?')"]),
        ) }}
    from leads
    where score_automated_decision
        and not human_reviewed
)

select * from final
