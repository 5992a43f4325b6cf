"""synthgov's Airflow glue, laid out like a provider: hooks connect, operators act and report lineage.

Nothing here imports the heavy libraries (pandas, pyarrow, boto3, simple-salesforce, duckdb, c2pa,
dbt) at module level: the DAG processor imports these modules on every parse, so the domain code
is imported inside the methods that run in a task.
"""
