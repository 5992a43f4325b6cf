"""Settings from the environment, with defaults that run on one machine (the embedded defaults).

Secrets are not settings: Salesforce credentials come from an Airflow connection or the
SYNTHGOV_SF_* variables (see `synthgov.salesforce.connection.Credentials`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


class SettingsError(ValueError):
    """A setting with a bad value: the message names the variable and what it accepts."""


def home() -> Path:
    """Where local state lives (sandbox, lake, warehouse, lineage): SYNTHGOV_HOME or ./.synthgov."""
    return Path(os.environ.get("SYNTHGOV_HOME", ".synthgov")).resolve()


def duckdb_path() -> Path:
    """The DuckDB file: ``$SYNTHGOV_DUCKDB_PATH`` (made absolute), else ``<SYNTHGOV_HOME>/warehouse.duckdb``.

    Always absolute, because Airflow tasks and dbt run from different working directories (Cosmos
    copies the dbt project to a temp dir) and must open the same file.
    """
    configured = os.environ.get("SYNTHGOV_DUCKDB_PATH")
    if configured:
        return Path(configured).expanduser().resolve()
    return home() / "warehouse.duckdb"


WarehouseKind = Literal["duckdb", "postgres"]
WAREHOUSE_ENV = "SYNTHGOV_WAREHOUSE"
DBT_TARGET_ENV = "SYNTHGOV_DBT_TARGET"
PG_DSN_ENV = "SYNTHGOV_PG_DSN"
# libpq keyword -> (variable, default). dbt_project/profiles.yml's postgres output carries the same
# defaults (a unit test holds them equal), so Python and dbt reach the same database when nothing is
# set; an empty default is left to libpq (PGPASSWORD, ~/.pgpass).
PG_PART_ENVS: dict[str, tuple[str, str]] = {
    "host": ("SYNTHGOV_PG_HOST", "127.0.0.1"),
    "port": ("SYNTHGOV_PG_PORT", "5432"),
    "user": ("SYNTHGOV_PG_USER", "postgres"),
    "password": ("SYNTHGOV_PG_PASSWORD", ""),
    "dbname": ("SYNTHGOV_PG_DATABASE", "synthgov"),
}


def warehouse_kind() -> WarehouseKind:
    """The warehouse for Python and dbt alike: ``$SYNTHGOV_WAREHOUSE``, ``duckdb`` (default) or ``postgres``."""
    raw = os.environ.get(WAREHOUSE_ENV, "")
    kind = raw.strip().lower() or "duckdb"
    if kind == "duckdb":
        return "duckdb"
    if kind in ("postgres", "postgresql"):
        return "postgres"
    raise SettingsError(f"{WAREHOUSE_ENV} must be 'duckdb' or 'postgres', got {raw!r}")


def dbt_target() -> str:
    """The dbt_project/profiles.yml output dbt runs on: the warehouse's, unless ``$SYNTHGOV_DBT_TARGET`` overrides it.

    The override is for a profile of one's own (another output name for the same database); pointing
    it at the other warehouse splits the nightly between two databases.
    """
    return os.environ.get(DBT_TARGET_ENV) or warehouse_kind()


# dbt's flags (as environment variables) for scheduled builds. Unit tests check the SQL's logic on
# fixed inputs, so their result cannot change from one night to the next: they run in `make test`
# (CI) before code reaches a scheduler, as dbt recommends, and production spends nothing on them.
DBT_PRODUCTION_FLAGS = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}


def _number(name: str, default: float, *, low: float, high: float, whole: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise SettingsError(f"{name} must be {kind}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    window_lag_seconds: int = 60
    part_rows: int = 250_000
    page_size: int = 2000
    api_run_share: float = 0.25
    api_total_share: float = 0.80
    media_max_bytes: int = 50 * 1024 * 1024
    bulk_poll_seconds: float = 1.0

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            home=home(),
            window_lag_seconds=int(_number("SYNTHGOV_WINDOW_LAG_SECONDS", 60, low=0, high=86400, whole=True)),
            part_rows=int(_number("SYNTHGOV_PART_ROWS", 250_000, low=1000, high=10_000_000, whole=True)),
            page_size=int(_number("SYNTHGOV_PAGE_SIZE", 2000, low=200, high=2000, whole=True)),
            api_run_share=_number("SYNTHGOV_API_RUN_SHARE", 0.25, low=0.001, high=1),
            api_total_share=_number("SYNTHGOV_API_TOTAL_SHARE", 0.80, low=0.001, high=1),
            media_max_bytes=int(_number("SYNTHGOV_MEDIA_MAX_BYTES", 50 * 1024 * 1024, low=1, high=2**40, whole=True)),
            bulk_poll_seconds=_number("SYNTHGOV_BULK_POLL_SECONDS", 1.0, low=0, high=60),
        )


def alert_conn_id() -> str | None:
    """The Airflow connection a failed DAG run is reported to (SYNTHGOV_ALERT_CONN_ID; none by default)."""
    return os.environ.get("SYNTHGOV_ALERT_CONN_ID") or None
