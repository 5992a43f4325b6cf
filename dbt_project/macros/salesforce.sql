{#
    Incremental objects arrive as appended versions: every change of a record is a new row, and a
    soft delete is a version with IsDeleted = true. The live record is the latest version by
    SystemModstamp (then by load run, whose ids sort chronologically); records whose latest version
    is deleted, and records purged by retention (raw_salesforce._sg_purged), are out, whatever they
    looked like before. An incremental run ranks only the records with a version loaded since its
    watermark, over all of their versions (see incremental.sql); the pre-hooks take out the
    ones that left.
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
        {%- if is_incremental() %}
        where versions."Id" in ({{ salesforce_changed_ids(relation) }})
        {%- endif %}
    ) as ranked
    where _sg_version_rank = 1
    {%- if soft_delete %}
        and not coalesce(ranked."IsDeleted", false)
    {%- endif %}
        and {{ salesforce_not_purged('ranked."Id"') }}
{% endmacro %}


{# Ids of the records with a version loaded after the model's watermark. #}
{% macro salesforce_changed_ids(relation) -%}
    select changed."Id" from {{ relation }} as changed where changed._sg_loaded_at > {{ incremental_watermark() }}
{%- endmacro %}


{#
    The record is not listed as purged. Ids are matched alone: Salesforce ids are unique across
    objects, and a purged record must not survive a misspelt object name.
#}
{% macro salesforce_not_purged(id_column) -%}
    not exists (
        select 1 from {{ source('salesforce', '_sg_purged') }} as purged where purged.record_id = {{ id_column }}
    )
{%- endmacro %}


{#
    The pre-hooks of the latest-versions staging models: before an incremental run, take out
    everything when the model was built from another policy or code (incremental.sql), the records
    the run recomputes (a version loaded since the watermark), and the purged ones.
#}
{% macro salesforce_prune_hooks(table, key) %}
    {{ return([
        "{{ incremental_prune_stale() }}",
        "{{ salesforce_prune_changed(source('salesforce', '" ~ table ~ "'), '" ~ key ~ "') }}",
        "{{ salesforce_prune_purged('" ~ key ~ "') }}",
    ]) }}
{% endmacro %}


{% macro salesforce_prune_changed(relation, key) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ key }} in ({{ salesforce_changed_ids(relation) }})
    {%- endif -%}
{%- endmacro %}


{% macro salesforce_prune_purged(key) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ key }} in (select purged.record_id from {{ source('salesforce', '_sg_purged') }} as purged)
    {%- endif -%}
{%- endmacro %}


{#
    Snapshot objects (no IsDeleted, hard deletes, Tooling objects) are read whole every run: the
    latest run is the org as it stands, and a record missing from it (or purged) is gone. They are
    small, so their staging models stay views.
#}
{% macro salesforce_latest_snapshot(relation) %}
    select *
    from {{ relation }} as snapshot_rows
    where snapshot_rows._sg_run_id = (select max(latest_run._sg_run_id) from {{ relation }} as latest_run)
        and {{ salesforce_not_purged('snapshot_rows."Id"') }}
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
