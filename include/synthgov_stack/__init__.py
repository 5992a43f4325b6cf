"""Developer tooling: the production shape on one machine (`make stack`) and `make airflow`.

Like the sandbox org, it stands in for what a deployment has (managed PostgreSQL, Redis, S3, a real
org, Marquez) and is never imported by ``synthgov`` or ``synthgov_airflow``. ``Stack`` (in
``synthgov_stack.stack``) is the Python interface for tests; ``python -m synthgov_stack`` the command.
"""
