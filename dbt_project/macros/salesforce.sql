{#
    Incremental objects arrive as appended versions: every change of a record is a new row, and a
    soft delete is a version with IsDeleted = true. The live record is the latest version by
    SystemModstamp (then by load run, whose ids sort chronologically); records whose latest version
    is deleted are out, whatever they looked like before.
#}
{% macro salesforce_latest_versions(relation, soft_delete=true) %}
    select *
    from (
        select
            versions.*,
            row_number() over (
                partition by versions."Id"
                order by versions."SystemModstamp" desc, versions._sg_run_id desc
            ) as _sg_version_rank
        from {{ relation }} as versions
    ) as ranked
    where _sg_version_rank = 1
    {%- if soft_delete %}
        and not coalesce(ranked."IsDeleted", false)
    {%- endif %}
{% endmacro %}


{#
    Snapshot objects (no IsDeleted, hard deletes, Tooling objects) are read whole every run: the
    latest run is the org as it stands, and a record missing from it is gone.
#}
{% macro salesforce_latest_snapshot(relation) %}
    select *
    from {{ relation }}
    where _sg_run_id = (select max(latest_run._sg_run_id) from {{ relation }} as latest_run)
{% endmacro %}


{#
    The Salesforce objects that can hold content, with their staging model, key and the columns the
    provenance union needs. An object named in provenance_mapping.yml must be listed here (it needs
    a staging model carrying the provenance roles).
    `text` is what the text-marker heuristic reads.
#}
{% macro salesforce_content_objects() %}
    {{ return({
        "Account": {"model": "stg_salesforce__accounts", "id": "account_id", "owner": "owner_id", "text": none},
        "Contact": {"model": "stg_salesforce__contacts", "id": "contact_id", "owner": "owner_id", "text": none},
        "Lead": {"model": "stg_salesforce__leads", "id": "lead_id", "owner": "owner_id", "text": none},
        "Opportunity": {"model": "stg_salesforce__opportunities", "id": "opportunity_id", "owner": "owner_id", "text": none},
        "Task": {"model": "stg_salesforce__tasks", "id": "task_id", "owner": "owner_id", "text": ["subject", "description"]},
        "EmailMessage": {"model": "stg_salesforce__email_messages", "id": "email_message_id", "owner": "created_by_id", "text": ["subject", "text_body"]},
        "ContentVersion": {"model": "stg_salesforce__content_versions", "id": "content_version_id", "owner": "owner_id", "text": none},
    }) }}
{% endmacro %}


{# Salesforce's three-character key prefixes of the objects a polymorphic id (RelatedToId, WhoId, WhatId) can point to. #}
{% macro salesforce_key_prefixes() %}
    {{ return({"001": "Account", "003": "Contact", "00Q": "Lead", "006": "Opportunity", "00T": "Task", "02s": "EmailMessage", "068": "ContentVersion"}) }}
{% endmacro %}


{# The object a polymorphic id points to, from its key prefix (NULL for an unknown prefix). #}
{% macro salesforce_object_of(id_column) -%}
    case
    {%- for prefix, object_name in salesforce_key_prefixes().items() %}
        when substr({{ id_column }}, 1, 3) = '{{ prefix }}' then '{{ object_name }}'
    {%- endfor %}
    end
{%- endmacro %}
