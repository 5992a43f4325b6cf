{#-
    One row per training-data manifest in the lake's training zone, as the latest nightly read
    found it (synthgov.training.manifest): its header, how many entries it has, how many are valid,
    and its problems.
-#}
{%- set columns = [
    ("manifest_key", "text", "manifest_key"),
    ("manifest_uri", "text", "manifest_uri"),
    ("sha256", "text", "manifest_sha256"),
    ("size_bytes", "int", "size_bytes"),
    ("dataset", "text", "dataset_name"),
    ("model", "text", "model_name"),
    ("purpose", "text", "purpose"),
    ("created_at", "timestamptz", "created_at"),
    ("created_by", "text", "created_by"),
    ("record_entries", "int", "record_entries"),
    ("valid_records", "int", "valid_records"),
    ("is_valid", "boolean", "is_valid"),
    ("problem_count", "int", "problem_count"),
    ("problems", "text", "problems"),
    ("read_at", "timestamptz", "read_at"),
] -%}

with source as (
    {{ training_latest_snapshot(
        source('synthgov', 'training_manifests'), source('salesforce', '_sg_loads'),
        'Training_Manifests', columns
    ) }}
),

renamed as (
    select
        {{ training_columns(columns) }},
        {{ load_columns() }}
    from source
)

select * from renamed
