"""The stack runner's pure parts: sizing to the machine, the /proc walk, and who may import it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgov_airflow.pools import WAREHOUSE_POOL
from synthgov_stack import airflow as af
from synthgov_stack.processes import processes_of, spawn, stop_processes

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("cpus", "workers", "parallelism", "per_worker"),
    [(1, 1, 2, 2), (2, 2, 4, 2), (2, 1, 4, 4), (4, 2, 8, 4), (64, 2, 16, 8)],
)
def test_parallelism_is_twice_the_cores_capped_and_shared_by_the_workers(
    cpus: int, workers: int, parallelism: int, per_worker: int
) -> None:
    size = af.sizing(cpus, workers)
    assert (size.parallelism, size.worker_concurrency) == (parallelism, per_worker)


@pytest.mark.parametrize("given", [None, "/srv/cosmos-cache"])
def test_cosmos_caches_under_the_home_unless_the_user_chose_a_place(tmp_path: Path, given: str | None) -> None:
    # Cosmos's default, /tmp/cosmos, is shared by every Airflow on the machine: `make airflow` and the
    # stack each keep their own, so another profile's partial parse never makes dbt parse anew.
    base = {} if given is None else {"AIRFLOW__COSMOS__CACHE_DIR": given}
    env = af.airflow_env(base, airflow_home=tmp_path / "af", synthgov_home=tmp_path, port=8080, size=af.sizing(2, 1))
    assert env["AIRFLOW__COSMOS__CACHE_DIR"] == (given or str(tmp_path / "cosmos"))


def test_the_pool_is_the_one_the_operators_use() -> None:
    assert af.WAREHOUSE_POOL == WAREHOUSE_POOL


def test_product_code_never_imports_the_stack() -> None:
    for root in (REPO / "include" / "synthgov", REPO / "plugins", REPO / "dags"):
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not any(n.split(".")[0] == "synthgov_stack" for n in names), path


def test_stop_ends_a_session_whose_leader_ignores_sigterm(tmp_path: Path) -> None:
    """A leader that ignores SIGTERM (as a busy Celery worker does) and a grandchild: both gone, by SIGKILL."""
    script = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"
    )
    managed = spawn("stubborn", [sys.executable, "-c", script], env=os.environ, cwd=tmp_path, log=tmp_path / "log")
    deadline = time.monotonic() + 30
    while len(processes_of(sessions=[managed.pid])) < 2:
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.1)
    assert stop_processes([managed.pid], children=[managed.process], grace=1.0) == []
    assert processes_of(sessions=[managed.pid], under=tmp_path) == []
    assert managed.process.returncode == -9


def test_the_sweep_finds_processes_by_their_working_directory(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], cwd=tmp_path)
    try:
        assert [p.pid for p in processes_of(under=tmp_path)] == [sleeper.pid]
    finally:
        assert stop_processes([], under=tmp_path, children=[sleeper], grace=5.0) == []
    assert sleeper.returncode is not None
