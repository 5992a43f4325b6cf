{#
    The provenance field mapping, from the generated macro `synthgov_policy()`
    (macros/generated/synthgov_policy.sql, written by `synthgov policies export`).
#}
{% macro sg_policy() %}
    {% if synthgov_policy is not defined %}
        {{ exceptions.raise_compiler_error(
            "macros/generated/synthgov_policy.sql is missing: run `synthgov policies export` "
            ~ "(synthgov.policies.export_for_dbt) before dbt, so the models know the org's provenance fields"
        ) }}
    {% endif %}
    {{ return(synthgov_policy()) }}
{% endmacro %}


{#
    The column types of the provenance roles (include/policies/provenance_mapping.yml). Flags are
    false when the object has no field for them; the disclosure flag stays NULL ("not known"), so
    a provenance record can still say whether the disclosure was shown.
#}
{% macro provenance_role_types() %}
    {{ return({
        "ai_generated": {"type": "boolean", "default": "false"},
        "ai_tool": {"type": "text", "default": none},
        "ai_model": {"type": "text", "default": none},
        "generated_at": {"type": "timestamptz", "default": none},
        "disclosure_shown": {"type": "boolean", "default": none},
        "human_reviewed": {"type": "boolean", "default": "false"},
        "legal_hold": {"type": "boolean", "default": "false"},
        "synthetic_persona": {"type": "boolean", "default": "false"},
        "lead_score": {"type": "float", "default": none},
        "score_model": {"type": "text", "default": none},
        "score_automated_decision": {"type": "boolean", "default": "false"},
        "training_consent": {"type": "boolean", "default": none},
    }) }}
{% endmacro %}


{#
    The provenance roles every content object carries in staging (scores are Lead-only).
    training_consent stays NULL where the object maps no consent field: "cannot be known", not "no".
#}
{% macro content_roles() %}
    {{ return([
        "ai_generated", "ai_tool", "ai_model", "generated_at", "disclosure_shown",
        "human_reviewed", "legal_hold", "synthetic_persona", "training_consent",
    ]) }}
{% endmacro %}


{% macro sg_type(kind) %}
    {%- if kind == "boolean" -%} {{ dbt.type_boolean() }}
    {%- elif kind == "text" -%} {{ dbt.type_string() }}
    {%- elif kind == "timestamptz" -%} {{ type_timestamptz() }}
    {%- elif kind == "timestamp" -%} {{ dbt.type_timestamp() }}
    {#- dbt.type_float() is a 4-byte REAL on DuckDB: scores and amounts need double precision. -#}
    {%- elif kind == "float" -%} double precision
    {%- elif kind == "int" -%} {{ dbt.type_bigint() }}
    {%- else -%} {{ exceptions.raise_compiler_error("unknown type kind " ~ kind) }}
    {%- endif -%}
{% endmacro %}


{#
    One provenance role of a Salesforce object as a typed column expression: the mapped field,
    or the role's default when the org keeps no such field on that object. Field names come only
    from the mapping, never from SQL.
#}
{% macro provenance_role(object_name, role) %}
    {%- set spec = provenance_role_types()[role] -%}
    {%- set field = sg_policy()["objects"].get(object_name, {}).get(role) -%}
    {%- if field -%}
        {%- if spec["default"] is not none -%}
            coalesce(cast({{ adapter.quote(field) }} as {{ sg_type(spec["type"]) }}), {{ spec["default"] }})
        {%- else -%}
            cast({{ adapter.quote(field) }} as {{ sg_type(spec["type"]) }})
        {%- endif -%}
    {%- elif spec["default"] is not none -%}
        {{ spec["default"] }}
    {%- else -%}
        cast(null as {{ sg_type(spec["type"]) }})
    {%- endif -%}
{% endmacro %}


{# The content roles of an object as `<expression> as <role>` select items, one per line. #}
{% macro provenance_role_columns(object_name, roles=none) -%}
    {%- for role in (roles or content_roles()) -%}
        {{ provenance_role(object_name, role) }} as {{ role }}{{ ",\n        " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{# A field of the provenance object (AI_Content_Provenance__c by default) by role, or NULL. #}
{% macro provenance_object_field(role, kind="text") %}
    {%- set prov = sg_policy().get("provenance_object") or {} -%}
    {%- set field = (prov.get("fields") or {}).get(role) -%}
    {%- if field -%}
        cast({{ adapter.quote(field) }} as {{ sg_type(kind) }})
    {%- else -%}
        cast(null as {{ sg_type(kind) }})
    {%- endif -%}
{% endmacro %}


{#
    The name of the field that tagged a record explicitly: the object's ai_generated field when the
    record's flag is set, else its synthetic_persona field (from the mapping), as a SQL expression.
#}
{% macro explicit_field_name(object_column, ai_flag_column) -%}
    {%- set objects = sg_policy()["objects"] -%}
    case
    {%- for object_name, roles in objects.items() | sort %}
        when {{ object_column }} = '{{ object_name }}' then
            case when {{ ai_flag_column }} then '{{ roles.get("ai_generated") or "" }}' else '{{ roles.get("synthetic_persona") or "" }}' end
    {%- endfor %}
    end
{%- endmacro %}
