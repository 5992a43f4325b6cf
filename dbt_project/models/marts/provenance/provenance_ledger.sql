-- One row per AI-generated or synthetic record or file, with how we know and how sure we are.
with classified as (
    select * from {{ ref('int_records_classified') }}
),

final as (
    select
        {{ dbt.concat(["object_name", "':'", "record_id"]) }} as ledger_id,
        object_name,
        record_id,
        provenance_class,
        -- Art. 50 duties attach to trained-model content; other synthetic content stays governed.
        case
            when provenance_class in ('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia', 'trainedAlgorithmicData')
                then 'generative_ai'
            when provenance_class in ('algorithmicMedia', 'compositeSynthetic') then 'other_synthetic'
        end as synthetic_kind,
        c2pa_validation_state,
        evidence,
        evidence_all,
        evidence_detail,
        confidence,
        is_heuristic,
        synthetic_persona as is_synthetic_persona,
        ai_tool,
        ai_model,
        generated_at,
        created_at,
        created_by_id,
        owner_id,
        human_reviewed,
        disclosed,
        legal_hold,
        provenance_record_id,
        {{ as_of() }} as as_of
    from classified
)

select * from final
