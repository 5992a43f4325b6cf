{#
    Columns every staging model of a Salesforce object shares, so that their names and types are
    written once: the audit fields Salesforce keeps on most objects, and the two columns the loader
    adds to every raw row (synthgov.warehouse: the lake run it came from and when it was loaded).
    Objects without the full audit set (PermissionSetAssignment, SetupAuditTrail) list theirs.
#}
{% macro salesforce_audit_columns() -%}
        cast("CreatedDate" as {{ type_timestamptz() }}) as created_at,
        cast("CreatedById" as {{ dbt.type_string() }}) as created_by_id,
        cast("LastModifiedDate" as {{ type_timestamptz() }}) as last_modified_at,
        cast("LastModifiedById" as {{ dbt.type_string() }}) as last_modified_by_id,
        cast("SystemModstamp" as {{ type_timestamptz() }}) as system_modstamp
{%- endmacro %}


{% macro load_columns() -%}
        cast(_sg_run_id as {{ dbt.type_string() }}) as extract_run_id,
        cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
{%- endmacro %}
