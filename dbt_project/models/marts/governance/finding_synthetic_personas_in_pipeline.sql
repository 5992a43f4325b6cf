-- Synthetic personas mixed into the real pipeline: persona contacts that are the contact of an
-- open opportunity, and persona leads that are still open (not closed, not converted).
with personas as (
    select * from {{ ref('int_records_classified') }}
    where synthetic_persona
),

opportunities as (
    select * from {{ ref('stg_salesforce__opportunities') }}
),

leads as (
    select * from {{ ref('stg_salesforce__leads') }}
),

contacts_on_open_deals as (
    select
        personas.object_name,
        personas.record_id,
        {{ dbt.concat(["'open_opportunity:'", dbt.listagg("opportunities.opportunity_id", "','", "order by opportunities.opportunity_id")]) }} as evidence
    from personas
    inner join opportunities
        on personas.object_name = 'Contact'
        and personas.record_id = opportunities.contact_id
    where not coalesce(opportunities.is_closed, false)
    group by personas.object_name, personas.record_id
),

open_leads as (
    select
        personas.object_name,
        personas.record_id,
        {{ dbt.concat(["'open_lead_status:'", "leads.lead_status"]) }} as evidence
    from personas
    inner join leads
        on personas.object_name = 'Lead'
        and personas.record_id = leads.lead_id
    where not coalesce(leads.is_converted, false)
        and coalesce(leads.lead_status, '') not like 'Closed%'
),

in_pipeline as (
    select * from contacts_on_open_deals
    union all
    select * from open_leads
),

final as (
    select
        {{ finding_columns(
            "synthetic_personas_in_pipeline",
            entity_id="record_id",
            object_name="object_name",
            finding="case object_name when 'Contact' then 'Synthetic persona contact on an open opportunity'"
                ~ " else 'Synthetic persona lead in an open status' end",
            severity="'medium'",
            evidence="evidence",
        ) }}
    from in_pipeline
)

select * from final
