"""Airflow as `make airflow` and the stack run it: sized to the machine, set up, and stopped as a whole.

- ``sizing``: parallelism from the CPUs this process may use (twice the cores, capped); Airflow's
  default of 32 meant 32 LocalExecutor processes on a two-core machine, each competing for it.
- ``airflow_env``: the settings every Airflow process of ours shares (DAG folder, API address, the
  simple auth manager's fixed local user, sizing, OpenLineage).
- ``setup``: ``airflow db migrate``, the pool and the connections, through Airflow's own CLI.
- ``run_standalone``: `make airflow`: the sandbox org and ``airflow standalone``, in the foreground
  until Ctrl-C or SIGTERM, which end every process it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from synthgov_stack.processes import Managed, processes_of, spawn, stop_processes
from synthgov_stack.services import StackError, tail, wait_until

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Local-only credentials, printed on start: the same for `make airflow` and the stack.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
# The warehouse tasks' pool (synthgov_airflow.pools.WAREHOUSE_POOL), named here for the printout only.
WAREHOUSE_POOL = "synthgov_warehouse"
MAX_PARALLELISM = 16
# The first start of an API server or worker imports Airflow, the providers and Cosmos: tens of seconds
# on two busy cores.
START_TIMEOUT_S = 300.0
SETUP_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Sizing:
    cpus: int
    parallelism: int  # task slots across the deployment ([core] parallelism)
    worker_concurrency: int  # task slots per Celery worker
    parsing_processes: int


def sizing(cpus: int | None = None, workers: int = 1) -> Sizing:
    """Twice the usable cores, capped at MAX_PARALLELISM, shared evenly by ``workers``."""
    usable = cpus if cpus is not None else len(os.sched_getaffinity(0))
    parallelism = max(2, min(2 * usable, MAX_PARALLELISM))
    return Sizing(usable, parallelism, max(1, parallelism // workers), max(1, min(2, usable)))


def airflow_env(
    base: Mapping[str, str], *, airflow_home: Path, synthgov_home: Path, port: int, size: Sizing
) -> dict[str, str]:
    """``base`` plus the settings every Airflow process of ours shares; OpenLineage into synthgov_home."""
    from synthgov_airflow.lineage import openlineage_env

    url = f"http://127.0.0.1:{port}"
    env = dict(base)
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / "passwords.json"),
            "AIRFLOW__CORE__PARALLELISM": str(size.parallelism),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(size.parsing_processes),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(size.worker_concurrency),
            "SYNTHGOV_HOME": str(synthgov_home),
        }
    )
    # Cosmos keeps dbt's partial-parse state here; its default (/tmp/cosmos) is shared by every Airflow
    # and test on the machine, whose profiles differ, so each would make dbt parse anew. One set by the
    # user wins.
    env.setdefault("AIRFLOW__COSMOS__CACHE_DIR", str(synthgov_home / "cosmos"))
    env.update(openlineage_env(synthgov_home, env))
    airflow_home.mkdir(parents=True, exist_ok=True)
    (airflow_home / "passwords.json").write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
    (synthgov_home / "lineage").mkdir(parents=True, exist_ok=True)
    return env


def run_logged(argv: list[str], what: str, env: Mapping[str, str], log: Path, timeout: float = SETUP_TIMEOUT_S) -> None:
    """One setup command, output appended to ``log``; StackError naming ``what`` with the log's tail if it fails."""
    with log.open("ab") as out:
        result = subprocess.run(argv, check=False, env=dict(env), stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0:
        raise StackError(f"{what} failed (exit {result.returncode}){tail(log)}")


def run_airflow(args: list[str], env: Mapping[str, str], log: Path, timeout: float = SETUP_TIMEOUT_S) -> None:
    """One Airflow CLI command (see run_logged)."""
    run_logged([str(BIN / "airflow"), *args], f"airflow {' '.join(args[:2])}", env, log, timeout)


def setup(env: Mapping[str, str], connections: Mapping[str, Mapping[str, Any]]) -> None:
    """Migrate the metadata database, create (or update) the connections, then size the warehouse pool."""
    home = Path(env["AIRFLOW_HOME"])
    run_airflow(["db", "migrate"], env, home / "db-migrate.log")
    if connections:
        conns = home / "connections.json"
        # Local-only values (the sandbox's client secret, moto's dummy keys), but still nothing to leave readable.
        conns.touch(mode=0o600)
        conns.write_text(json.dumps(connections))
        try:
            run_airflow(["connections", "import", "--overwrite", str(conns)], env, home / "setup.log")
        finally:
            conns.unlink()
    # After the connections: the pool is sized from the warehouse the tasks will resolve (1 slot for a
    # DuckDB file, more for PostgreSQL), by the same code the tasks use.
    pools = [str(BIN / "python"), "-m", "synthgov_airflow.pools"]
    run_logged(pools, "sizing the warehouse pool", env, home / "setup.log")


def wait_api_healthy(
    url: str, managed: list[Managed], *, components: tuple[str, ...], timeout: float = START_TIMEOUT_S
) -> None:
    """Until /api/v2/monitor/health says the metadata database and ``components`` are healthy."""

    def healthy() -> bool:
        body = requests.get(f"{url}/api/v2/monitor/health", timeout=5).json()
        return all(body.get(part, {}).get("status") == "healthy" for part in ("metadatabase", *components))

    wait_until(f"Airflow's API server ({url})", healthy, managed, timeout)


def api_token(url: str, user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    """A bearer token from the simple auth manager, for Airflow's REST API."""
    response = requests.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def run_standalone(synthgov_home: Path, port: int, *, out: Any = sys.stdout) -> int:
    """`make airflow`: the sandbox org, then ``airflow standalone`` until it exits or KeyboardInterrupt."""
    from synthgov_sandbox.process import SandboxProcess

    airflow_home = synthgov_home / "airflow"
    env = airflow_env(os.environ, airflow_home=airflow_home, synthgov_home=synthgov_home, port=port, size=sizing())
    url = env["AIRFLOW__API__BASE_URL"]
    sandbox = SandboxProcess(synthgov_home / "sandbox")
    standalone: Managed | None = None
    try:
        sandbox.start()
        env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = sandbox.airflow_connection()
        setup(env, {})
        print(f"Salesforce sandbox org: {sandbox.instance_url}", file=out)
        print(f"Airflow UI: {url}   user: {ADMIN_USER}   password: {ADMIN_PASSWORD}   (local only)", file=out)
        print(f"Parallelism: {env['AIRFLOW__CORE__PARALLELISM']} task slots on {sizing().cpus} CPUs", file=out)
        print(f"OpenLineage events: {synthgov_home / 'lineage' / 'events.jsonl'}", file=out, flush=True)
        standalone = spawn(
            "airflow standalone",
            [str(BIN / "airflow"), "standalone"],
            env=env,
            cwd=airflow_home,
            log=airflow_home / "standalone.log",
        )
        print(f"airflow standalone: pid {standalone.pid}, log {standalone.log}; Ctrl-C stops it", file=out, flush=True)
        standalone.process.wait()
        print(f"airflow standalone exited ({standalone.process.returncode}){tail(standalone.log)}", file=out)
        return 1
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (python -m synthgov_stack makes it one)
        print("stopping airflow standalone and the sandbox...", file=out, flush=True)
        return 0
    except StackError as error:
        print(f"make airflow: {error}", file=sys.stderr)
        return 1
    finally:
        if standalone is not None:
            left = stop_processes([standalone.pid], under=airflow_home, children=[standalone.process])
            _report_left(left, out)
        sandbox.stop()
        _report_left(processes_of(under=synthgov_home), out)


def _report_left(left: list[Any], out: Any) -> None:
    for info in left:
        print(f"still running after SIGKILL: pid {info.pid} {info.cmdline}", file=out)
