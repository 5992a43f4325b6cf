-- Files whose C2PA provenance could not be looked at: never a silent skip. A format c2pa cannot read
-- is low (such a file cannot carry embedded credentials c2pa would see); a failed download, a file over
-- the size cap or a damaged file is medium: it could be AI media nobody checked.
with media as (
    select * from {{ ref('stg_salesforce__content_version_media') }}
    where inspection_status in ('not_inspectable', 'download_failed', 'skipped_too_large', 'unreadable')
),

final as (
    select
        {{ finding_columns(
            "media_not_inspected",
            entity_id="content_version_id",
            object_name="'ContentVersion'",
            finding="case inspection_status"
                ~ " when 'not_inspectable' then 'File in a format c2pa cannot read'"
                ~ " when 'download_failed' then 'File could not be downloaded for inspection'"
                ~ " when 'skipped_too_large' then 'File over the inspection size cap'"
                ~ " else 'Damaged file c2pa could not parse' end",
            severity="case when inspection_status = 'not_inspectable' then 'low' else 'medium' end",
            evidence=dbt.concat(["inspection_status", "': '", "coalesce(inspection_detail, '')"]),
        ) }}
    from media
)

select * from final
