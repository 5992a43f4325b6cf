"""The Airflow assets synthgov's DAGs produce, so downstream DAGs (dbt, retention) can be scheduled on them.

The URI scheme is ``x-synthgov``: Airflow keeps a URI whose scheme starts with ``x-`` exactly as
written and never looks for a provider's normaliser for it. Any other scheme without a built-in
normaliser (``synthgov://`` included) makes the DAG file initialise the providers manager to look for
one, which imports every provider's URI handler (the Amazon one imports boto3) and adds about half a
second to each parse, in breach of the rule that parsing a DAG stays cheap.
"""

from __future__ import annotations

from airflow.sdk import Asset

# Updated when the nightly load has appended new runs to the warehouse's raw_salesforce schema.
RAW_SALESFORCE = Asset("synthgov_raw_salesforce", uri="x-synthgov://warehouse/raw_salesforce")

# Updated when the nightly dbt build has rebuilt marts.retention_candidates: the retention DAG follows it.
RETENTION_CANDIDATES = Asset("synthgov_retention_candidates", uri="x-synthgov://warehouse/marts/retention_candidates")
