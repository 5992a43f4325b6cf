"""`make demo`: the main job end to end on the embedded defaults.

It starts the sandbox org (HTTPS on loopback, demo data), points the Airflow connection
`salesforce_default` at it, runs the nightly DAG with `dag.test()` (extract every configured
object into the local lake, inspect the media, load the warehouse) and prints what happened and where
to look. State lives under SYNTHGOV_HOME (default ./.synthgov): a second run is incremental.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgov import settings

if TYPE_CHECKING:
    from synthgov.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]


def _prepare_environment(home: Path) -> None:
    """Airflow reads its configuration at import time, so this runs before airflow is imported."""
    os.environ.setdefault("AIRFLOW_HOME", str(home / "airflow"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
    # The demo stays on this machine: no usage telemetry from Cosmos's dbt tasks.
    os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault(settings.LAKE_URL.name, str(home / "lake"))
    os.environ.setdefault(settings.DUCKDB_PATH.name, str(home / "warehouse.duckdb"))
    # OpenLineage: the file transport under SYNTHGOV_HOME (and HTTP when OPENLINEAGE_URL is set).
    from synthgov_airflow.lineage import configure_openlineage_env

    configure_openlineage_env(home)


def main(argv: list[str] | None = None) -> int:
    home = settings.home()
    _prepare_environment(home)

    from synthgov.cli import print_demo_summary
    from synthgov_sandbox.process import SandboxProcess

    print(f"Starting the sandbox org (state in {home / 'sandbox'}) ...", flush=True)
    with SandboxProcess(home / "sandbox") as org:
        stats = org.control("GET", "stats")
        truth = org.control("GET", "ground-truth")
        print_demo_summary(org.ready, stats, truth, len(org.rest("GET", "sobjects")["sobjects"]))
        os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = org.airflow_connection()
        _put_training_manifests(org.control("GET", "training-manifests")["manifests"])
        state = _run_nightly()
        from synthgov_airflow.lineage import wait_for_openlineage

        wait_for_openlineage()  # the DAG run's last events are sent asynchronously
        calls = org.control("GET", "stats")["api_usage"]
        if state != "success":
            print(f"\nThe nightly DAG run ended {state}; see the task logs above.", file=sys.stderr)
            return 1
        # What the nightly run left in the lake and the warehouse, before the purge removes what is due.
        _print_run_summary(home, calls)
        purge_receipt = _run_scheduled_purge()
    print(f"\n{purge_receipt}")
    print(
        "  check the evidence ledger:  .venv/bin/synthgov evidence verify\n"
        "  ad-hoc purges (dry run by default) and approvals: `make airflow`, DAG synthgov_retention"
    )
    _print_evidence_pack(home)
    return 0


def _print_evidence_pack(home: Path) -> None:
    """A fresh regulator pack: the nightly's own pack was written before the purge above."""
    from synthgov.lineage import event_log_path
    from synthgov.report import build_report

    pack = build_report()
    print(f"\nRegulator evidence pack (opens offline): {pack.index}")
    print(pack.summary())
    print(f"  the latest pack is always at {home / 'report' / 'latest' / 'index.html'}")
    print(f"  check its files: (cd {pack.folder} && sha256sum -c SHA256SUMS)")
    print(f"\nOpenLineage event log: {event_log_path()}")
    print(
        "  to browse the lineage in Marquez: start include/marquez/docker-compose.yml, then run with "
        "OPENLINEAGE_URL=http://localhost:5000 (README, 'Browse the lineage in Marquez')"
    )


def _run_scheduled_purge() -> str:
    """The retention run the nightly's asset schedules, here in-process: plan, apply, purge, verify, evidence."""
    from synthgov.lake import open_lake
    from synthgov.policies import load_policies
    from synthgov.retention.run import run_scheduled
    from synthgov.warehouse import open_warehouse
    from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

    print("\nRunning the scheduled retention purge (synthgov_retention's steps) ...", flush=True)
    policies = load_policies()
    run = run_scheduled(
        SynthgovSalesforceHook().get_conn(), open_lake(), open_warehouse(), policies.retention, policies.mapping
    )
    return run.receipt


def _put_training_manifests(manifests: list[dict[str, Any]]) -> None:
    """The demo org's training-data manifests, where the nightly reads them: the lake's training zone."""
    from synthgov.lake import open_lake
    from synthgov.training.zone import open_training_zone

    zone = open_training_zone(open_lake())
    for manifest in manifests:
        zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"], indent=2).encode())
    print(f"Put {len(manifests)} training-data manifests in the training zone {zone.uri}", flush=True)


