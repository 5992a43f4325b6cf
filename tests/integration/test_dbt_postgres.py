"""The same dbt project on PostgreSQL: extract from the sandbox org, COPY into a throwaway cluster,
`dbt build --target postgres`, and the marts agree with the ground truth as on DuckDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from synthgov.extract.config import load_config
from synthgov.extract.run import extract_all, load_all
from synthgov.lake import LocalLake
from synthgov.policies import export_for_dbt, load_policies
from synthgov.settings import Settings, dbt_target
from synthgov.training.manifest import read_training_manifests
from synthgov.training.posture import read_training_lake_posture
from synthgov.training.zone import open_training_zone
from synthgov.warehouse import PostgresWarehouse
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_dbt_duckdb import _copy_project, _org_time, connect, truth_keys
from tests.postgres import PostgresInfo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built_pg(
    demo_org: SandboxProcess, postgres: PostgresInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("dbt-postgres")
    database = "synthgov_dbt"
    admin = psycopg2.connect(postgres.dsn)
    admin.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {database}")
            cur.execute(f"CREATE DATABASE {database}")
    finally:
        admin.close()
    dsn = postgres.dsn_for(database)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
        demo_org.control("DELETE", "faults")
        demo_org.control("POST", "seed", {"profile": "demo", "scale": 1, "seed": 42})
        demo_org.token(fresh=True)
        config = load_config()
        objects = [spec.name for spec in config.objects]
        lake = LocalLake(tmp / "lake")
        report = extract_all(connect(demo_org), lake, config, Settings(home=tmp, window_lag_seconds=0))
        zone = open_training_zone(lake, None)
        for manifest in demo_org.control("GET", "training-manifests")["manifests"]:
            zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"]).encode())
        findings = report.media.manifests if report.media else []
        findings += read_training_manifests(lake, zone, run_id="20261102T090000Z-traina").manifests
        findings += read_training_lake_posture(lake, zone, run_id="20261102T090000Z-trainb").manifests
        load_all(lake, PostgresWarehouse(dsn), objects, findings)
        truth = demo_org.control("GET", "ground-truth")

        project = _copy_project(tmp)
        export_for_dbt(load_policies(known_objects=set(objects)), project)
        for name, value in (
            ("SYNTHGOV_PG_HOST", postgres.host),
            ("SYNTHGOV_PG_PORT", str(postgres.port)),
            ("SYNTHGOV_PG_USER", postgres.user),
            ("SYNTHGOV_PG_PASSWORD", ""),
            ("SYNTHGOV_PG_DATABASE", database),
            ("SYNTHGOV_WAREHOUSE", "postgres"),
        ):
            mp.setenv(name, value)
        from dbt.cli.main import dbtRunner

        args = ["build", "--project-dir", str(project), "--profiles-dir", str(project), "--target", dbt_target()]
        result = dbtRunner().invoke([*args, "--vars", json.dumps({"as_of": _org_time(truth["now"])})])
        assert result.success, f"dbt build on PostgreSQL failed: {result.exception or result.result}"
        yield dsn, truth


def _rows(dsn: str, sql: str) -> set[tuple[str, str]]:
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(sql)
        return {(str(a), str(b)) for a, b in cur.fetchall()}


def test_dbt_build_passes_on_postgres_and_finds_the_planted_cases(built_pg: tuple[str, dict[str, Any]]) -> None:
    dsn, truth = built_pg
    due = _rows(dsn, "SELECT object_name, record_id FROM marts.retention_candidates")
    assert due == truth_keys(truth, "retention_due", heuristic=False)
    undisclosed = _rows(dsn, "SELECT object_name, entity_id FROM marts.finding_undisclosed_ai_communications")
    assert undisclosed == truth_keys(truth, "undisclosed_ai_communication", heuristic=False)
    packages = _rows(dsn, "SELECT object_name, entity_id FROM marts.finding_ai_capable_packages")
    assert packages == truth_keys(truth, "unapproved_ai_package", heuristic=False)
    for label, pointer in (("training_no_consent", ""), ("training_provenance_mismatch", "/declared_provenance")):
        training = _rows(
            dsn,
            "SELECT f.object_name, r.record_id FROM marts.finding_training_data_consent AS f "
            "JOIN staging.stg_training__manifest_records AS r "
            f"ON f.entity_id = r.manifest_entry_id || '{pointer}'",
        )
        assert training == truth_keys(truth, label, heuristic=False), label
    posture = _rows(
        dsn,
        "SELECT severity, status FROM marts.finding_training_lake_posture, marts.governance_summary "
        "WHERE control = 'training_lake_posture'",
    )
    assert posture == {("info", "not_applicable")}
