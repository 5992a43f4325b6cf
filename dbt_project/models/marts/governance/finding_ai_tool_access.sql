-- Users holding a permission set that grants AI generation tools (policy_ai_permission_sets)
-- without being on the approved list (policy_approved_users); revoked or expired assignments
-- grant nothing and are left out.
with assignments as (
    select * from {{ ref('stg_salesforce__permission_set_assignments') }}
),

permission_sets as (
    select * from {{ ref('stg_salesforce__permission_sets') }}
),

users as (
    select * from {{ ref('stg_salesforce__users') }}
),

ai_permission_sets as (
    select permission_sets.*
    from permission_sets
    inner join {{ ref('policy_ai_permission_sets') }} as policy_sets
        on lower(permission_sets.permission_set_name) = lower(policy_sets.permission_set_name)
),

approved_users as (
    select lower(username) as username from {{ ref('policy_approved_users') }}
),

packages as (
    select * from {{ ref('policy_packages') }}
),

unapproved as (
    select
        assignments.permission_set_assignment_id,
        ai_permission_sets.permission_set_name,
        users.username,
        coalesce(packages.is_deepfake_capable, false) as is_deepfake_capable
    from assignments
    inner join ai_permission_sets
        on assignments.permission_set_id = ai_permission_sets.permission_set_id
    left join users
        on assignments.assignee_user_id = users.user_id
    left join packages
        on lower(ai_permission_sets.namespace_prefix) = lower(packages.namespace)
    where coalesce(assignments.is_active, true)
        and not coalesce(assignments.is_revoked, false)
        and (assignments.expires_at is null or assignments.expires_at > {{ as_of() }})
        and (users.username is null or lower(users.username) not in (select username from approved_users))
),

final as (
    select
        {{ finding_columns(
            "ai_tool_access",
            entity_id="permission_set_assignment_id",
            object_name="'PermissionSetAssignment'",
            finding="'AI generation permission set assigned to a user not on the approved list'",
            severity="case when is_deepfake_capable then 'high' else 'medium' end",
            evidence=dbt.concat(["'permission_set:'", "permission_set_name", "' user:'", "coalesce(username, '?')"]),
        ) }}
    from unapproved
)

select * from final
