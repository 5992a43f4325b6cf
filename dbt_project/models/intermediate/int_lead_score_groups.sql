{#-
    Per lead-scoring model, the leads built on synthetic inputs (synthetic persona or AI-generated)
    against the others: how many and their mean score. The bias control judges the gap between the
    means, and governance_coverage says when a group is too small to judge (min_group_size).
-#}
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

final as (
    select
        score_model,
        count(case when is_synthetic_input then lead_score end) as synthetic_n,
        avg(case when is_synthetic_input then lead_score end) as synthetic_mean,
        count(case when not is_synthetic_input then lead_score end) as other_n,
        avg(case when not is_synthetic_input then lead_score end) as other_mean
    from scored
    group by score_model
)

select * from final
