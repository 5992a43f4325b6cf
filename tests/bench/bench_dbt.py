"""dbt rebuild benchmark: the nightly incremental build after a 1% change against a full build, in one run.

The warehouse is made the way the nightly makes it, at about 1M Salesforce records: the sandbox org
is seeded at scale (the demo org's authentic background, about 940 records a unit, with its planted
cases), every configured object is extracted into a local lake (Bulk API 2.0 above the threshold)
and loaded, and the training zone is read. Then, per warehouse (DuckDB, and PostgreSQL where its
server is installed):

1. `dbt parse`, so both timed builds start from the same partial-parse state;
2. `dbt build` on the fresh warehouse, every model built whole: the full build (timed);
3. a 1% change made in the org through Bulk API 2.0 ingest jobs (records updated, inserted and
   soft-deleted across the content objects, some tagged AI-generated, some tasks given a text
   marker), extracted and loaded as one new run;
4. `dbt build`: the nightly rebuild (timed); the ratio nightly / full is the figure, target <= 0.25;
5. `dbt build` once more with nothing new: the floor, dbt's own cost for every node and test;
6. `dbt build --full-refresh` (timed), and every staging, intermediate and mart relation compared
   with what the nightly rebuild left (count and an order-free hash of every row);
7. models and seeds alone (no test at all): rebuilt whole, then with nothing new. Their ratio is the
   floor of any nightly over these models however incremental, and however few its tests.

Every build is the production command: data tests, no unit tests (`synthgov.settings.DBT_PRODUCTION_FLAGS`, which
the nightly's Cosmos tasks get; unit tests run in `make test`).
Timings are wall clock of in-process dbt (as Cosmos runs it), measured once; `--out` keeps the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgov.extract.config import ExtractionConfig, load_config
from synthgov.extract.run import extract_all, load_all
from synthgov.lake import LocalLake
from synthgov.policies import export_for_dbt, load_policies
from synthgov.salesforce.connection import Credentials, SalesforceConnection
from synthgov.settings import DBT_PRODUCTION_FLAGS, Settings
from synthgov.training.manifest import read_training_manifests
from synthgov.training.posture import read_training_lake_posture
from synthgov.training.zone import open_training_zone
from synthgov.warehouse import DuckDBWarehouse, PostgresWarehouse, Warehouse
from synthgov_sandbox.process import SandboxProcess
from tests.bench.bulk import ingest

REPO = Path(__file__).resolve().parents[2]
TARGET_RATIO = 0.25
RECORDS_PER_SCALE = 940  # the demo org's authentic background per unit of scale (synthgov_sandbox.demo.seed)
AS_OF = "2026-11-02T12:00:00+00:00"  # the demo org's clock, a few hours after seeding: every build judges alike
LAYERS = ("staging", "intermediate", "marts")
# The content objects the change touches, what an update changes, and a minimal new record.
CHANGES: dict[str, dict[str, Any]] = {
    "Lead": {"update": {"Title": "Head of Data"}, "insert": {"LastName": "Bench", "Company": "Nightly GmbH"}},
    "Contact": {"update": {"Title": "Head of Data"}, "insert": {"LastName": "Bench"}},
    "Account": {"update": {"BillingCity": "Leipzig"}, "insert": {"Name": "Nightly GmbH"}},
    "Opportunity": {
        "update": {"Name": "Renewal (nightly)"},
        "insert": {"Name": "Nightly deal", "StageName": "Prospecting", "CloseDate": "2027-03-31"},
    },
    "Task": {"update": {"Description": "Called back."}, "insert": {"Subject": "Follow up"}},
    "EmailMessage": {"update": {"Subject": "Re: our offer"}, "insert": {"Subject": "Our offer"}},
}
AI_TAGGED = {"AI_Generated__c": "true", "AI_Tool__c": "Copy.ai"}  # objects without the fields are not tagged
MARKER_TEXT = "Drafted by AI assistant - please review. Called back."
# Of the changed records: updated, inserted, soft-deleted; and one in this many changed records is AI-made.
MIX = {"update": 0.6, "insert": 0.25, "delete": 0.15}
AI_EVERY = 20
SQL_STATUS = re.compile(r"SQL status: .* in ([0-9.]+) seconds")


@dataclass
class Target:
    """One warehouse and the dbt target that builds it."""

    name: str
    warehouse: Warehouse
    env: dict[str, str]
    dsn: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if isinstance(self.warehouse, DuckDBWarehouse):
            import duckdb

            # Opened as dbt-duckdb opens it: this process holds the file through dbt once dbt ran.
            with duckdb.connect(str(self.warehouse.path)) as con:
                return con.execute(sql).fetchall()
        import psycopg2

        con = psycopg2.connect(self.dsn)
        try:
            with con, con.cursor() as cur:
                cur.execute(sql)
                return [tuple(row) for row in cur.fetchall()]
        finally:
            con.close()

    def row_hash(self, alias: str) -> str:
        """An order-free hash of a relation's rows, as a SQL aggregate over the row ``alias``."""
        if isinstance(self.warehouse, DuckDBWarehouse):
            return f"sum(hash({alias}))"
        return f"sum(('x' || substr(md5({alias}::text), 1, 15))::bit(60)::bigint)"


