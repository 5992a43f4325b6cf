"""The one stack the tests under tests/stack share, started as `make stack` starts it, and its clients.

``python -m synthgov_stack up`` as a subprocess, with neither the test session's nor any AWS_* /
SYNTHGOV_PG_* / SYNTHGOV_WAREHOUSE variable: its tasks reach S3 and the warehouse only through the
Airflow connections ``aws_default`` and ``synthgov_warehouse``. It is started once, with the fault
settings (``FAULT_SETTINGS``, through ``up --set``), so the happy path and the faults run on one stack:
two stack starts and their nightlies would not fit `make test`'s budget on a two-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg2

from synthgov_sandbox.process import SandboxProcess
from synthgov_stack import control
from synthgov_stack.rest import AirflowREST, TaskInstance
from synthgov_stack.stack import STATE_FILE
from tests.integration.test_lineage_replay import Recorder

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 900
STOP_TIMEOUT_S = 120
# A nightly takes minutes on an idle two-core machine; CI's may be shared with other jobs.
RUN_TIMEOUT_S = 3600
NIGHTLY, RETENTION = "synthgov_nightly", "synthgov_retention"
# Airflow notices a task whose worker died when its heartbeat is this old (default 300 s). The task's
# supervisor heartbeats every 5 s ([workers] min_heartbeat_interval) through the API server, so 60 s is
# twelve missed beats: a loaded machine delays a beat by seconds, not a minute, and a killed worker is
# still found within about a minute instead of five. (30 s left too little room for a busy API server.)
HEARTBEAT_TIMEOUT_S = 60
# A retried task waits this long (the nightly's default is 300 s); a real transient fault needs no more
# on loopback.
RETRY_DELAY_S = 5
FAULT_SETTINGS = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
    "SYNTHGOV_RETRY_DELAY_SECONDS": str(RETRY_DELAY_S),
    # Records a test adds to the org are extracted by the next nightly, not the one after it.
    "SYNTHGOV_WINDOW_LAG_SECONDS": "1",
}


@dataclass(frozen=True)
class RunningStack:
    state: dict[str, Any]
    rest: AirflowREST
    org: SandboxProcess
    s3: Any  # a boto3 S3 client (boto3 ships no types)
    seconds_to_healthy: float
    # The OpenLineage HTTP endpoint the stack's transport posts to: up until a test stops it.
    lineage: Recorder

    @property
    def state_dir(self) -> Path:
        return Path(self.state["state_dir"])

    @property
    def bucket(self) -> str:
        return str(self.state["s3"]["lake_url"]).removeprefix("s3://").split("/", 1)[0]

    @property
    def lake_prefix(self) -> str:
        return str(self.state["s3"]["lake_url"]).removeprefix("s3://").split("/", 1)[1]

    def warehouse(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        pg = self.state["postgres"]
        dsn = f"host={pg['host']} port={pg['port']} user={pg['user']} dbname={pg['databases']['warehouse']}"
        with psycopg2.connect(dsn) as con, con.cursor() as cur:
            # No arguments, no formatting: the marts' SQL has literal % in LIKE patterns.
            cur.execute(sql, args or None)
            return list(cur.fetchall())

    def versions(self, prefix: str) -> list[dict[str, Any]]:
        """Every version (not delete markers) of every object under the lake's ``prefix``."""
        found: list[dict[str, Any]] = []
        pages = self.s3.get_paginator("list_object_versions")
        for page in pages.paginate(Bucket=self.bucket, Prefix=f"{self.lake_prefix}/{prefix}"):
            found.extend(page.get("Versions", []))
        return found

    def fault(self, action: str, name: str | None = None) -> Any:
        """Ask the stack's supervisor for a fault (see synthgov_stack.control): kill worker1, restart scheduler..."""
        return control.request(self.state_dir, action, name)


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    state: str
    seconds: float
    tasks: list[TaskInstance]


def run_dag(stack: RunningStack, dag_id: str, conf: dict[str, Any] | None = None) -> FinishedRun:
    stack.rest.wait_for_dag(dag_id)
    stack.rest.unpause(dag_id)
    begin = time.monotonic()
    run_id = stack.rest.trigger(dag_id, conf)
    state = stack.rest.wait_for_run(dag_id, run_id, RUN_TIMEOUT_S)
    return FinishedRun(run_id, state, time.monotonic() - begin, stack.rest.task_instances(dag_id, run_id))


def states(run: FinishedRun) -> dict[str, str | None]:
    return {f"{t.task_id}[{t.map_index}]": t.state for t in run.tasks}


def _runner_env(home: Path) -> dict[str, str]:
    # As `make stack` runs from a clean shell: nothing of this session's Airflow, synthgov or lineage
    # settings, and no AWS_* that could carry the lake's credentials around aws_default.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SYNTHGOV_", "AWS_", "OPENLINEAGE"))}
    env["SYNTHGOV_HOME"] = str(home)
    return env


def _log(home: Path) -> str:
    return (home / "runner.log").read_text(errors="replace")[-6000:]


def _org(state: dict[str, Any]) -> SandboxProcess:
    """A client of the stack's org: SandboxProcess' REST and control calls, on the address the stack printed."""
    org = SandboxProcess(Path(state["state_dir"]) / "sandbox")
    org.ready = dict(state["salesforce"])
    return org


@contextmanager
def running_stack() -> Iterator[RunningStack]:
    """`make stack` with the fault settings and the lineage endpoint below; stopped by SIGTERM, as Ctrl-C would."""
    home = Path(tempfile.mkdtemp(prefix="synthgov-stack-tests-"))
    home.chmod(0o755)  # as root, PostgreSQL runs as its own OS user and must get into the state dir
    state_dir = home / "stack"
    lineage = Recorder([])
    threading.Thread(target=lineage.serve_forever, daemon=True).start()
    settings = FAULT_SETTINGS | {"OPENLINEAGE_URL": lineage.url}
    # Without Marquez (whose URL would replace the test's endpoint): this machine cannot fetch it anyway.
    argv = [sys.executable, "-m", "synthgov_stack", "up", "--no-marquez", "--state-dir", str(state_dir)]
    argv += [arg for name, value in settings.items() for arg in ("--set", f"{name}={value}")]
    begin = time.monotonic()
    with (home / "runner.log").open("wb") as out:
        runner = subprocess.Popen(argv, env=_runner_env(home), cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (state_dir / STATE_FILE).exists():
            assert runner.poll() is None, f"make stack exited ({runner.returncode}):\n{_log(home)}"
            assert time.monotonic() < deadline, f"the stack was not up within {START_TIMEOUT_S} s:\n{_log(home)}"
            time.sleep(2)
        healthy = time.monotonic() - begin
        print(f"stack up and healthy after {healthy:.0f} s")
        state = json.loads((state_dir / STATE_FILE).read_text())
        s3 = boto3.client(
            "s3",
            endpoint_url=state["s3"]["endpoint_url"],
            aws_access_key_id=state["s3"]["access_key"],
            aws_secret_access_key=state["s3"]["secret_key"],
            region_name=state["s3"]["region"],
        )
        yield RunningStack(state, AirflowREST(state["airflow_url"]), _org(state), s3, healthy, lineage)
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(STOP_TIMEOUT_S)
        finally:
            if runner.poll() is None:
                runner.kill()
            lineage.shutdown()
            lineage.server_close()
            shutil.rmtree(home, ignore_errors=True)
