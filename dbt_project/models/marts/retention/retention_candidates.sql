{#-
    Records due under the retention policies (include/policies/retention.yml, seed
    policy_retention) at the build's as-of time. Only rule-based evidence counts: a record known
    only by a text marker is never purged. The clock is the generation time, falling back to the
    creation date (or the creation date alone when the policy says clock: created_date).
-#}
with policies as (
    select * from {{ ref('policy_retention') }}
),

records as (
    select * from {{ ref('int_records_classified') }}
    where not is_heuristic
),

matched as (
    select
        policies.policy_id,
        policies.applies_to,
        policies.retention_days,
        policies.clock,
        policies.exempt_legal_hold,
        policies.exempt_human_reviewed,
        policies.action,
        policies.mask_fields,
        policies.regulation,
        records.object_name,
        records.record_id,
        records.evidence,
        records.created_at,
        records.generated_at,
        records.legal_hold,
        records.human_reviewed,
        case
            when policies.clock = 'created_date' then records.created_at
            else coalesce(records.generated_at, records.created_at)
        end as clock_at
    from policies
    inner join records
        on policies.object_name = records.object_name
        and (
            policies.applies_to = 'ai_generated'
            or (policies.applies_to = 'synthetic_persona' and records.synthetic_persona)
        )
),

dated as (
    select
        matched.*,
        {{ add_days_exact("matched.retention_days", "matched.clock_at") }} as due_at
    from matched
),

final as (
    select
        {{ dbt.concat(["policy_id", "':'", "object_name", "':'", "record_id"]) }} as candidate_id,
        policy_id,
        object_name,
        record_id,
        {{ dbt.concat(["object_name", "':'", "record_id"]) }} as ledger_id,
        applies_to,
        evidence,
        clock,
        clock_at,
        retention_days,
        due_at,
        action,
        mask_fields,
        regulation,
        {{ as_of() }} as as_of
    from dated
    where due_at <= {{ as_of() }}
        and not (exempt_legal_hold and legal_hold)
        and not (exempt_human_reviewed and human_reviewed)
)

select * from final