def _connect(org: SandboxProcess) -> SalesforceConnection:
    return SalesforceConnection(
        Credentials(
            instance_url=org.instance_url,
            client_id=org.ready["client_id"],
            client_secret=org.ready["client_secret"],
            ca_bundle=org.ca_bundle,
        )
    )


def extract_and_load(
    org: SandboxProcess, lake: LocalLake, config: ExtractionConfig, targets: list[Target]
) -> dict[str, Any]:
    """One nightly extraction run, loaded into every target warehouse; returns rows per object and timings."""
    t0 = time.perf_counter()
    settings = Settings(home=lake.root.parent, window_lag_seconds=0, bulk_poll_seconds=0.2)
    report = extract_all(_connect(org), lake, config, settings, report=lambda line: None)
    zone = open_training_zone(lake, None)
    findings = list(report.media.manifests if report.media else [])
    findings += read_training_manifests(lake, zone, run_id=report.run_id, report=lambda line: None).manifests
    findings += read_training_lake_posture(lake, zone, run_id=report.run_id).manifests
    extracted = time.perf_counter() - t0
    out: dict[str, Any] = {"run_id": report.run_id, "extract_seconds": round(extracted, 1)}
    for target in targets:
        t1 = time.perf_counter()
        loads = load_all(lake, target.warehouse, [spec.name for spec in config.objects], findings)
        out[f"{target.name}_load_seconds"] = round(time.perf_counter() - t1, 1)
        out["rows"] = {r.object: r.rows for r in loads if r.rows}
    return out


def dbt(project: Path, target: Target, *args: str) -> dict[str, Any]:
    """Run dbt in-process; returns wall seconds, the seconds its nodes took by kind, the seconds the
    database spent in its statements (from dbt's debug log) and the slowest nodes."""
    from dbt.cli.main import dbtRunner

    argv = [*args, "--quiet", "--project-dir", str(project), "--profiles-dir", str(project), "--target", target.name]
    log = project / "logs" / "dbt.log"
    log_start = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    with _production_env():
        result = dbtRunner().invoke([*argv, "--vars", json.dumps({"as_of": AS_OF})])
    wall = time.perf_counter() - started
    with log.open("rb") as f:
        f.seek(log_start)
        sql_seconds = sum(float(m) for m in SQL_STATUS.findall(f.read().decode(errors="replace")))
    if not result.success:
        failed = [
            f"{r.node.name}: {r.message}"
            for r in getattr(result.result, "results", [])
            if str(r.status) not in ("pass", "success")
        ]
        raise RuntimeError(f"dbt {' '.join(args)} on {target.name} failed: {result.exception or failed[:5]}")
    nodes = list(getattr(result.result, "results", []))
    by_kind: dict[str, float] = {}
    for node in nodes:
        kind = str(node.node.resource_type)
        by_kind[kind] = by_kind.get(kind, 0.0) + float(node.execution_time)
    slowest = sorted(nodes, key=lambda node: -float(node.execution_time))[:8]
    return {
        "seconds": round(wall, 2),
        "sql_seconds": round(sql_seconds, 2),
        "node_seconds": {k: round(v, 2) for k, v in sorted(by_kind.items())},
        "slowest": {node.node.name: round(float(node.execution_time), 2) for node in slowest},
    }


