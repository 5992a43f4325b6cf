"""Test support for OpenLineage: point Airflow's OpenLineage provider at a transport of the test's own,
and the runs the lineage tests read (a nightly and an ad-hoc purge; a retention dry run)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from synthgov_airflow.lineage import TRANSPORT_ENV, openlineage_env, wait_for_openlineage

REPO = Path(__file__).resolve().parents[1]
SEED = {"profile": "demo", "scale": 1, "seed": 42}
PURGE = {"dry_run": False, "reason": "TICKET-77: lineage check", "policy_ids": ["ai-task-90d"]}

if TYPE_CHECKING:
    from synthgov_sandbox.process import SandboxProcess


@contextmanager
def openlineage_transport(config: dict[str, Any]) -> Iterator[None]:
    """Point the provider at ``config`` for a while, as if Airflow had started with it.

    The provider caches its client (task events, sent from this process) and keeps a process pool for
    DAG events whose workers hold a client each: both are renewed, and the pool drained on the way out
    so that every event of the block reaches this transport.
    """
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    listener = get_openlineage_listener()

    def renew() -> None:
        listener.before_stopping(None)  # a new pool, forked with the settings in force now
        listener.adapter._client = None  # a new client on the next task event

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TRANSPORT_ENV, json.dumps(config))
        renew()
        try:
            yield
        finally:
            wait_for_openlineage()
    renew()


@dataclass
class Pipeline:
    home: Path
    org: SandboxProcess
    events: list[dict[str, Any]]
    nightly_run_id: str
    retention_run_id: str

    def of(self, job: str, event_type: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job"]["name"] == job and event_type in (None, e["eventType"])]

    def complete(self, job: str) -> dict[str, Any]:
        (event,) = [e for e in self.of(job) if e["eventType"] in ("COMPLETE", "FAIL")]
        return event


@contextmanager
def nightly_and_purge(org: SandboxProcess, home: Path, transport: dict[str, Any]) -> Iterator[Pipeline]:
    """The nightly DAG, then an ad-hoc purge (``PURGE``), through dag.test() on a freshly seeded org.

    State under ``home`` (lake, DuckDB warehouse); events through ``transport``, which must include the
    file transport into ``home/lineage/events.jsonl`` (read back into ``Pipeline.events``). The
    environment stays set until the block ends, so tests can run more DAGs on the same state.
    """
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DagRunState

    from synthgov import lake as lakes
    from synthgov.lineage import read_events
    from synthgov.training.zone import open_training_zone

    org.control("DELETE", "faults")
    org.control("POST", "seed", SEED)
    org.token(fresh=True)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "REQUESTS_CA_BUNDLE": org.ca_bundle,
            "SYNTHGOV_HOME": str(home),
            "SYNTHGOV_LAKE_URL": str(home / "lake"),
            "SYNTHGOV_DUCKDB_PATH": str(home / "warehouse.duckdb"),
            "SYNTHGOV_WAREHOUSE": "duckdb",
            "SYNTHGOV_WINDOW_LAG_SECONDS": "0",
            "SYNTHGOV_BULK_POLL_SECONDS": "0",
            "AIRFLOW_CONN_SALESFORCE_DEFAULT": org.airflow_connection(),
        }.items():
            mp.setenv(name, value)
        mp.delenv("SYNTHGOV_EXTRACT_CONFIG", raising=False)
        zone = open_training_zone(lakes.open_lake())
        for manifest in org.control("GET", "training-manifests")["manifests"]:
            zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"]).encode())
        log = home / "lineage" / "events.jsonl"
        log.parent.mkdir(parents=True)
        bag = DagBag(dag_folder=REPO / "dags")
        assert not bag.import_errors
        started = time.monotonic()
        with openlineage_transport(transport):
            nightly = bag.dags["synthgov_nightly"].test()
            assert nightly.state == DagRunState.SUCCESS
            retention = bag.dags["synthgov_retention"].test(run_conf=PURGE)
            assert retention.state == DagRunState.SUCCESS
        print(f"nightly and retention runs took {time.monotonic() - started:.1f} s")
        yield Pipeline(home, org, read_events(log), str(nightly.run_id), str(retention.run_id))


def retention_dry_run(url: str, log: Path) -> tuple[Any, float]:
    """An ad-hoc dry run of the retention DAG with synthgov's own settings for OPENLINEAGE_URL ``url``,
    the file transport into ``log``; returns the DAG run and how long it took."""
    from airflow.dag_processing.dagbag import DagBag

    added = openlineage_env(log.parent.parent, {"OPENLINEAGE_URL": url})
    config = json.loads(added[TRANSPORT_ENV])
    assert [t["type"] for t in config["transports"]] == ["file", "http"]
    log.parent.mkdir(parents=True, exist_ok=True)
    dag = DagBag(dag_folder=REPO / "dags" / "synthgov_retention.py").dags["synthgov_retention"]
    started = time.monotonic()
    with openlineage_transport(config):
        run = dag.test(run_conf={"reason": "lineage over HTTP"})
    return run, time.monotonic() - started
