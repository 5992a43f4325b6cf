{#-
    One row per valid record entry of the training-data manifests (latest nightly read). Entries
    with schema problems are left out (the manifest's problems say which); ids are 18 characters.
    The key is the entry's address: the manifest key and a JSON Pointer to the entry.
-#}
{%- set columns = [
    ("manifest_key", "text", "manifest_key"),
    ("dataset", "text", "dataset_name"),
    ("entry_index", "int", "entry_index"),
    ("object", "text", "object_name"),
    ("record_id", "text", "record_id"),
    ("declared_id", "text", "declared_id"),
    ("declared_provenance", "text", "declared_provenance"),
] -%}

with source as (
    {{ training_latest_snapshot(
        source('synthgov', 'training_manifest_records'), source('salesforce', '_sg_loads'),
        'Training_Manifest_Records', columns
    ) }}
),

renamed as (
    select
        {{ training_columns(columns) }},
        {{ load_columns() }}
    from source
),

final as (
    select
        cast({{ dbt.concat(["manifest_key", "'#/records/'", "cast(entry_index as " ~ dbt.type_string() ~ ")"]) }}
            as {{ dbt.type_string() }}) as manifest_entry_id,
        renamed.*
    from renamed
)

select * from final