@contextmanager
def _production_env() -> Iterator[None]:
    """dbt's flags from the environment the nightly's Cosmos tasks have (no unit tests)."""
    flags = DBT_PRODUCTION_FLAGS
    saved = {name: os.environ.get(name) for name in flags}
    os.environ.update(flags)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def fingerprint(target: Target) -> dict[str, tuple[int, str]]:
    """Rows and an order-free hash of every relation the project builds."""
    relations = target.query(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({', '.join(repr(layer) for layer in LAYERS)}) order by 1, 2"
    )
    out = {}
    for schema, table in relations:
        ((count, digest),) = target.query(f'select count(*), {target.row_hash("t")} from "{schema}"."{table}" as t')
        out[f"{schema}.{table}"] = (int(count), str(digest))
    return out


def change_the_org(org: SandboxProcess, target: Target, fraction: float) -> dict[str, dict[str, int]]:
    """Update, insert and soft-delete about `fraction` of the content records, as the org's users would."""
    from synthgov_sandbox.engine.schema import catalogue

    live = {
        obj: target.query(
            f'select count(*) from raw_salesforce."{obj.lower()}" where not coalesce("IsDeleted", false)'
        )[0][0]
        for obj in CHANGES
    }
    done: dict[str, dict[str, int]] = {}
    for obj, spec in CHANGES.items():
        total = math.ceil(live[obj] * fraction)
        counts = {kind: round(total * share) for kind, share in MIX.items()}
        # Distinct live records, spread over the object, the same ones every run (md5 order).
        ids = [
            str(row[0])
            for row in target.query(
                f'select "Id" from raw_salesforce."{obj.lower()}" where not coalesce("IsDeleted", false) '
                f"""order by md5("Id" || 'bench') limit {counts["update"] + counts["delete"]}"""
            )
        ]
        taggable = catalogue()[obj.lower()].field("AI_Generated__c") is not None
        updates, inserts = [], []
        for i, record_id in enumerate(ids[: counts["update"]]):
            row = {"Id": record_id, **spec["update"]}
            if taggable and i % AI_EVERY == 0:
                row |= AI_TAGGED
            if obj == "Task" and i % AI_EVERY == 1:
                row["Description"] = MARKER_TEXT
            updates.append(row)
        for i in range(counts["insert"]):
            inserts.append({**spec["insert"], **(AI_TAGGED if taggable and i % AI_EVERY == 0 else {})})
        deletes = [{"Id": record_id} for record_id in ids[counts["update"] :]]
        done[obj] = {
            "updated": ingest(org, obj, "update", updates)[0],
            "inserted": ingest(org, obj, "insert", inserts)[0],
            "soft_deleted": ingest(org, obj, "delete", deletes)[0],
        }
    return done


@contextmanager
def postgres_database() -> Iterator[tuple[dict[str, str], str] | None]:
    """A throwaway PostgreSQL cluster (tests/postgres.py) with an empty database, or None without a server."""
    from tests.postgres import find_bindir, postgres_cluster

    if find_bindir() is None:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="synthgov-bench-pg-"))
    try:
        with postgres_cluster(directory) as info:
            env = {
                "SYNTHGOV_PG_HOST": info.host,
                "SYNTHGOV_PG_PORT": str(info.port),
                "SYNTHGOV_PG_USER": info.user,
                "SYNTHGOV_PG_PASSWORD": "",
                "SYNTHGOV_PG_DATABASE": info.database,
            }
            yield env, info.dsn
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def copy_project(root: Path, config: ExtractionConfig) -> Path:
    """The dbt project copied (as the tests copy it) with the policies exported into it."""
    from tests.integration.test_dbt_duckdb import _copy_project

    root.mkdir(parents=True)
    project = _copy_project(root)
    export_for_dbt(load_policies(known_objects={spec.name for spec in config.objects}), project)
    return project


