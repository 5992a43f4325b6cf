{#-
    Training-data manifests in the lake's training zone, checked against the CRM record by record
    (GDPR Art. 6 and 7: a documented basis for training on personal data; NIST AI 600-1: provenance
    of training data). A record is AI-made when the provenance ledger knows it by a rule (explicit
    field, provenance record, C2PA, AI integration user; text markers are a heuristic and do not
    count); otherwise, if the CRM has it, it is authentic. Findings, each addressed by a JSON
    Pointer into its manifest (<manifest key>#/records/<n>...):
      #/records/n                      consent: an authentic record whose training_consent is not true
      #/records/n/declared_provenance  provenance: declared synthetic but authentic (high: it escapes
                                       the consent check), or declared authentic but AI-made (medium)
      #/records/n/id                   the CRM has no such record (deleted, erased or never there)
      #/records/n/object               an object synthgov does not govern: nothing can be checked
      (no pointer)                     the manifest has problems; its valid entries are still checked
-#}
{%- set content = salesforce_content_objects() -%}
{%- set mapped = sg_policy()["objects"] -%}
{%- set governed = mapped | list | select("in", content) | sort -%}

with entries as (
    select * from {{ ref('stg_training__manifest_records') }}
),

manifests as (
    select * from {{ ref('stg_training__manifests') }}
),

crm_records as (
    {%- for object_name in governed %}
    {%- set spec = content[object_name] %}
    select
        cast('{{ object_name }}' as {{ dbt.type_string() }}) as object_name,
        {{ spec["id"] }} as record_id,
        training_consent,
        cast({{ sql_literal(mapped[object_name].get("training_consent") or "") }} as {{ dbt.type_string() }})
            as consent_field
    from {{ ref(spec["model"]) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

ai_made as (
    select
        object_name,
        record_id,
        evidence_detail
    from {{ ref('int_records_classified') }}
    where not is_heuristic
),

checked as (
    select
        entries.manifest_entry_id,
        entries.manifest_key,
        coalesce(entries.dataset_name, 'unnamed') as dataset_name,
        coalesce(crm_records.object_name, entries.object_name) as object_name,
        entries.record_id,
        entries.declared_provenance,
        case
            when crm_records.record_id is not null and ai_made.record_id is not null then 'ai_made'
            when crm_records.record_id is not null then 'authentic'
            when lower(entries.object_name) in (
                {%- for object_name in governed %}'{{ object_name | lower }}'{{ ", " if not loop.last }}{% endfor -%}
            ) then 'not_found'
            else 'object_not_governed'
        end as crm_status,
        case
            when crm_records.consent_field = '' then 'not_mapped'
            when crm_records.training_consent is null then {{ dbt.concat(["crm_records.consent_field", "'=null'"]) }}
            else {{ dbt.concat(["crm_records.consent_field", "'='", "case when crm_records.training_consent then 'true' else 'false' end"]) }}
        end as consent,
        coalesce(crm_records.training_consent, false) as has_consent,
        ai_made.evidence_detail as ai_evidence
    from entries
    left join crm_records
        on lower(entries.object_name) = lower(crm_records.object_name)
        and entries.record_id = crm_records.record_id
    left join ai_made
        on crm_records.object_name = ai_made.object_name
        and crm_records.record_id = ai_made.record_id
),

{%- set record = dbt.concat(["'record:'", "object_name", "'/'", "record_id"]) %}
{%- set declared = dbt.concat(["' declared:'", "declared_provenance"]) %}
{%- set dataset = dbt.concat(["' dataset:'", "dataset_name"]) %}

without_consent as (
    select
        {{ finding_columns(
            "training_data_consent",
            entity_id="manifest_entry_id",
            object_name="object_name",
            finding="'Authentic record used for training without recorded consent'",
            severity="'high'",
            evidence=dbt.concat(["'check:consent '", record, declared, "' consent:'", "consent", dataset]),
        ) }}
    from checked
    where crm_status = 'authentic' and not has_consent
),

mislabelled as (
    select
        {{ finding_columns(
            "training_data_consent",
            entity_id=dbt.concat(["manifest_entry_id", "'/declared_provenance'"]),
            object_name="object_name",
            finding="case when crm_status = 'authentic'"
                ~ " then 'Authentic record declared synthetic in a training data set'"
                ~ " else 'AI-generated or synthetic record declared authentic in a training data set' end",
            severity="case when crm_status = 'authentic' then 'high' else 'medium' end",
            evidence=dbt.concat([
                "'check:provenance '", record, declared, "' crm:'", "crm_status",
                "case when ai_evidence is not null then " ~ dbt.concat(["' ledger:'", "ai_evidence"]) ~ " else '' end",
                dataset,
            ]),
        ) }}
    from checked
    where (declared_provenance = 'synthetic' and crm_status = 'authentic')
        or (declared_provenance = 'authentic' and crm_status = 'ai_made')
),

unknown_records as (
    select
        {{ finding_columns(
            "training_data_consent",
            entity_id=dbt.concat(["manifest_entry_id", "case when crm_status = 'not_found' then '/id' else '/object' end"]),
            object_name="object_name",
            finding="case when crm_status = 'not_found'"
                ~ " then 'Training record the CRM does not have (deleted, erased or never there)'"
                ~ " else 'Training record of an object synthgov does not govern: consent and provenance cannot be checked' end",
            severity="case when crm_status = 'not_found' and declared_provenance = 'authentic' then 'high' else 'medium' end",
            evidence=dbt.concat(["'check:record '", record, declared, "' crm:'", "crm_status", dataset]),
        ) }}
    from checked
    where crm_status in ('not_found', 'object_not_governed')
),

invalid_manifests as (
    select
        {{ finding_columns(
            "training_data_consent",
            entity_id="manifest_key",
            object_name="'TrainingManifest'",
            finding="'Training-data manifest with problems: its invalid entries cannot be checked'",
            severity="'medium'",
            evidence=dbt.concat([
                "'check:manifest problems:'", "cast(problem_count as " ~ dbt.type_string() ~ ")",
                "' first:'", dbt.split_part("problems", "chr(10)", 1),
            ]),
        ) }}
    from manifests
    where not is_valid
),

final as (
    select * from without_consent
    union all
    select * from mislabelled
    union all
    select * from unknown_records
    union all
    select * from invalid_manifests
)

select * from final
