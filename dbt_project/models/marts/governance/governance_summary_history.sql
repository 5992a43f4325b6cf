-- One row per control per build: governance_summary as each build left it, appended, never rebuilt, so
-- the Governance page can draw a trend over the nightly builds after the marts themselves were rebuilt.
-- `full_refresh=false`: a `dbt build --full-refresh` (a policy change, a new macro) must not erase history.
-- A build is dbt's invocation: two builds at the same `as_of` (a rerun) are two points, each its own key.
{{ config(materialized="incremental", incremental_strategy="append", full_refresh=false) }}

select
    cast({{ dbt.concat(["'" ~ invocation_id ~ ":'", "summary.control"]) }} as {{ dbt.type_string() }}) as history_id,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as build_id,
    summary.as_of as built_at,
    summary.control,
    summary.status,
    summary.insufficient_data_reason,
    summary.findings,
    summary.high_findings,
    summary.medium_findings,
    summary.low_findings,
    summary.info_findings
from {{ ref('governance_summary') }} as summary