def run(records: int, fraction: float, names: list[str]) -> dict[str, Any]:
    scale = max(1, round(records / RECORDS_PER_SCALE))
    result: dict[str, Any] = {"target_ratio": TARGET_RATIO, "scale": scale, "change_fraction": fraction}
    with tempfile.TemporaryDirectory(prefix="synthgov-bench-dbt-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        targets = []
        if "duckdb" in names:
            path = root / "w.duckdb"
            targets.append(Target("duckdb", DuckDBWarehouse(path), {"SYNTHGOV_DUCKDB_PATH": str(path)}))
        if "postgres" in names:
            pg = stack.enter_context(postgres_database())
            if pg is None:
                print("  postgres: skipped (no PostgreSQL server installed: apt-get install postgresql)", flush=True)
            else:
                targets.append(Target("postgres", PostgresWarehouse(pg[1]), pg[0], pg[1]))
        if not targets:
            raise SystemExit("no warehouse to build: --targets names duckdb and/or postgres")
        print(f"  seeding the demo org at scale {scale} (about {scale * RECORDS_PER_SCALE:,} records) ...", flush=True)
        t0 = time.perf_counter()
        org = stack.enter_context(SandboxProcess(root / "org", scale=scale, start_timeout=1800))
        result["seed_seconds"] = round(time.perf_counter() - t0, 1)
        os.environ["REQUESTS_CA_BUNDLE"] = org.ca_bundle
        os.environ.pop("SYNTHGOV_TRAINING_LAKE_URL", None)
        config = load_config()
        lake = LocalLake(root / "lake")
        print("  extracting and loading the first run ...", flush=True)
        result["first_run"] = extract_and_load(org, lake, config, targets)
        objects = {spec.name for spec in config.objects}
        result["records"] = sum(n for obj, n in result["first_run"]["rows"].items() if obj in objects)
        projects = {t.name: copy_project(root / t.name, config) for t in targets}
        for target in targets:
            os.environ.update(target.env)
            print(f"  {target.name}: full build ...", flush=True)
            dbt(projects[target.name], target, "parse")
            target.figures["full"] = dbt(projects[target.name], target, "build")
            target.figures["live_records"] = sum(
                int(target.query(f"select count(*) from staging.{model}")[0][0])
                for model in (
                    "stg_salesforce__leads",
                    "stg_salesforce__contacts",
                    "stg_salesforce__accounts",
                    "stg_salesforce__opportunities",
                    "stg_salesforce__tasks",
                    "stg_salesforce__email_messages",
                    "stg_salesforce__content_versions",
                )
            )
        print(f"  changing {fraction:.0%} of the content records through Bulk API 2.0 ...", flush=True)
        org.control("POST", "clock", {"advance_days": 0.01})
        t1 = time.perf_counter()
        result["change"] = change_the_org(org, targets[0], fraction)
        result["change_seconds"] = round(time.perf_counter() - t1, 1)
        org.control("POST", "clock", {"advance_days": 0.01})
        result["second_run"] = extract_and_load(org, lake, config, targets)
        for target in targets:
            os.environ.update(target.env)
            print(f"  {target.name}: nightly build, no-change build, full refresh ...", flush=True)
            project = projects[target.name]
            target.figures["incremental"] = dbt(project, target, "build")
            after_nightly = fingerprint(target)
            target.figures["no_change"] = dbt(project, target, "build")
            target.figures["full_refresh"] = dbt(project, target, "build", "--full-refresh")
            after_full = fingerprint(target)
            models_only = ("--resource-type", "model", "seed")
            target.figures["full_refresh_models"] = dbt(project, target, "build", "--full-refresh", *models_only)
            target.figures["no_change_models"] = dbt(project, target, "build", *models_only)
            target.figures["differ"] = sorted(k for k in after_full if after_nightly.get(k) != after_full[k])
            full, nightly = target.figures["full"], target.figures["incremental"]
            target.figures["ratio"] = round(nightly["seconds"] / full["seconds"], 3)
            # What no incremental design can go below: a build with nothing new, with and without tests.
            target.figures["floor_ratio"] = round(target.figures["no_change"]["seconds"] / full["seconds"], 3)
            target.figures["models_floor_ratio"] = round(
                target.figures["no_change_models"]["seconds"] / target.figures["full_refresh_models"]["seconds"], 3
            )
            # The same ratio over the time the database spent in dbt's statements alone.
            target.figures["database_ratio"] = round(nightly["sql_seconds"] / max(full["sql_seconds"], 1e-9), 3)
            result[target.name] = target.figures
    return result


def report(result: dict[str, Any]) -> bool:
    changed = {
        kind: sum(c[kind] for c in result["change"].values()) for kind in ("updated", "inserted", "soft_deleted")
    }
    print(
        f"\n{result['records']:,} Salesforce records loaded (demo org at scale {result['scale']}, extracted and loaded "
        f"as the nightly does); change: {sum(changed.values()):,} records ({changed['updated']:,} updated, "
        f"{changed['inserted']:,} inserted, {changed['soft_deleted']:,} soft-deleted) in one new run"
    )
    passed = True
    for name in ("duckdb", "postgres"):
        figures = result.get(name)
        if not figures:
            continue
        ok = figures["ratio"] <= TARGET_RATIO
        passed = passed and ok and not figures["differ"]
        print(
            f"{name:9} full build {figures['full']['seconds']:7.2f} s   nightly (incremental) "
            f"{figures['incremental']['seconds']:7.2f} s   ratio {figures['ratio']:.3f} (target <= {TARGET_RATIO}): "
            f"{'PASS' if ok else 'FAIL'}"
        )
        print(
            f"{'':9} database time alone: full {figures['full']['sql_seconds']:.2f} s, nightly "
            f"{figures['incremental']['sql_seconds']:.2f} s, ratio {figures['database_ratio']:.3f}"
        )
        print(
            f"{'':9} no-change build {figures['no_change']['seconds']:.2f} s (the floor: dbt's own cost per node "
            f"and test) = {figures['floor_ratio']:.3f} of the full build; models and seeds alone, no test: "
            f"{figures['no_change_models']['seconds']:.2f} s with nothing new against "
            f"{figures['full_refresh_models']['seconds']:.2f} s rebuilt whole = {figures['models_floor_ratio']:.3f}"
        )
        print(
            f"{'':9} full refresh {figures['full_refresh']['seconds']:.2f} s; nightly equals full refresh: "
            f"{'yes' if not figures['differ'] else 'NO ' + ', '.join(figures['differ'])}"
        )
        for build in ("full", "incremental", "no_change"):
            b = figures[build]
            print(
                f"{'':9} {build}: database {b['sql_seconds']:.2f} s, nodes {b['node_seconds']}, "
                f"slowest {dict(list(b['slowest'].items())[:4])}"
            )
    return passed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench dbt", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="Salesforce records to build from")
    parser.add_argument("--change", type=float, default=0.01, help="fraction of content records the night changes")
    parser.add_argument("--targets", default="duckdb,postgres", help="duckdb, postgres or both (comma-separated)")
    parser.add_argument("--out", type=Path, default=Path(".synthgov/bench/dbt.json"))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    print(f"dbt rebuild benchmark ({args.records:,} records, {args.change:.0%} change, {', '.join(names)})", flush=True)
    result = run(args.records, args.change, names)
    result["passed"] = report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0
