{#-
    NIST AI RMF MEASURE 2.11: per scoring model, the mean score of leads built on synthetic inputs
    (synthetic persona or AI-generated) against the others. A gap larger than the policy's
    max_mean_gap, in either direction, with both groups at least min_group_size, is a finding.
-#}
{%- set bias = sg_policy().get("lead_scoring_bias") or {"max_mean_gap": 10.0, "min_group_size": 20} -%}

with scored as (
    select
        score_model,
        -- Exact decimals: a float sum depends on the order rows are read in, and a mean on a
        -- rounding edge (74.665) would print differently from one build to the next.
        cast(lead_score as numeric(18, 6)) as lead_score,
        (synthetic_persona or ai_generated) as is_synthetic_input
    from {{ ref('stg_salesforce__leads') }}
    where lead_score is not null
        and score_model is not null
),

groups as (
    select
        score_model,
        count(case when is_synthetic_input then lead_score end) as synthetic_n,
        avg(case when is_synthetic_input then lead_score end) as synthetic_mean,
        count(case when not is_synthetic_input then lead_score end) as other_n,
        avg(case when not is_synthetic_input then lead_score end) as other_mean
    from scored
    group by score_model
),

gaps as (
    select
        groups.*,
        synthetic_mean - other_mean as mean_gap
    from groups
    where synthetic_n >= {{ bias["min_group_size"] }}
        and other_n >= {{ bias["min_group_size"] }}
),

biased as (
    select
        gaps.*,
        {{ dbt.concat([
            "'mean_gap:'", "cast(cast(mean_gap as numeric(12, 2)) as " ~ dbt.type_string() ~ ")",
            "' synthetic_mean:'", "cast(cast(synthetic_mean as numeric(12, 2)) as " ~ dbt.type_string() ~ ")",
            "' synthetic_n:'", "cast(synthetic_n as " ~ dbt.type_string() ~ ")",
            "' other_mean:'", "cast(cast(other_mean as numeric(12, 2)) as " ~ dbt.type_string() ~ ")",
            "' other_n:'", "cast(other_n as " ~ dbt.type_string() ~ ")",
            "' max_mean_gap:" ~ bias["max_mean_gap"] ~ "'",
        ]) }} as evidence
    from gaps
    where abs(mean_gap) > {{ bias["max_mean_gap"] }}
),

final as (
    select
        {{ finding_columns(
            "lead_scoring_bias",
            entity_id="score_model",
            object_name="'Lead'",
            finding="'Lead scores of leads built on synthetic inputs differ from the others beyond the policy threshold'",
            severity="'high'",
            evidence="evidence",
        ) }}
    from biased
)

select * from final
