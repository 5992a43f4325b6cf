"""Incremental dbt: a nightly build after a change equals a --full-refresh build, and purged records leave.

The demo org is extracted and loaded as the nightly does, built, changed (soft deletes, an edit, a
legal hold, a new AI-generated lead, a text marker pasted into a task) and extracted and loaded
again; the policy gains a text marker that unchanged e-mails hold; then it is built incrementally.
Every staging, intermediate and mart relation must then hold exactly what a --full-refresh build of
the same warehouse holds: the changed records are read again, and the policy change reaches the
unchanged ones. A record listed in
raw_salesforce._sg_purged must leave staging, the incremental tables and the marts on the next
incremental build, though its raw versions are still there. `dbt source freshness` passes on the
loaded warehouse. All of it on DuckDB, and on PostgreSQL where the server is installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgov.extract.config import ExtractionConfig, load_config
from synthgov.extract.run import extract_all, load_all
from synthgov.lake import LocalLake
from synthgov.policies import export_for_dbt, load_policies
from synthgov.settings import Settings
from synthgov.training.manifest import read_training_manifests
from synthgov.training.posture import read_training_lake_posture
from synthgov.training.zone import open_training_zone
from synthgov.warehouse import DuckDBWarehouse, PostgresWarehouse, Warehouse
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_dbt_duckdb import _change_the_org, _copy_project, _org_time, connect
from tests.postgres import PostgresInfo, admin

pytestmark = pytest.mark.integration

LAYERS = ("staging", "intermediate", "marts")
# Append-only by design: every build adds its own rows (the Governance page's trend), so two builds of the
# same data differ there and nowhere else; its own test is tests/integration/test_governance_app.py.
BUILD_HISTORY = ("marts", "governance_summary_history")
MARKER = "Drafted by AI assistant - please review"
# A phrase of the demo org's authentic e-mails (synthgov_sandbox.demo.seed.TRAPS), made a marker after the first build.
NEW_MARKER = "your ai roadmap"

Snapshot = dict[str, list[tuple[Any, ...]]]
# Staging views that list ids, never content, for the union's pre-hook: every raw version's id and load time,
# and the purge list. A record that left the org is still named there; test_bookkeeping_views_hold_no_content
# keeps them to these columns.
BOOKKEEPING = {
    "staging.stg_salesforce__record_loads": ["loaded_at", "object_name", "record_id"],
    "staging.stg_salesforce__purged_records": ["object_name", "purge_run_id", "purged_at", "record_id"],
}


@dataclass(frozen=True)
class Backend:
    """One warehouse and the dbt target over it."""

    target: str
    warehouse: Warehouse
    env: dict[str, str]
    dsn: str = ""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement, committed; ``?`` placeholders on both databases."""
        if isinstance(self.warehouse, DuckDBWarehouse):
            # Opened exactly as dbt-duckdb opens it: this process still holds the file through dbt.
            with duckdb.connect(str(self.warehouse.path)) as con:
                return con.execute(sql, list(params)).fetchall()
        import psycopg2

        con = psycopg2.connect(self.dsn)
        try:
            with con, con.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), list(params) or None)
                return [tuple(row) for row in cur.fetchall()] if cur.description else []
        finally:
            con.close()


@dataclass(frozen=True)
class Nightly:
    backend: Backend
    project: Path
    vars: str
    truth: dict[str, Any]
    new_lead: str
    marked_task: str
    incremental: Snapshot
    org: SandboxProcess
    lake: LocalLake
    config: ExtractionConfig

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.backend.query(sql, params)

    def dbt(self, *args: str) -> Any:
        return run_dbt(self.project, self.backend.target, *args)

    def build(self, *args: str) -> Any:
        return self.dbt("build", "--vars", self.vars, *args)

    def snapshot(self) -> Snapshot:
        """Every relation the project builds, as sorted rows of its columns in name order."""
        relations = self.query(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in LAYERS)}) order by 1, 2",
            *LAYERS,
        )
        out: Snapshot = {}
        for schema, table in relations:
            if (schema, table) == BUILD_HISTORY:
                continue
            columns = self.query(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by column_name",
                schema,
                table,
            )
            select = ", ".join(f'"{c}"' for (c,) in columns)
            out[f"{schema}.{table}"] = sorted(self.query(f'select {select} from "{schema}"."{table}"'), key=repr)
        return out


