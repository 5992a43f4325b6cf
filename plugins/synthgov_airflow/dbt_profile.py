"""dbt's profile from the warehouse connection, decided when a dbt task runs (Cosmos asks only then).

``WarehouseProfileMapping`` hands Cosmos the profile of the connection ``WarehouseHook`` reads:
Cosmos' ``PostgresUserPasswordProfileMapping`` for a ``postgres`` connection (password through an
environment variable, never in the file), Cosmos' ``DuckDBUserPasswordProfileMapping`` for a
``synthgov_duckdb`` one (the absolute path from the connection). Without the connection it is
dbt_project/profiles.yml's own output for the settings' target, unrendered, so dbt reads
``SYNTHGOV_PG_*`` / ``SYNTHGOV_DUCKDB_PATH`` exactly as it does outside Airflow.

Cosmos reads a mapping's profile only when a task runs dbt (``ProfileConfig.ensure_profile``), so
parsing the DAG never looks the connection up. This module is imported by
``synthgov_airflow.dbt.governance_task_group`` only, which already imports Cosmos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from cosmos.profiles import (  # noqa: TID253 - imported only where Cosmos is loaded already
    BaseProfileMapping,
    DuckDBUserPasswordProfileMapping,
    PostgresUserPasswordProfileMapping,
)

from synthgov import settings
from synthgov_airflow.hooks.warehouse import WarehouseHook

# What the connection supplies; the rest of profiles.yml's output (schema, threads, DuckDB settings) is kept.
_CONNECTION_KEYS = frozenset({"type", "host", "port", "user", "password", "dbname", "path"})


class WarehouseProfileMapping(BaseProfileMapping):  # type: ignore[misc]  # Cosmos ships no type information
    """The warehouse connection's dbt profile, or profiles.yml's output when the connection does not exist."""

    airflow_connection_type = "synthgov_warehouse"

    def __init__(self, conn_id: str, profiles_yml: Path, target: str) -> None:
        super().__init__(conn_id=conn_id)
        self.profiles_yml = profiles_yml
        self.target = target
        self._resolved: tuple[BaseProfileMapping | None] | None = None

    def _output(self, name: str) -> dict[str, Any]:
        outputs: dict[str, dict[str, Any]] = yaml.safe_load(self.profiles_yml.read_text())["synthgov"]["outputs"]
        if name not in outputs:
            raise ValueError(f"{self.profiles_yml} has no output {name!r} (from {settings.DBT_TARGET.name})")
        return dict(outputs[name])

    def delegate(self) -> BaseProfileMapping | None:
        """Cosmos' mapping for the connection, or None when there is no connection (profiles.yml then)."""
        if self._resolved is None:
            target = WarehouseHook(self.conn_id).get_target()
            mapping: BaseProfileMapping | None = None
            if target.conn_id is not None:
                kept = {k: v for k, v in self._output(target.kind).items() if k not in _CONNECTION_KEYS}
                if target.kind == "postgres":
                    mapping = PostgresUserPasswordProfileMapping(conn_id=self.conn_id, profile_args=kept)
                else:
                    mapping = DuckDBUserPasswordProfileMapping(
                        conn_id=self.conn_id, profile_args={**kept, "path": str(target.duckdb_path)}
                    )
            self._resolved = (mapping,)
        return self._resolved[0]

    @property
    def profile(self) -> dict[str, Any]:
        mapping = self.delegate()
        return dict(mapping.profile) if mapping is not None else self._output(self.target)

    @property
    def mock_profile(self) -> dict[str, Any]:
        mapping = self.delegate()
        return dict(mapping.mock_profile) if mapping is not None else self._output(self.target)

    @property
    def env_vars(self) -> dict[str, str]:
        mapping = self.delegate()
        if mapping is None:
            return {}
        if isinstance(mapping, PostgresUserPasswordProfileMapping) and not mapping.conn.password:
            # No password: libpq's own (PGPASSWORD, ~/.pgpass, trust), as profiles.yml's '' leaves it.
            return {mapping.get_env_var_name("password"): ""}
        return dict(mapping.env_vars)
