-- AI-generated content the org did not tag: no explicit field and no provenance record, known only
-- from who made it (an AI integration user), its C2PA manifest, or (heuristic) a text marker.
with classified as (
    select * from {{ ref('int_records_classified') }}
    where not has_explicit_field
        and not has_provenance_record
),

final as (
    select
        {{ finding_columns(
            "untagged_ai_content",
            entity_id="record_id",
            object_name="object_name",
            finding="case evidence"
                ~ " when 'c2pa' then 'AI-generated file (C2PA manifest) without provenance tags'"
                ~ " when 'integration_user' then 'Record made by an AI integration user without provenance tags'"
                ~ " else 'Possible AI-generated text without provenance tags (text marker, heuristic)' end",
            severity="case"
                ~ " when evidence = 'c2pa' and provenance_class = 'trainedAlgorithmicMedia' then 'high'"
                ~ " when evidence in ('c2pa', 'integration_user') then 'medium'"
                ~ " else 'low' end",
            evidence="evidence_detail",
        ) }}
    from classified
)

select * from final
