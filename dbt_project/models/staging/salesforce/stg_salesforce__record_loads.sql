{#-
    Every version the loader appended of every content object's records: which record, and when
    it was loaded. The union's pre-hook (content_records_prune_removed) reads it to find the
    records that can have left staging since its watermark (a soft delete arrives as a version),
    so that only staging reads the raw sources. A view: it adds nothing but names. Purged
    records are left out, as everywhere in staging: their ids reach the hook through
    stg_salesforce__purged_records, the purge list itself.
-#}
{%- set objects = salesforce_content_objects() | list | sort %}

{% for object_name in objects %}
select
    cast('{{ object_name }}' as {{ dbt.type_string() }}) as object_name,
    cast("Id" as {{ dbt.type_string() }}) as record_id,
    cast(_sg_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
from {{ source('salesforce', object_name | lower) }}
where {{ salesforce_not_purged('"Id"') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
