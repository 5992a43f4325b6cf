-- Installed AppExchange packages the catalogue (policy_packages) lists as AI-capable and
-- compliance has not approved. Deepfake-capable ones are high severity.
with installed as (
    select * from {{ ref('stg_salesforce__installed_packages') }}
),

catalogue as (
    select * from {{ ref('policy_packages') }}
),

unapproved as (
    select
        installed.installed_package_id,
        installed.namespace_prefix,
        catalogue.capabilities,
        catalogue.is_deepfake_capable
    from installed
    inner join catalogue
        on lower(installed.namespace_prefix) = lower(catalogue.namespace)
    where not catalogue.approved
),

final as (
    select
        {{ finding_columns(
            "ai_capable_packages",
            entity_id="installed_package_id",
            object_name="'InstalledSubscriberPackage'",
            finding="'AI-capable package installed without approval'",
            severity="case when is_deepfake_capable then 'high' else 'medium' end",
            evidence=dbt.concat(["'package:'", "namespace_prefix", "' capabilities:'", "capabilities"]),
        ) }}
    from unapproved
)

select * from final
