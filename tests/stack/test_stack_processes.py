"""`make stack` and `make airflow` start, get healthy, and on SIGTERM leave no process behind.

Each runner is started as `make` starts it (``python -m synthgov_stack ...``) with its state in a temp
dir; the checks walk /proc for the sessions it started and for anything whose cwd or command line
points into that dir. The stack's own test also asks its workers and its REST API who runs the tasks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from synthgov_stack.airflow import ADMIN_PASSWORD, ADMIN_USER, api_token
from synthgov_stack.postgres import find_bindir
from synthgov_stack.processes import all_processes, processes_of
from synthgov_stack.services import free_port
from synthgov_stack.stack import STATE_FILE, celery_ping, celery_registered

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 600
STOP_TIMEOUT_S = 120


@pytest.fixture
def state_home() -> Iterator[Path]:
    """A world-searchable temp dir (as root, PostgreSQL runs as its own OS user and must get in)."""
    home = Path(tempfile.mkdtemp(prefix="synthgov-stack-"))
    home.chmod(0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _start(argv: list[str], home: Path) -> subprocess.Popen[bytes]:
    # As `make` would start it: without the test session's Airflow settings (its home, unit-test mode).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SYNTHGOV_"))}
    env["SYNTHGOV_HOME"] = str(home)
    with (home / "runner.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "synthgov_stack", *argv], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )


def _log(home: Path) -> str:
    return (home / "runner.log").read_text(errors="replace")


def _sessions_of(runner: subprocess.Popen[bytes]) -> set[int]:
    """The sessions the runner's children lead (each started with a session of its own)."""
    return {p.sid for p in all_processes() if p.ppid == runner.pid and p.sid == p.pid}


def _terminate_and_check(runner: subprocess.Popen[bytes], home: Path, sessions: set[int]) -> None:
    assert sessions, "the runner started no process in a session of its own"
    runner.send_signal(signal.SIGTERM)
    runner.wait(STOP_TIMEOUT_S)
    left = processes_of(sessions=sessions, under=home)
    assert left == [], f"left running after SIGTERM: {[(p.pid, p.cmdline) for p in left]}\n{_log(home)}"


def _wait_healthy(url: str, runner: subprocess.Popen[bytes], home: Path, parts: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert runner.poll() is None, f"the runner exited ({runner.returncode}):\n{_log(home)}"
        try:
            health = requests.get(f"{url}/api/v2/monitor/health", timeout=5).json()
            if all(health.get(p, {}).get("status") == "healthy" for p in parts):
                return dict(health)
        except (requests.RequestException, ValueError):
            pass
        time.sleep(2)
    pytest.fail(f"not healthy within {START_TIMEOUT_S} s:\n{_log(home)}")


def test_make_airflow_is_sized_to_the_machine_and_stops_every_process(state_home: Path) -> None:
    port = free_port()
    runner = _start(["airflow", "--port", str(port)], state_home)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", runner, state_home, ("metadatabase", "scheduler", "triggerer"))
        cpus = len(os.sched_getaffinity(0))
        assert f"Parallelism: {min(max(2, 2 * cpus), 16)} task slots on {cpus} CPUs" in _log(state_home)
        # LocalExecutor's workers are the scheduler's children: as many as the parallelism, not 32.
        workers = [p for p in processes_of(under=state_home) if "LocalExecutor" in p.cmdline]
        assert len(workers) <= min(max(2, 2 * cpus), 16)
        sessions = _sessions_of(runner)
        assert processes_of(sessions=sessions), "airflow standalone is not running in the session it was given"
    finally:
        sessions = _sessions_of(runner)
        _terminate_and_check(runner, state_home, sessions)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server: apt-get install redis-server")
@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server: apt-get install postgresql")
def test_the_stack_runs_two_celery_workers_and_stops_every_process(state_home: Path) -> None:
    state_dir = state_home / "stack"
    begin = time.monotonic()
    runner = _start(["up", "--state-dir", str(state_dir)], state_home)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (state_dir / STATE_FILE).exists():
            assert runner.poll() is None, f"make stack exited ({runner.returncode}):\n{_log(state_home)}"
            assert time.monotonic() < deadline, f"not healthy within {START_TIMEOUT_S} s:\n{_log(state_home)}"
            time.sleep(2)
        print(f"stack healthy after {time.monotonic() - begin:.0f} s")
        state = json.loads((state_dir / STATE_FILE).read_text())
        url = state["airflow_url"]
        health = _wait_healthy(url, runner, state_home, ("metadatabase", "scheduler", "triggerer", "dag_processor"))
        assert health["metadatabase"]["status"] == "healthy"
        assert state["airflow_env"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert "Marquez: " in _log(state_home)

        # Two workers, two hostnames, both answering on the broker.
        hostnames = state["worker_hostnames"]
        assert len(hostnames) == 2 and len(set(hostnames)) == 2
        assert set(celery_ping(state["redis_url"], timeout=5)) == set(hostnames)

        # The executor, as the REST API reports the deployment's configuration.
        token = api_token(url, ADMIN_USER, ADMIN_PASSWORD)
        auth = {"Authorization": f"Bearer {token}"}
        option = requests.get(
            f"{url}/api/v2/config/section/core/option/executor",
            headers=auth | {"Accept": "application/json"},
            timeout=30,
        )
        option.raise_for_status()
        assert "CeleryExecutor" in json.dumps(option.json()), option.json()
        # And the workers are Airflow's: each has the executor's task registered.
        registered = celery_registered(state["redis_url"])
        assert set(registered) == set(hostnames)
        assert all(any(t.endswith("execute_workload") for t in tasks) for tasks in registered.values()), registered

        listed = requests.get(f"{url}/api/v2/connections", headers=auth, timeout=30)
        assert listed.ok, listed.text
        connections = listed.json()
        kinds = {c["connection_id"]: c["conn_type"] for c in connections["connections"]}
        assert kinds == {"salesforce_default": "salesforce", "aws_default": "aws", "synthgov_warehouse": "postgres"}
        sessions = _sessions_of(runner)
    finally:
        sessions = _sessions_of(runner)
        _terminate_and_check(runner, state_home, sessions)
    assert not (state_dir / STATE_FILE).exists()
