-- Record-level derivation edges: what made a record, and what AI or synthetic content touches.
{%- set provenance_object = (sg_policy().get("provenance_object") or {}).get("name", "AI_Content_Provenance__c") %}
with ledger as (
    select * from {{ ref('provenance_ledger') }}
),

provenance as (
    select * from {{ ref('stg_salesforce__ai_content_provenance') }}
),

email_messages as (
    select * from {{ ref('stg_salesforce__email_messages') }}
),

tasks as (
    select * from {{ ref('stg_salesforce__tasks') }}
),

opportunities as (
    select * from {{ ref('stg_salesforce__opportunities') }}
),

leads as (
    select * from {{ ref('stg_salesforce__leads') }}
),

-- A generation event made the record it names.
generated as (
    select
        cast('{{ provenance_object }}' as {{ dbt.type_string() }}) as from_object,
        provenance.provenance_record_id as from_id,
        coalesce(provenance.object_type, {{ salesforce_object_of("provenance.record_id") }}) as to_object,
        provenance.record_id as to_id,
        cast('generated' as {{ dbt.type_string() }}) as relation,
        false as is_heuristic
    from provenance
    where provenance.record_id is not null
),

-- An AI e-mail concerns the lead, contact or opportunity it was sent about.
email_concerns as (
    select
        ledger.object_name as from_object,
        ledger.record_id as from_id,
        {{ salesforce_object_of("email_messages.related_to_id") }} as to_object,
        email_messages.related_to_id as to_id,
        cast('concerns' as {{ dbt.type_string() }}) as relation,
        ledger.is_heuristic
    from ledger
    inner join email_messages
        on ledger.object_name = 'EmailMessage'
        and ledger.record_id = email_messages.email_message_id
    where email_messages.related_to_id is not null
),

-- An AI task (a call summary) concerns its lead or contact (WhoId) and its account or opportunity (WhatId).
task_concerns as (
    select
        ledger.object_name as from_object,
        ledger.record_id as from_id,
        {{ salesforce_object_of("concerned.concerned_id") }} as to_object,
        concerned.concerned_id as to_id,
        cast('concerns' as {{ dbt.type_string() }}) as relation,
        ledger.is_heuristic
    from ledger
    inner join (
        select task_id, who_id as concerned_id from tasks where who_id is not null
        union
        select task_id, what_id as concerned_id from tasks where what_id is not null
    ) as concerned
        on ledger.object_name = 'Task'
        and ledger.record_id = concerned.task_id
),

-- A synthetic persona contact is the contact of these opportunities.
persona_opportunities as (
    select
        ledger.object_name as from_object,
        ledger.record_id as from_id,
        cast('Opportunity' as {{ dbt.type_string() }}) as to_object,
        opportunities.opportunity_id as to_id,
        cast('persona_in_opportunity' as {{ dbt.type_string() }}) as relation,
        ledger.is_heuristic
    from ledger
    inner join opportunities
        on ledger.object_name = 'Contact'
        and ledger.record_id = opportunities.contact_id
    where ledger.is_synthetic_persona
),

-- A synthetic persona lead was converted into real records.
persona_conversions as (
    select
        ledger.object_name as from_object,
        ledger.record_id as from_id,
        converted.to_object,
        converted.to_id,
        cast('converted_to' as {{ dbt.type_string() }}) as relation,
        ledger.is_heuristic
    from ledger
    inner join (
        select lead_id, 'Account' as to_object, converted_account_id as to_id
        from leads where converted_account_id is not null
        union all
        select lead_id, 'Contact' as to_object, converted_contact_id as to_id
        from leads where converted_contact_id is not null
        union all
        select lead_id, 'Opportunity' as to_object, converted_opportunity_id as to_id
        from leads where converted_opportunity_id is not null
    ) as converted
        on ledger.object_name = 'Lead'
        and ledger.record_id = converted.lead_id
    where ledger.is_synthetic_persona
),

edges as (
    select * from generated
    union all
    select * from email_concerns
    union all
    select * from task_concerns
    union all
    select * from persona_opportunities
    union all
    select * from persona_conversions
),

final as (
    select
        {{ dbt.concat(["from_object", "':'", "from_id", "'-'", "relation", "'->'", "coalesce(to_object, '?')", "':'", "to_id"]) }} as edge_id,
        from_object,
        from_id,
        to_object,
        to_id,
        relation,
        is_heuristic
    from edges
)

select * from final