def run_dbt(project: Path, target: str, *args: str, check: bool = True) -> Any:
    """dbt in-process on the project copy; with `check`, fails the test naming the nodes that failed."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--target", target]
    )
    if check and not result.success:
        failed = [
            f"{r.node.name}: {r.status} {r.message}"
            for r in getattr(result.result, "results", [])
            if str(r.status) not in ("pass", "success")
        ]
        pytest.fail(f"dbt {' '.join(args)} failed: {result.exception or failed}")
    return result


def nightly_load(org: SandboxProcess, lake: LocalLake, warehouse: Warehouse, config: ExtractionConfig) -> None:
    """What the nightly DAG does before dbt: extract, inspect media, read the training zone, load."""
    report = extract_all(connect(org), lake, config, Settings(home=lake.root.parent, window_lag_seconds=0))
    zone = open_training_zone(lake, None)
    findings = list(report.media.manifests if report.media else [])
    findings += read_training_manifests(lake, zone, run_id=report.run_id, report=lambda line: None).manifests
    findings += read_training_lake_posture(lake, zone, run_id=report.run_id).manifests
    load_all(lake, warehouse, [spec.name for spec in config.objects], findings)


def assert_same(incremental: Snapshot, full: Snapshot) -> None:
    assert incremental.keys() == full.keys()
    differ = {name: (len(incremental[name]), len(full[name])) for name in full if incremental[name] != full[name]}
    assert not differ, f"incremental and --full-refresh builds differ (rows incremental, full): {differ}"


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "duckdb":
        path = tmp_path_factory.mktemp("dbt-incremental-duckdb") / "w.duckdb"
        yield Backend("duckdb", DuckDBWarehouse(path), {"SYNTHGOV_DUCKDB_PATH": str(path)})
        return
    postgres: PostgresInfo = request.getfixturevalue("postgres")  # skips where no server is installed
    database = "synthgov_incremental"
    admin(postgres, f"DROP DATABASE IF EXISTS {database}")
    admin(postgres, f"CREATE DATABASE {database}")
    env = {
        "SYNTHGOV_PG_HOST": postgres.host,
        "SYNTHGOV_PG_PORT": str(postgres.port),
        "SYNTHGOV_PG_USER": postgres.user,
        "SYNTHGOV_PG_PASSWORD": "",
        "SYNTHGOV_PG_DATABASE": database,
    }
    dsn = postgres.dsn_for(database)
    yield Backend("postgres", PostgresWarehouse(dsn), env, dsn)


@pytest.fixture(scope="module")
def nightly(backend: Backend, demo_org: SandboxProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nightly]:
    tmp = tmp_path_factory.mktemp(f"dbt-incremental-{backend.target}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
        mp.delenv("SYNTHGOV_TRAINING_LAKE_URL", raising=False)
        for name, value in backend.env.items():
            mp.setenv(name, value)
        demo_org.control("DELETE", "faults")
        demo_org.control("POST", "seed", {"profile": "demo", "scale": 1, "seed": 42})
        demo_org.token(fresh=True)  # a reseed ends every session

        config = load_config()
        lake = LocalLake(tmp / "lake")
        nightly_load(demo_org, lake, backend.warehouse, config)
        project = _copy_project(tmp)
        export_for_dbt(load_policies(known_objects={spec.name for spec in config.objects}), project)
        # One as-of for every build: retention due dates and finding times must not move between them.
        build_vars = json.dumps({"as_of": _org_time(demo_org.control("GET", "ground-truth")["now"])})
        run_dbt(project, backend.target, "build", "--vars", build_vars)

        _change_the_org(demo_org)
        new_lead = demo_org.rest(
            "POST",
            "sobjects/Lead",
            json={"LastName": "Nightly", "Company": "Incremental AG", "AI_Generated__c": True, "AI_Tool__c": "Copy.ai"},
        )["id"]
        task = demo_org.rest("GET", "query", params={"q": "SELECT Id FROM Task WHERE AI_Generated__c = false LIMIT 1"})
        marked_task = task["records"][0]["Id"]
        demo_org.rest("PATCH", f"sobjects/Task/{marked_task}", json={"Description": f"{MARKER}. Call went well."})
        demo_org.control("POST", "clock", {"advance_days": 0.01})
        nightly_load(demo_org, lake, backend.warehouse, config)
        truth = demo_org.control("GET", "ground-truth")
        markers = project / "seeds" / "policy" / "policy_text_markers.csv"
        ending = "\r\n" if b"\r\n" in markers.read_bytes() else "\n"  # as the export wrote it
        with markers.open("a", newline="") as f:
            f.write(NEW_MARKER + ending)

        run = Nightly(backend, project, build_vars, truth, new_lead, marked_task, {}, demo_org, lake, config)
        run.build()
        yield Nightly(
            backend, project, build_vars, truth, new_lead, marked_task, run.snapshot(), demo_org, lake, config
        )


def test_incremental_build_equals_a_full_refresh(nightly: Nightly) -> None:
    # The nightly read the second load incrementally: the changes are in, the deleted records out.
    assert nightly.query("select evidence from marts.provenance_ledger where record_id = ?", nightly.new_lead) == [
        ("explicit_field",)
    ]
    marked = "select matched_marker from intermediate.int_content_records_unioned where record_id = ?"
    assert nightly.query(marked, nightly.marked_task) == [("drafted by ai assistant",)]
    # The new marker reached e-mails that did not change since the first build.
    unchanged = "select count(*) from intermediate.int_content_records_unioned where matched_marker = ?"
    assert nightly.query(unchanged, NEW_MARKER) != [(0,)]
    nightly.build("--full-refresh")
    assert_same(nightly.incremental, nightly.snapshot())


def test_a_purged_record_leaves_staging_and_marts_on_the_next_build(nightly: Nightly) -> None:
    email = next(
        str(c["id"])
        for c in nightly.truth["cases"]
        if c["object"] == "EmailMessage" and "undisclosed_ai_communication" in c["evidence"]
    )
    # A file goes whole: Salesforce deletes a ContentDocument with its versions (and their C2PA findings).
    version, document = nightly.query(
        "select media.content_version_id, versions.content_document_id "
        "from staging.stg_salesforce__content_version_media as media "
        "join staging.stg_salesforce__content_versions as versions "
        "on media.content_version_id = versions.content_version_id "
        "order by 1 limit 1"
    )[0]
    purged = {"EmailMessage": email, "Lead": nightly.new_lead, "ContentVersion": version, "ContentDocument": document}
    for sql in (
        "select count(*) from marts.provenance_ledger where record_id = ?",
        "select count(*) from marts.finding_undisclosed_ai_communications where entity_id = ?",
    ):
        assert nightly.query(sql, email) == [(1,)], sql
    now = datetime.now(UTC).replace(tzinfo=None)
    for obj, record_id in purged.items():
        nightly.query(
            "insert into raw_salesforce._sg_purged values (?, ?, ?, ?)", obj, record_id, now, "20261102T100000Z-purge"
        )

    nightly.build()

    after = nightly.snapshot()
    for record_id in purged.values():
        # Its raw versions are still there (the retention run may remove them too): the list alone suffices.
        holding = [
            name
            for name, rows in after.items()
            if name not in BOOKKEEPING
            and any(record_id == value for row in rows for value in row if isinstance(value, str))
        ]
        assert not holding, f"purged {record_id} is still in {holding}"
    nightly.build("--full-refresh")
    assert_same(after, nightly.snapshot())


def test_a_record_deleted_in_the_org_leaves_on_a_nightly_with_the_same_policy(nightly: Nightly) -> None:
    """No fingerprint changes here, so the tables are not rebuilt: the pre-hooks must take the record out."""
    ((task,),) = nightly.query(
        "select record_id from marts.provenance_ledger where object_name = 'Task' and not is_heuristic "
        "order by record_id limit 1"
    )
    nightly.org.rest("DELETE", f"sobjects/Task/{task}")
    nightly.org.control("POST", "clock", {"advance_days": 0.01})
    nightly_load(nightly.org, nightly.lake, nightly.backend.warehouse, nightly.config)
    assert nightly.query('select count(*) from raw_salesforce.task where "Id" = ? and "IsDeleted"', task) == [(1,)]

    nightly.build()

    after = nightly.snapshot()
    holding = [name for name, rows in after.items() if name not in BOOKKEEPING and any(task in row for row in rows)]
    assert not holding, f"deleted {task} is still in {holding}"
    nightly.build("--full-refresh")
    assert_same(after, nightly.snapshot())


def test_bookkeeping_views_hold_no_content(nightly: Nightly) -> None:
    """The two id lists the purge and deletion tests pass over hold ids and times only."""
    for name, expected in BOOKKEEPING.items():
        schema, table = name.split(".")
        columns = nightly.query(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by column_name",
            schema,
            table,
        )
        assert [c for (c,) in columns] == expected, name


def test_incremental_tables_are_indexed_on_their_key_on_postgres(nightly: Nightly) -> None:
    """By key (delete+insert, pre-hooks) and loaded_at (watermarks); DuckDB gets none (incremental_indexes)."""
    if nightly.backend.target != "postgres":
        assert nightly.query("select count(*) from duckdb_indexes() where schema_name = 'staging'") == [(0,)]
        return
    indexed = {
        (table, definition.split(" USING btree ")[1])
        for table, definition in nightly.query(
            "select tablename, indexdef from pg_indexes where schemaname in ('staging', 'intermediate')"
        )
    }
    assert ("stg_salesforce__leads", "(lead_id)") in indexed
    assert ("int_content_records_unioned", "(object_name, record_id)") in indexed
    assert ("stg_salesforce__leads", "(loaded_at)") in indexed
    assert len(indexed) == 24, sorted(indexed)


def test_source_freshness_passes_on_the_loaded_warehouse(nightly: Nightly) -> None:
    result = nightly.dbt("source", "freshness")
    statuses = {f"{r.node.source_name}.{r.node.name}": str(r.status) for r in result.result.results}
    assert set(statuses.values()) == {"pass"}, statuses
    assert "salesforce.lead" in statuses and "salesforce._sg_purged" not in statuses  # purges are rare: no age
    # The training zone's snapshots are judged by the loader's ledger, read or not, rows or not.
    assert {"synthgov.training_manifests", "synthgov.training_manifest_records", "salesforce._sg_loads"} <= set(
        statuses
    )


def test_source_freshness_of_training_snapshots_reads_the_ledger(nightly: Nightly) -> None:
    """A snapshot table is as fresh as the last read the loader recorded, even when it added no rows."""
    posture = "object = 'Training_Lake_Posture'"
    reads = nightly.query(f"select run_id, loaded_at from raw_salesforce._sg_loads where {posture}")
    assert reads, "the nightly read the training zone's posture"
    nightly.query(
        f"update raw_salesforce._sg_loads set loaded_at = cast('2026-01-01 00:00:00' as timestamp) where {posture}"
    )
    try:
        result = run_dbt(
            nightly.project, nightly.backend.target, "source", "freshness", "--select", "source:synthgov", check=False
        )
        statuses = {str(r.node.name): str(r.status) for r in result.result.results}
        assert statuses["training_lake_posture"] == "error", statuses
        assert statuses["training_manifests"] == "pass", statuses
    finally:
        for run_id, loaded_at in reads:
            nightly.query(
                f"update raw_salesforce._sg_loads set loaded_at = ? where {posture} and run_id = ?", loaded_at, run_id
            )
