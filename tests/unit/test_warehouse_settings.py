"""One setting chooses the warehouse for Python and dbt, and both reach the same PostgreSQL by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from psycopg2.extensions import make_dsn, parse_dsn

from synthgov.settings import PG_PARTS, SettingsError, dbt_target, warehouse_kind
from synthgov.warehouse import DuckDBWarehouse, PostgresWarehouse, WarehouseError, open_warehouse, postgres_dsn

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"
# dbt's profile keys for libpq's keywords (the same but for the database).
PROFILE_KEYS = {"host": "host", "port": "port", "user": "user", "password": "password", "dbname": "dbname"}
_ENV_VAR = re.compile(r"env_var\('(?P<name>[A-Z_]+)', '(?P<default>[^']*)'\)")


@pytest.fixture(autouse=True)
def _no_warehouse_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SYNTHGOV_WAREHOUSE",
        "SYNTHGOV_DBT_TARGET",
        "SYNTHGOV_PG_DSN",
        *(var.name for var in PG_PARTS.values()),
    ):
        monkeypatch.delenv(name, raising=False)


def test_profiles_postgres_defaults_are_the_dsn_defaults() -> None:
    output = yaml.safe_load(PROFILES.read_text())["synthgov"]["outputs"]["postgres"]
    for keyword, var in PG_PARTS.items():
        found = _ENV_VAR.search(str(output[PROFILE_KEYS[keyword]]))
        assert found is not None, f"profiles.yml's postgres {PROFILE_KEYS[keyword]} reads no SYNTHGOV_PG_* variable"
        assert (found["name"], found["default"]) == (var.name, var.default), keyword
    # With nothing set, the loader's DSN is those defaults (an empty password left to libpq, as dbt's '' is).
    expected = {keyword: var.default for keyword, var in PG_PARTS.items() if var.default}
    assert parse_dsn(postgres_dsn()) == parse_dsn(make_dsn(**expected))
    assert set(expected) == {"host", "port", "user", "dbname"}


def test_one_setting_chooses_the_warehouse_and_the_dbt_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    assert (warehouse_kind(), dbt_target()) == ("duckdb", "duckdb")
    assert isinstance(open_warehouse(), DuckDBWarehouse)
    assert not (tmp_path / "wh.duckdb").exists()  # choosing opens nothing

    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", " PostgreSQL ")
    assert (warehouse_kind(), dbt_target()) == ("postgres", "postgres")
    assert isinstance(open_warehouse(), PostgresWarehouse)

    monkeypatch.setenv("SYNTHGOV_DBT_TARGET", "postgres_ci")  # the documented override: another output name
    assert (warehouse_kind(), dbt_target()) == ("postgres", "postgres_ci")

    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", "sqlite")
    with pytest.raises(SettingsError, match="SYNTHGOV_WAREHOUSE must be 'duckdb' or 'postgres', got 'sqlite'"):
        warehouse_kind()
    with pytest.raises(WarehouseError, match="SYNTHGOV_WAREHOUSE must be"):
        open_warehouse()


def test_each_warehouse_names_itself(tmp_path: Path) -> None:
    duck = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    assert duck.description == f"duckdb {tmp_path / 'warehouse.duckdb'}"
    assert not duck.exists()
    pg = PostgresWarehouse("host=db.internal port=5433 dbname=gov user=app")
    assert pg.description == "postgresql db.internal:5433/gov"
    assert (pg.lineage_namespace, pg.dataset_name("marts.x")) == ("postgres://db.internal:5433", "gov.marts.x")
    assert pg.exists()
