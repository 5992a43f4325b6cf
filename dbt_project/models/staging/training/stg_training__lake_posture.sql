{#-
    The training zone's controls as the latest nightly read found them (synthgov.training.posture):
    one row per control, with pass, fail, error or not_applicable.
-#}
{%- set columns = [
    ("zone_uri", "text", "zone_uri"),
    ("zone_kind", "text", "zone_kind"),
    ("bucket", "text", "bucket"),
    ("control", "text", "control"),
    ("status", "text", "status"),
    ("detail", "text", "detail"),
    ("read_at", "timestamptz", "read_at"),
] -%}

with source as (
    {{ training_latest_snapshot(
        source('synthgov', 'training_lake_posture'), source('salesforce', '_sg_loads'),
        'Training_Lake_Posture', columns
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
        cast({{ dbt.concat(["zone_uri", "'#'", "control"]) }} as {{ dbt.type_string() }}) as posture_check_id,
        renamed.*
    from renamed
)

select * from final
