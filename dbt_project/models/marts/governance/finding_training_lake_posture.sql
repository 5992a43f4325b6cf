{#-
    The training zone's security posture (GDPR Art. 32 and Art. 5(1)(f); NIST AI RMF MANAGE): every
    control of the latest nightly read that did not pass. A failed control is a finding (high for
    the public access block and access logging, medium otherwise), so is a control that could not
    be read (error, medium). A local-folder zone has none of these controls: each is reported as
    not applicable with severity info, which governance_summary counts apart from real findings.
-#}
with posture as (
    select * from {{ ref('stg_training__lake_posture') }}
    where status <> 'pass'
),

final as (
    select
        {{ finding_columns(
            "training_lake_posture",
            entity_id="posture_check_id",
            object_name="'TrainingZone'",
            finding="case"
                ~ " when status = 'not_applicable' then 'Not applicable: a local-folder training zone has no bucket controls'"
                ~ " when status = 'error' then " ~ dbt.concat(["'Training zone control could not be read: '", "control"])
                ~ " when control = 'separation' then 'Training zone not apart from the raw zone'"
                ~ " when control = 'access_logging' then 'Training zone without server access logging'"
                ~ " when control = 'public_access_block' then 'Training zone bucket without a full public access block'"
                ~ " when control = 'default_encryption' then 'Training zone bucket without default encryption'"
                ~ " else 'Training zone bucket without versioning' end",
            severity="case"
                ~ " when status = 'not_applicable' then 'info'"
                ~ " when status = 'fail' and control in ('public_access_block', 'access_logging') then 'high'"
                ~ " else 'medium' end",
            evidence=dbt.concat(["'control:'", "control", "' status:'", "status", "' '", "detail"]),
        ) }}
    from posture
)

select * from final
