{#-
    NIST AI RMF MEASURE 2.11: per scoring model, the mean score of leads built on synthetic inputs
    (synthetic persona or AI-generated) against the others. A gap larger than the policy's
    max_mean_gap, in either direction, with both groups at least min_group_size, is a finding. A model
    with a smaller group is not judged here: governance_coverage reports it as insufficient data.
-#}
{%- set bias = lead_scoring_bias_policy() -%}

with gaps as (
    select
        score_groups.*,
        synthetic_mean - other_mean as mean_gap
    from {{ ref('int_lead_score_groups') }} as score_groups
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
