"""synthgov's provider info: the connection types its hooks bring, so the UI's form and *Test* button know them.

Airflow reads this through the ``apache_airflow_provider`` entry point (as it reads a provider's);
the form fields are declared here rather than by the hooks' deprecated widget methods, so listing
connection types imports no hook. ``postgres`` is declared because no Postgres provider is a
dependency; where one is installed, Airflow keeps the first registration and says so in its log.
"""

from __future__ import annotations

from typing import Any

_DUCKDB_FIELDS = {
    "path": {
        "label": "DuckDB file",
        "description": "The warehouse file (made absolute); the host field is read when this is empty",
        "schema": {"type": ["string", "null"]},
    }
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "synthgov",
        "name": "synthgov",
        "description": "Governance and retention of AI-generated content in Salesforce: hooks and connections",
        "connection-types": [
            {
                "connection-type": "synthgov_duckdb",
                "hook-class-name": "synthgov_airflow.hooks.warehouse.WarehouseHook",
                "hook-name": "DuckDB warehouse (synthgov)",
                "conn-fields": _DUCKDB_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["port", "login", "password", "schema"],
                    "relabeling": {"host": "DuckDB file (or the extra 'path')"},
                    "placeholders": {"host": "/srv/synthgov/warehouse.duckdb"},
                },
            },
            {
                "connection-type": "postgres",
                "hook-class-name": "synthgov_airflow.hooks.warehouse.PostgresWarehouseHook",
                "hook-name": "PostgreSQL warehouse (synthgov)",
                "ui-field-behaviour": {
                    "hidden-fields": [],
                    "relabeling": {"schema": "Database"},
                    "placeholders": {"host": "127.0.0.1", "port": "5432", "schema": "synthgov"},
                },
            },
        ],
    }