def _run_nightly() -> str:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    print("\nPreparing the Airflow metadata DB ...", flush=True)
    db.upgradedb()
    bag = DagBag(dag_folder=REPO / "dags")
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"{path}: {error}", file=sys.stderr)
        return "import_error"
    dag = bag.get_dag("synthgov_nightly")
    assert dag is not None
    print("Running the nightly DAG with dag.test() ...", flush=True)
    run = dag.test()
    return str(run.state) if run is not None else "unknown"


def _print_run_summary(home: Path, calls: dict[str, Any]) -> None:
    import pyarrow.parquet as pq

    from synthgov import lake as lakes
    from synthgov.extract.config import load_config
    from synthgov.extract.media import FINDINGS_OBJECT
    from synthgov.warehouse import RAW_SCHEMA, open_warehouse, row_count, table_name

    lake = lakes.open_lake()
    print("\nNightly run (this run's extraction per object):")
    print(f"{'object':<28}{'mode':<13}{'api':<7}{'rows':>9}{'deleted':>9}{'files':>7}{'calls':>7}")
    for spec in load_config().objects:
        manifests = [k for k in lake.list(lakes.object_prefix(spec.name)) if k.endswith(lakes.MANIFEST_NAME)]
        if not manifests:
            print(f"{spec.name:<28}(not extracted)")
            continue
        m = json.loads(lake.get_bytes(sorted(manifests, key=lakes.run_id_from_key)[-1]))  # type: ignore[arg-type]
        print(
            f"{spec.name:<28}{m['mode']:<13}{m['api']:<7}{m['rows']:>9}{m['rows_deleted']:>9}"
            f"{len(m['files']):>7}{m['api_calls']:>7}"
        )
    findings = [k for k in lake.list(lakes.FILES_PREFIX) if k.endswith(lakes.FINDINGS_NAME)]
    rows: list[dict[str, Any]] = []
    for key in findings:
        with lake.open_read(key) as handle:
            rows += pq.read_table(handle).to_pylist()
    if rows:
        classes: dict[str, int] = {}
        for r in rows:
            label = r.get("provenance_class") or ("no manifest" if r["status"] == "no_manifest" else r["status"])
            classes[str(label)] = classes.get(str(label), 0) + 1
        print(
            f"\nC2PA inspection: {len(rows)} media files, {sum(bool(r['has_manifest']) for r in rows)} with a manifest,"
            f" {sum(bool(r['ai_generated']) for r in rows)} AI-generated"
        )
        for label, n in sorted(classes.items()):
            print(f"  {label:<40}{n:>5}")
    print(f"\nAPI calls the org counted (rolling 24 h): {calls['used']} of {calls['max']}")
    # Read-write on DuckDB (as every warehouse opens): dbt-duckdb keeps its read-write handle open in this
    # process after an in-process build, and DuckDB refuses a second handle to one file with a different mode.
    with open_warehouse() as warehouse:
        tables = warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_salesforce' "
            "AND table_name NOT LIKE '\\_sg%' ESCAPE '\\' ORDER BY 1"
        )
        print(f"\nWarehouse {warehouse.description} (schema {RAW_SCHEMA}): {len(tables)} tables")
        for obj in [s.name for s in load_config().objects] + [FINDINGS_OBJECT]:
            print(f"  {table_name(obj):<45}{row_count(warehouse, obj):>9} rows")
        _print_governance_summary(warehouse)
    print("\nWhere to look:")
    print(f"  lake        {lake.url}  (raw/salesforce/<Object>/run_date=.../run_id=.../, state/watermarks/)")
    print(f"  warehouse   {warehouse.description}")
    print(f"  airflow     {os.environ['AIRFLOW_HOME']}  (make airflow serves the UI on these DAGs)")
    print(f"  sandbox     {home / 'sandbox'}  (make sandbox serves the org again)")


def _print_governance_summary(warehouse: Warehouse) -> None:
    from synthgov.report.status import status_text

    columns = ["control", "regulation", "status", "findings", "high_findings", "medium_findings", "low_findings"]
    if not warehouse.has_table("marts", "governance_summary"):
        print("\nGovernance summary: not built (the dbt step did not run)")
        return
    rows = warehouse.query(
        f"SELECT {', '.join(columns)}, insufficient_data_reason FROM marts.governance_summary ORDER BY control"
    )
    print("\nGovernance summary (marts.governance_summary):")
    print(f"  {'control':<36}{'regulation':<50}{'status':<18}{'findings':>9}{'high':>6}{'medium':>8}{'low':>5}")
    for control, regulation, status, findings, high, medium, low, reason in rows:
        print(f"  {control:<36}{regulation:<50}{status:<18}{findings:>9}{high:>6}{medium:>8}{low:>5}")
        if reason:
            # Below its row, whole: a control that could not judge must say why, not only "insufficient_data".
            print(f"    {status_text({'status': status, 'insufficient_data_reason': reason})}")


if __name__ == "__main__":
    sys.exit(main())
