"""The warehouse pool: every task that writes the warehouse takes it; the setup sizes it to the warehouse.

The pool is always declared (parsing never has to know the warehouse, which the connection decides
at run time), and ``ensure_warehouse_pool`` sizes it where Airflow is set up: one slot for DuckDB,
which allows one writer per file; ``POSTGRES_SLOTS`` for PostgreSQL, where the loader serialises its
schema changes on an advisory lock and loads and dbt models run side by side.
``python -m synthgov_airflow.pools`` does it from a shell (``make airflow``, the stack, a deployment).
"""

from __future__ import annotations

import os
import sys

from synthgov import settings

WAREHOUSE_POOL = "synthgov_warehouse"
# Each dbt task holds up to its profile's 4 threads' connections: 16 tasks stay well under
# PostgreSQL's default max_connections (100), next to Airflow's own use.
POSTGRES_SLOTS = 16


def warehouse_pool_slots(kind: settings.WarehouseKind) -> int:
    """The pool's size for a warehouse of this kind."""
    return 1 if kind == "duckdb" else POSTGRES_SLOTS


def ensure_warehouse_pool(conn_id: str | None = None) -> tuple[int, str]:
    """Create or resize the pool for the warehouse the connection (else the environment) names.

    Runs where the metadata database is reachable (a setup step, not a DAG file). Returns the slots and
    what decided the warehouse.
    """
    from airflow.models.pool import Pool

    from synthgov_airflow.hooks.warehouse import WarehouseHook

    target = WarehouseHook(conn_id).get_target()
    slots = warehouse_pool_slots(target.kind)
    writers = "one writer at a time (DuckDB)" if slots == 1 else f"up to {slots} side by side (PostgreSQL)"
    Pool.create_or_update_pool(
        WAREHOUSE_POOL, slots, f"synthgov warehouse tasks: {writers}; sized from {target.source}", False
    )
    return slots, target.source


def main() -> int:
    # A setup step beside the metadata database, as the scheduler is: without this, Airflow's SDK takes
    # a plain process for a task supervisor and looks connections up in the environment only, so the
    # warehouse connection in the database is not found and a PostgreSQL warehouse gets DuckDB's one slot.
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    slots, source = ensure_warehouse_pool()
    print(f"pool {WAREHOUSE_POOL}: {slots} slots (the warehouse from {source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
