"""What the Governance page shows, read from the marts and the evidence ledger, with no Airflow in it.

``marts``: the per-control status, the 30-build trend, findings per control (filtered and paged in
the database), retention candidates due; ``evidence``: the purge receipts, the ledger's verification,
a retention plan, the latest regulator pack. The Airflow app (``synthgov_airflow.governance``) only
authenticates, opens the warehouse and the lake from their connections, and renders.
"""
