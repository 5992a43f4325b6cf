"""`make stack`: the production shape on one machine, on 127.0.0.1, state in one directory.

PostgreSQL (Airflow's metadata, the warehouse, Marquez), Redis (the Celery broker), moto's S3 (the
lake, and the evidence bucket with Object Lock), the sandbox org, Marquez when `make marquez`
fetched it, and Airflow with the CeleryExecutor: api-server, scheduler, dag-processor, triggerer and
two Celery workers under their own hostnames. ``Stack`` is a context manager, so tests start it in a
temp dir and read every address and credential from ``Stack.info``; ``python -m synthgov_stack up``
runs it in the foreground for `make stack`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from synthgov_stack import airflow as af
from synthgov_stack import services
from synthgov_stack.hostnames import celery_hostname, hostname_callable
from synthgov_stack.postgres import PostgresInfo, PostgresUnavailable, postgres_cluster, start_cluster, stop_cluster
from synthgov_stack.processes import Managed, kill_tree, processes_of, spawn, stop_processes
from synthgov_stack.services import StackError

STATE_FILE = "stack.json"
AIRFLOW_DB, WAREHOUSE_DB, MARQUEZ_DB = "airflow", "synthgov", "marquez"
LAKE_PREFIX = "synthgov"
EXECUTOR = "CeleryExecutor"
WORKERS = 2
# A worker's warm shutdown waits for its running tasks; a stop that waited for a long extract would
# look like a hang, and the scheduler re-queues what a killed worker had.
WORKER_STOP_GRACE_S = 20.0
# What the state file keeps of the Airflow processes' environment: enough to run `airflow ...` on the stack.
_ENV_PREFIXES = ("AIRFLOW", "SYNTHGOV_", "OPENLINEAGE")
# Inherited from the shell that starts the stack, these would let a task reach S3 or the warehouse
# around the Airflow connections (aws_default, synthgov_warehouse); the stack's processes never get them.
_AROUND_CONNECTIONS_PREFIXES = ("AWS_", "SYNTHGOV_PG_")
# A Celery worker killed mid-run takes with it the messages it had received but not started: acked
# late, they stay in Redis for its visibility timeout (a day), and their task instances stay queued,
# holding executor slots, until the scheduler requeues them after [scheduler] task_queued_timeout (600 s
# by default, looked for every 120 s: up to 12 minutes of a stalled nightly). The executor never sends
# more tasks than the workers have slots, so a healthy queued task starts within seconds; 180 s is
# margin for a loaded machine. Defaults: `up --set` (Stack's settings) overrides them.
_QUEUED_RECOVERY = {
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "30",
}
_AROUND_CONNECTIONS = frozenset({"SYNTHGOV_WAREHOUSE", "SYNTHGOV_S3_ENDPOINT_URL", "SYNTHGOV_DBT_TARGET"})


@dataclass
class StackInfo:
    """Every address and local-only credential of a running stack (written to ``<state>/stack.json``)."""

    state_dir: str
    airflow_url: str
    admin_user: str
    admin_password: str
    executor: str
    worker_hostnames: list[str]
    parallelism: int
    worker_concurrency: int
    postgres: dict[str, Any]
    redis_url: str
    s3: dict[str, str]
    salesforce: dict[str, str]
    marquez_url: str | None
    marquez_status: str
    lineage_log: str
    connections: list[str]
    pids: dict[str, int]
    airflow_env: dict[str, str] = field(repr=False)
    seconds_to_healthy: float = 0.0

    def addresses(self) -> list[str]:
        """The lines `make stack` prints."""
        pg = self.postgres
        return [
            f"Airflow UI and REST API: {self.airflow_url}   user: {self.admin_user}   "
            f"password: {self.admin_password}   (local only)",
            f"Executor: {self.executor}, workers {', '.join(self.worker_hostnames)} "
            f"({self.worker_concurrency} slots each, parallelism {self.parallelism})",
            f"PostgreSQL: {pg['host']}:{pg['port']} user {pg['user']} (no password, loopback only), databases "
            + ", ".join(f"{k}={v}" for k, v in pg["databases"].items()),
            f"Redis (Celery broker): {self.redis_url}",
            f"S3 (moto): {self.s3['endpoint_url']}   lake {self.s3['lake_url']} (versioned, Object Lock)   "
            f"evidence ledger {self.s3['evidence_url']}   keys {self.s3['access_key']}/{self.s3['secret_key']}",
            f"Salesforce sandbox org: {self.salesforce['instance_url']}",
            f"Marquez: {self.marquez_url or self.marquez_status}",
            f"OpenLineage events: {self.lineage_log}" + (f" and {self.marquez_url}" if self.marquez_url else ""),
            f"Connections: {', '.join(self.connections)}; pool {af.WAREHOUSE_POOL}",
            f"State: {self.state_dir}/{STATE_FILE}; healthy after {self.seconds_to_healthy:.0f} s",
        ]


class Stack:
    """Start with ``start()`` (or ``with Stack(dir) as stack:``), stop with ``stop()``; never leaves a process."""

    def __init__(
        self,
        state_dir: Path,
        *,
        workers: int = WORKERS,
        marquez: bool = True,
        airflow_port: int | None = None,
        settings: Mapping[str, str] | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        """``settings``: environment over the stack's own defaults for every process it starts, e.g. a
        shorter ``AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT`` or ``SYNTHGOV_RETRY_DELAY_SECONDS``
        for fault tests, or ``OPENLINEAGE_URL``."""
        self.state_dir = state_dir.resolve()
        self.workers = workers
        self.want_marquez = marquez
        self.airflow_port = airflow_port
        self.settings = dict(settings or {})
        self.say = say
        # How each Airflow process was started, so one can be started again after a fault.
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.size = af.sizing(workers=workers)
        self._exit = ExitStack()
        self._airflow: list[Managed] = []
        self._pids: dict[str, int] = {}
        # Killed on purpose (a fault): left dead until start_again, unlike one that exited on its own.
        self._held: set[str] = set()
        self._postgres_stopped = False  # on purpose: what exits meanwhile comes back after start_postgres
        self.info: StackInfo | None = None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- start -------------------------------------------------------------------------------------

    def start(self) -> StackInfo:
        begin = time.monotonic()
        if running := processes_of(under=self.state_dir):
            pids = ", ".join(str(p.pid) for p in running)
            raise StackError(f"a stack already runs in {self.state_dir} (pids {pids}): `make stack-down` stops it")
        # Fresh each time: moto keeps S3 in memory, so a warehouse or metadata kept from the last run
        # would describe a lake that is gone.
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)
        os.chmod(self.state_dir, 0o755)  # as root, PostgreSQL runs as its own OS user and must get in
        self._exit.callback(self._sweep)
        try:
            return self._start(begin)
        except BaseException:
            self.stop()
            raise

    def _start(self, begin: float) -> StackInfo:
        base = _without_lake_and_warehouse_env(os.environ)
        base |= self.settings
        pg = self._start_postgres()
        redis, redis_url = services.start_redis(self.state_dir / "redis", base)
        self._own(redis)
        s3, s3_url = services.start_s3(self.state_dir / "s3", base)
        self._own(s3)
        self.say(f"PostgreSQL, Redis and S3 up ({time.monotonic() - begin:.0f} s)")

        from synthgov_sandbox.process import SandboxProcess

        sandbox = SandboxProcess(self.state_dir / "sandbox")
        self._exit.callback(sandbox.stop)
        marquez_url, marquez_status = None, "not requested"
        port = self.airflow_port or services.free_port()
        with ThreadPoolExecutor(max_workers=3) as pool:
            started_org = pool.submit(sandbox.start)
            dbt_project = pool.submit(self._dbt_manifest, pg, base)
            if self.want_marquez:
                marquez_url, marquez_status = self._start_marquez(pg)
            org = started_org.result()
            self._pids["sandbox"] = sandbox.proc.pid if sandbox.proc else 0
            env = self._airflow_env(base, pg, redis_url, port, marquez_url, dbt_project.result())
            env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = sandbox.airflow_connection()
        connections = self._connections(sandbox.airflow_connection(), pg, s3_url)
        af.setup(env, connections)
        self.say(f"Airflow's metadata migrated, pool and connections set ({time.monotonic() - begin:.0f} s)")

        hostnames = self._start_airflow(env)
        url = env["AIRFLOW__API__BASE_URL"]
        af.wait_api_healthy(url, self._airflow, components=("scheduler", "triggerer", "dag_processor"))
        self._wait_workers(redis_url, hostnames)
        self.info = StackInfo(
            state_dir=str(self.state_dir),
            airflow_url=url,
            admin_user=af.ADMIN_USER,
            admin_password=af.ADMIN_PASSWORD,
            executor=EXECUTOR,
            worker_hostnames=hostnames,
            parallelism=self.size.parallelism,
            worker_concurrency=self.size.worker_concurrency,
            postgres={
                "host": pg.host,
                "port": pg.port,
                "user": pg.user,
                "databases": {"airflow": AIRFLOW_DB, "warehouse": WAREHOUSE_DB}
                | ({"marquez": MARQUEZ_DB} if marquez_url else {}),
            },
            redis_url=redis_url,
            s3={
                "endpoint_url": s3_url,
                "access_key": services.S3_ACCESS_KEY,
                "secret_key": services.S3_SECRET_KEY,
                "region": services.S3_REGION,
                "lake_url": f"s3://{services.LAKE_BUCKET}/{LAKE_PREFIX}",
                "evidence_url": f"s3://{services.LAKE_BUCKET}/{LAKE_PREFIX}/evidence/retention/ledger/",
            },
            salesforce={k: str(org[k]) for k in ("instance_url", "client_id", "client_secret", "ca_bundle")},
            marquez_url=marquez_url,
            marquez_status=marquez_status,
            lineage_log=str(self.state_dir / "lineage" / "events.jsonl"),
            connections=sorted(connections),
            pids=dict(self._pids),
            airflow_env={k: v for k, v in env.items() if k.startswith(_ENV_PREFIXES)},
            seconds_to_healthy=round(time.monotonic() - begin, 1),
        )
        self._write_state()
        return self.info

    def _own(self, managed: Managed, grace: float = 10.0) -> None:
        self._pids[managed.name] = managed.pid
        self._exit.callback(lambda: stop_processes([managed.pid], children=[managed.process], grace=grace))

    def _start_postgres(self) -> PostgresInfo:
        try:
            return self._exit.enter_context(postgres_cluster(self.state_dir / "postgres", (AIRFLOW_DB, WAREHOUSE_DB)))
        except PostgresUnavailable as error:
            raise StackError(f"PostgreSQL: {error}; the stack cannot run without it") from error
        except RuntimeError as error:  # initdb or pg_ctl failed, or its OS user cannot reach the directory
            raise StackError(f"PostgreSQL did not start: {error}") from error

    def _start_marquez(self, pg: PostgresInfo) -> tuple[str | None, str]:
        from synthgov_stack import marquez

        try:
            marquez.require_lib()
            marquez.java()
        except marquez.MarquezUnavailable as missing:
            status = f"not installed (make marquez failed or was not run: {missing}); lineage goes to the file log only"
            self.say(f"Marquez: {status}")
            return None, status
        server = self._exit.enter_context(marquez.marquez_server(self.state_dir / "marquez", pg, database=MARQUEZ_DB))
        self._pids["marquez"] = server.pid
        return server.url, "running"

    def _dbt_manifest(self, pg: PostgresInfo, base: dict[str, str]) -> Path:
        """A copy of dbt_project/ parsed for the postgres target, so the repo's own (DuckDB) manifest stays."""
        source, project = af.REPO / "dbt_project", self.state_dir / "dbt_project"
        shutil.rmtree(project, ignore_errors=True)
        shutil.copytree(source, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        env = base | self._warehouse_env(pg) | {"SYNTHGOV_DBT_PROJECT": str(project)}
        log = self.state_dir / "dbt-parse.log"
        for argv in (
            [str(af.BIN / "synthgov"), "policies", "export", "--no-warehouse", "--project-dir", str(project)],
            [str(af.BIN / "dbt"), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)]
            + ["--target", "postgres"],
        ):
            with log.open("ab") as out:
                done = subprocess.run(
                    argv, check=False, env=env, cwd=project, stdout=out, stderr=subprocess.STDOUT, timeout=600
                )
            if done.returncode != 0:
                raise StackError(f"the dbt manifest: {argv[1]} {argv[2]} failed{services.tail(log)}")
        return project

    @staticmethod
    def _warehouse_env(pg: PostgresInfo) -> dict[str, str]:
        # For `dbt parse` at start only (profiles.yml renders its postgres output from these); Airflow's
        # processes never get them: their tasks reach the warehouse through synthgov_warehouse.
        return {
            "SYNTHGOV_WAREHOUSE": "postgres",
            "SYNTHGOV_PG_HOST": pg.host,
            "SYNTHGOV_PG_PORT": str(pg.port),
            "SYNTHGOV_PG_USER": pg.user,
            "SYNTHGOV_PG_DATABASE": WAREHOUSE_DB,
        }

    def _airflow_env(
        self,
        base: dict[str, str],
        pg: PostgresInfo,
        redis_url: str,
        port: int,
        marquez_url: str | None,
        dbt_project: Path,
    ) -> dict[str, str]:
        metadata = f"postgresql://{pg.user}@{pg.host}:{pg.port}/{AIRFLOW_DB}"
        stack_env = _QUEUED_RECOVERY | dict(base)
        stack_env |= {
            "AIRFLOW__CORE__EXECUTOR": EXECUTOR,
            # So a client can ask the REST API which executor runs (no secret is shown).
            "AIRFLOW__API__EXPOSE_CONFIG": "non-sensitive-only",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace("postgresql://", "postgresql+psycopg2://"),
            "AIRFLOW__CELERY__BROKER_URL": redis_url,
            # SQLAlchemy 2 reads a bare postgresql:// as psycopg 3, which is not installed; psycopg2 is.
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata.replace("postgresql://", "postgresql+psycopg2://"),
            # Where the lake is (bucket and prefix) is not part of an AWS connection; how to reach it
            # (endpoint, keys, region) is: aws_default, so the tasks prove they use it.
            "SYNTHGOV_LAKE_URL": f"s3://{services.LAKE_BUCKET}/{LAKE_PREFIX}",
            "SYNTHGOV_DBT_PROJECT": str(dbt_project),
        }
        if marquez_url:
            stack_env["OPENLINEAGE_URL"] = marquez_url
        return af.airflow_env(
            stack_env, airflow_home=self.state_dir / "airflow", synthgov_home=self.state_dir, port=port, size=self.size
        )

    @staticmethod
    def _connections(salesforce: str, pg: PostgresInfo, s3_url: str) -> dict[str, dict[str, Any]]:
        org = json.loads(salesforce)
        return {
            "salesforce_default": {"conn_type": org["conn_type"], "extra": json.dumps(org["extra"])},
            "aws_default": {
                "conn_type": "aws",
                "login": services.S3_ACCESS_KEY,
                "password": services.S3_SECRET_KEY,
                "extra": json.dumps({"endpoint_url": s3_url, "region_name": services.S3_REGION}),
            },
            "synthgov_warehouse": {
                "conn_type": "postgres",
                "host": pg.host,
                "port": pg.port,
                "login": pg.user,
                "schema": WAREHOUSE_DB,
            },
        }

    def _start_airflow(self, env: dict[str, str]) -> list[str]:
        """The six processes; returns the workers' Celery hostnames."""
        airflow = str(af.BIN / "airflow")
        commands: list[tuple[str, list[str], dict[str, str]]] = [
            ("api-server", ["api-server", "--host", "127.0.0.1", "--port", env["AIRFLOW__API__PORT"]], {}),
            ("scheduler", ["scheduler"], {}),
            ("dag-processor", ["dag-processor"], {}),
            # Log servers: each process that serves its logs needs a port of its own on one machine.
            ("triggerer", ["triggerer"], {"AIRFLOW__LOGGING__TRIGGERER_LOG_SERVER_PORT": str(services.free_port())}),
        ]
        names = [f"worker{n}" for n in range(1, self.workers + 1)]
        hostnames = [celery_hostname(name) for name in names]
        for name, hostname in zip(names, hostnames, strict=True):
            argv = ["celery", "worker", "--celery-hostname", hostname]
            argv += ["--concurrency", str(self.size.worker_concurrency)]
            extra = {
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(services.free_port()),
                # Its task instances carry its name, not the machine's (which every worker shares).
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": hostname_callable(name),
            }
            commands.append((name, argv, extra))
        for name, argv, extra in commands:
            self._commands[name] = ([airflow, *argv], env | extra)
            self._spawn_airflow(name)
        # Stopped together, before the parts they use: one grace period for all, not one each.
        self._exit.callback(self._stop_airflow)
        return hostnames

    def _spawn_airflow(self, name: str) -> Managed:
        argv, env = self._commands[name]
        home = Path(env["AIRFLOW_HOME"])
        managed = spawn(name, argv, env=env, cwd=home, log=home / "logs" / f"{name}.log")
        self._airflow = [m for m in self._airflow if m.name != name] + [managed]
        self._pids[name] = managed.pid
        if self.info is not None:
            self.info.pids[name] = managed.pid
            self._write_state()
        return managed

    def _stop_airflow(self) -> None:
        stop_processes(
            [m.pid for m in self._airflow], children=[m.process for m in self._airflow], grace=WORKER_STOP_GRACE_S
        )

    def _wait_workers(self, redis_url: str, hostnames: list[str]) -> None:
        def all_answer() -> bool:
            return set(hostnames) <= set(celery_ping(redis_url))

        workers = self._airflow[-len(hostnames) :]
        services.wait_until(f"the Celery workers {', '.join(hostnames)}", all_answer, workers, af.START_TIMEOUT_S)

    def _write_state(self) -> None:
        assert self.info is not None
        path = self.state_dir / STATE_FILE
        path.touch(mode=0o600)
        path.write_text(json.dumps(asdict(self.info) | {"supervisor_pid": os.getpid()}, indent=2))

    # -- faults: what the fault tests do to a running stack ------------------------------------------

    def _managed(self, name: str) -> Managed:
        found = [m for m in self._airflow if m.name == name]
        if not found:
            raise StackError(f"no Airflow process {name!r}; the stack runs {', '.join(self._commands)}")
        return found[0]

    def kill(self, name: str) -> list[int]:
        """SIGKILL one Airflow process (``worker1``, ``scheduler``, ...) and everything it started; the pids."""
        managed = self._managed(name)
        self._held.add(name)
        return kill_tree(managed.pid, children=[managed.process])

    def exited(self) -> list[str]:
        """The Airflow processes that exited on their own (the dag-processor does when PostgreSQL goes away)."""
        if self._postgres_stopped:
            return []
        return [m.name for m in self._airflow if m.process.poll() is not None and m.name not in self._held]

    def start_again(self, name: str) -> None:
        """Start an Airflow process that was killed or stopped, as it was started, and wait until it serves."""
        if self._managed(name).process.poll() is None:
            raise StackError(f"{name} still runs (pid {self._managed(name).pid}): stop or kill it first")
        managed = self._spawn_airflow(name)
        self._held.discard(name)
        assert self.info is not None
        if name.startswith("worker"):
            hostname = celery_hostname(name)
            services.wait_until(
                f"the Celery worker {hostname}",
                lambda: hostname in celery_ping(self.info.redis_url if self.info else ""),
                managed,
                af.START_TIMEOUT_S,
            )
        else:
            parts = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}
            af.wait_api_healthy(self.info.airflow_url, [managed], components=(parts[name],) if name in parts else ())

    def restart(self, name: str) -> None:
        """Stop one Airflow process as an operator would (SIGTERM, its warm shutdown), then start it again."""
        managed = self._managed(name)
        stop_processes([managed.pid], children=[managed.process], grace=WORKER_STOP_GRACE_S)
        self.start_again(name)

    def stop_postgres(self) -> None:
        """Stop the PostgreSQL cluster (fast shutdown: clients are disconnected); Airflow keeps running."""
        self._postgres_stopped = True
        stop_cluster(self.state_dir / "postgres")

    def start_postgres(self) -> None:
        """Start the same cluster again, on the same port, so every client reconnects to it."""
        assert self.info is not None
        start_cluster(self.state_dir / "postgres", int(self.info.postgres["port"]))
        self._postgres_stopped = False

    # -- stop --------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Everything, in reverse order of start (Airflow first, PostgreSQL last); then the sweep."""
        self._exit.close()
        if self.info is not None:  # ours; a start refused because another stack runs leaves its file alone
            (self.state_dir / STATE_FILE).unlink(missing_ok=True)

    def _sweep(self) -> None:
        """Whatever still runs in or on the state dir (a child that made a session of its own)."""
        stop_processes([], under=self.state_dir, grace=5.0)

    def leftovers(self) -> list[int]:
        return [p.pid for p in processes_of(under=self.state_dir)]


def _without_lake_and_warehouse_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in environ.items()
        if not k.startswith(_AROUND_CONNECTIONS_PREFIXES) and k not in _AROUND_CONNECTIONS
    }


def celery_ping(broker_url: str, timeout: float = 2.0) -> list[str]:
    """The hostnames of the Celery workers that answer a ping on ``broker_url``."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    return [name for reply in replies for name in reply]


def celery_registered(broker_url: str, timeout: float = 5.0) -> dict[str, list[str]]:
    """Each answering worker's registered task names."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        return dict(app.control.inspect(timeout=timeout).registered() or {})
    finally:
        app.close()
