{#
    The governance controls: one finding table per control, all with the same columns
    (finding_columns). The regulation each cites comes from here, so the finding tables, the
    summary and the docs agree (articles as in docs/reference/regulations.md).
#}
{% macro governance_controls() %}
    {{ return([
        {"control": "untagged_ai_content", "regulation": "EU AI Act Art. 50(2); NIST AI 100-4",
         "description": "AI-generated content without provenance tags: made by an AI integration user, carrying a C2PA manifest of an AI source type, or (heuristic) containing a tell-tale text marker"},
        {"control": "undisclosed_ai_communications", "regulation": "EU AI Act Art. 50",
         "description": "AI-generated e-mails sent without the AI disclosure being shown"},
        {"control": "synthetic_personas_in_pipeline", "regulation": "EU AI Act Art. 50; NIST AI 600-1",
         "description": "Synthetic persona contacts on open opportunities and persona leads in open statuses, commingled with the real pipeline"},
        {"control": "automated_decisions_without_review", "regulation": "GDPR Art. 22",
         "description": "Leads the score decided on automatically with no human review"},
        {"control": "ai_tool_access", "regulation": "GDPR Art. 32; NIST AI RMF GOVERN 1.6",
         "description": "Assignments of permission sets granting AI generation tools to users not on the approved list"},
        {"control": "ai_capable_packages", "regulation": "EU AI Act Art. 50(2), 50(4); NIST AI 600-1",
         "description": "Installed AppExchange packages with AI or deepfake generation capabilities that compliance has not approved"},
        {"control": "lead_scoring_bias", "regulation": "NIST AI RMF MEASURE 2.11",
         "description": "Lead-scoring models whose mean score for leads built on synthetic inputs differs from the others by more than the policy's threshold"},
        {"control": "training_data_consent", "regulation": "GDPR Art. 6, Art. 7; NIST AI 600-1",
         "description": "Training-data manifests in the lake's training zone using authentic records without recorded consent, declaring provenance the ledger contradicts, naming records the CRM lacks, or failing their schema"},
        {"control": "training_lake_posture", "regulation": "GDPR Art. 32, Art. 5(1)(f); NIST AI RMF MANAGE",
         "description": "Controls of the lake's training zone that fail or cannot be read: separation from the raw zone, server access logging, public access block, default encryption, versioning (not applicable, severity info, on a local-folder lake)"},
        {"control": "media_not_inspected", "regulation": "EU AI Act Art. 50(2); NIST AI 100-4",
         "description": "Files whose C2PA provenance could not be inspected, with the reason: a format c2pa cannot read, a failed download, over the size cap, or a damaged file"},
    ]) }}
{% endmacro %}


{% macro governance_control(control) %}
    {% for item in governance_controls() if item["control"] == control %}
        {{ return(item) }}
    {% endfor %}
    {{ exceptions.raise_compiler_error("unknown governance control " ~ control) }}
{% endmacro %}


{#
    The common columns of every finding table, as select items. `entity_id`, `object_name`,
    `finding`, `severity` and `evidence` are SQL expressions; the id is `<control>:<entity_id>`.
#}
{% macro finding_columns(control, entity_id, object_name, finding, severity, evidence) -%}
    {%- set spec = governance_control(control) -%}
    cast({{ dbt.concat(["'" ~ control ~ ":'", entity_id]) }} as {{ dbt.type_string() }}) as finding_id,
        cast({{ entity_id }} as {{ dbt.type_string() }}) as entity_id,
        cast({{ object_name }} as {{ dbt.type_string() }}) as object_name,
        cast({{ finding }} as {{ dbt.type_string() }}) as finding,
        cast({{ severity }} as {{ dbt.type_string() }}) as severity,
        cast({{ sql_literal(spec["regulation"]) }} as {{ dbt.type_string() }}) as regulation,
        cast({{ evidence }} as {{ dbt.type_string() }}) as evidence,
        {{ as_of() }} as detected_at
{%- endmacro %}



{# The bias control's thresholds (ai_tools.yml lead_scoring_bias), with the policy loader's defaults. #}
{% macro lead_scoring_bias_policy() %}
    {{ return(sg_policy().get("lead_scoring_bias") or {"max_mean_gap": 10.0, "min_group_size": 20}) }}
{% endmacro %}
