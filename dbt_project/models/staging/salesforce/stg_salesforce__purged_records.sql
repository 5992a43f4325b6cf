{#- The records retention purged from the org (raw_salesforce._sg_purged), for the models downstream of staging. -#}
select
    cast(object_name as {{ dbt.type_string() }}) as object_name,
    cast(record_id as {{ dbt.type_string() }}) as record_id,
    cast(purged_at as {{ dbt.type_timestamp() }}) as purged_at,
    cast(purge_run_id as {{ dbt.type_string() }}) as purge_run_id
from {{ source('salesforce', '_sg_purged') }}
