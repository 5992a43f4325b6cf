-- One row per governance control: how many findings, by severity, for dashboards and the report.
-- Severity info (a control that does not apply, e.g. bucket controls on a local-folder lake) is
-- counted apart: `findings` are what someone has to fix, and `status` says which case a control is in.
-- A control that had too little to judge (governance_coverage) is insufficient_data, never
-- no_findings: an empty finding table is a pass only when there was something to find.
{%- set controls = governance_controls() %}

with findings as (
    {%- for control in controls %}
    select
        cast('{{ control["control"] }}' as {{ dbt.type_string() }}) as control,
        severity,
        evidence
    from {{ ref('finding_' ~ control["control"]) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

controls as (
    {%- for control in controls %}
    select
        cast('{{ control["control"] }}' as {{ dbt.type_string() }}) as control,
        cast('finding_{{ control["control"] }}' as {{ dbt.type_string() }}) as finding_table,
        cast({{ sql_literal(control["regulation"]) }} as {{ dbt.type_string() }}) as regulation,
        cast({{ sql_literal(control["description"]) }} as {{ dbt.type_string() }}) as description
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

counts as (
    select
        control,
        sum(case when severity <> 'info' then 1 else 0 end) as findings,
        sum(case when severity = 'high' then 1 else 0 end) as high_findings,
        sum(case when severity = 'medium' then 1 else 0 end) as medium_findings,
        sum(case when severity = 'low' then 1 else 0 end) as low_findings,
        sum(case when evidence like 'text_marker:%' then 1 else 0 end) as heuristic_findings,
        sum(case when severity = 'info' then 1 else 0 end) as info_findings
    from findings
    group by control
),

final as (
    select
        controls.control,
        controls.finding_table,
        controls.regulation,
        controls.description,
        cast(coalesce(counts.findings, 0) as {{ dbt.type_bigint() }}) as findings,
        cast(coalesce(counts.high_findings, 0) as {{ dbt.type_bigint() }}) as high_findings,
        cast(coalesce(counts.medium_findings, 0) as {{ dbt.type_bigint() }}) as medium_findings,
        cast(coalesce(counts.low_findings, 0) as {{ dbt.type_bigint() }}) as low_findings,
        cast(coalesce(counts.heuristic_findings, 0) as {{ dbt.type_bigint() }}) as heuristic_findings,
        cast(coalesce(counts.info_findings, 0) as {{ dbt.type_bigint() }}) as info_findings,
        cast(
            case
                when coalesce(counts.findings, 0) > 0 then 'findings'
                when coverage.insufficient_data_reason is not null then 'insufficient_data'
                when coalesce(counts.info_findings, 0) > 0 then 'not_applicable'
                else 'no_findings'
            end as {{ dbt.type_string() }}
        ) as status,
        coverage.insufficient_data_reason,
        {{ as_of() }} as as_of
    from controls
    left join counts
        on controls.control = counts.control
    left join {{ ref('governance_coverage') }} as coverage
        on controls.control = coverage.control
)

select * from final
