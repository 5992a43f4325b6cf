"""Marquez's API server, run from the jars `make marquez` fetched, on a PostgreSQL of the caller's.

No Docker: ``java -cp '<lib>/*' marquez.MarquezApp server <config>`` on 127.0.0.1 at free ports (app
and admin), with the caller's cluster (the tests' or the stack's, synthgov_stack.postgres) holding its database.
Marquez migrates an empty database on start; search (OpenSearch) is off. Stopped by process id,
SIGTERM then SIGKILL, so nothing is left running. Nothing here needs pytest: tests/marquez.py and the
stack share it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from synthgov import settings
from synthgov_stack.postgres import PostgresInfo, admin

MARQUEZ_MAIN = "marquez.MarquezApp"
LIB_ENV = "SYNTHGOV_MARQUEZ_LIB"
HOW_TO_ENABLE = "run `make marquez` (Maven and Java 17) to fetch Marquez's API server"
# The machine is shared: Marquez's own default heap would be a quarter of its memory.
HEAP = "512m"
# Migrations on an empty database plus the JVM start take 10-30 s on two cores; more means something is wrong.
START_TIMEOUT_S = 180
_STOP_TIMEOUT_S = 20
_LOG_TAIL_LINES = 40


class MarquezUnavailable(RuntimeError):
    """Marquez cannot be run here (no fetched jars, no Java); the message says how to enable it."""


@dataclass(frozen=True)
class MarquezServer:
    url: str  # the API: POST /api/v1/lineage, GET /api/v1/lineage?nodeId=...
    admin_url: str  # /healthcheck
    pid: int
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` of the API as JSON (raises on a non-2xx answer)."""
        response = requests.get(f"{self.url}{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()


def marquez_lib() -> Path:
    """The folder `make marquez` fills: $SYNTHGOV_MARQUEZ_LIB, else <SYNTHGOV_HOME or ./.synthgov>/marquez/lib."""
    if os.environ.get(LIB_ENV):
        return Path(os.environ[LIB_ENV])
    return settings.home() / "marquez" / "lib"


def java() -> Path:
    """Java 17 or later: $JAVA_HOME/bin/java, else java on PATH."""
    candidates = [Path(os.environ["JAVA_HOME"]) / "bin" / "java"] if os.environ.get("JAVA_HOME") else []
    found = shutil.which("java")
    candidates += [Path(found)] if found else []
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MarquezUnavailable(f"no java found (Marquez 0.50.0 needs Java 17): {HOW_TO_ENABLE}")


def require_lib(lib: Path | None = None) -> Path:
    """The classpath folder, checked to hold Marquez's jar; raises MarquezUnavailable if not."""
    lib = lib if lib is not None else marquez_lib()
    if not any(lib.glob("marquez-api-*.jar")):
        raise MarquezUnavailable(f"no marquez-api jar in {lib}: {HOW_TO_ENABLE}")
    return lib


def create_database(pg: PostgresInfo, name: str = "marquez", user: str = "marquez", password: str = "marquez") -> str:
    """A role and a database it owns, on ``pg``; returns the JDBC URL.

    Owner, not only granted ALL: since PostgreSQL 15 a database grant no longer allows creating tables
    in schema ``public``, where Marquez's migrations put everything.
    """
    # Roles are per cluster, databases per server: a second Marquez on the same cluster reuses the role.
    admin(
        pg,
        f"DO $$ BEGIN CREATE ROLE {user} LOGIN PASSWORD '{password}'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    admin(pg, f"CREATE DATABASE {name} OWNER {user}")
    return f"jdbc:postgresql://{pg.host}:{pg.port}/{name}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, *, jdbc_url: str, user: str, password: str, port: int, admin_port: int) -> Path:
    """Marquez's Dropwizard config (JSON, which its YAML reader takes as it is)."""
    config = {
        "server": {
            "applicationConnectors": [{"type": "http", "bindHost": "127.0.0.1", "port": port}],
            "adminConnectors": [{"type": "http", "bindHost": "127.0.0.1", "port": admin_port}],
        },
        "db": {"driverClass": "org.postgresql.Driver", "url": jdbc_url, "user": user, "password": password},
        "migrateOnStartup": True,
        # On with no OpenSearch, every POST would try to index and log the failure.
        "search": {"enabled": False},
        "logging": {"level": "INFO", "appenders": [{"type": "console"}]},
    }
    path.write_text(json.dumps(config, indent=2))
    return path


@contextmanager
def marquez_server(
    workdir: Path, pg: PostgresInfo, *, lib: Path | None = None, database: str = "marquez"
) -> Iterator[MarquezServer]:
    """Create Marquez's database (``database``, new) on ``pg``, start Marquez with state in ``workdir``,
    yield it, stop it.

    Raises MarquezUnavailable when it cannot run here, RuntimeError (with the log's tail) when it
    does not come up within START_TIMEOUT_S.
    """
    classpath, java_bin = require_lib(lib), java()
    workdir.mkdir(parents=True, exist_ok=True)
    jdbc_url = create_database(pg, database)
    port, admin_port = _free_port(), _free_port()
    config = write_config(
        workdir / "marquez.yml", jdbc_url=jdbc_url, user="marquez", password="marquez", port=port, admin_port=admin_port
    )
    log = workdir / "marquez.log"
    command = [
        str(java_bin),
        f"-Xmx{HEAP}",
        "-Duser.timezone=UTC",  # event times without a zone are read as UTC, as in Marquez's image
        "-Dlog4j2.formatMsgNoLookups=true",
        "-cp",
        f"{classpath}/*",
        MARQUEZ_MAIN,
        "server",
        str(config),
    ]
    with log.open("wb") as out:
        # Own session: a Ctrl-C meant for the caller's terminal does not reach the JVM before stop() does.
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    server = MarquezServer(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}", process.pid, log)
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        stop(process)


def _wait_healthy(server: MarquezServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Marquez exited with status {process.returncode} while starting{log_tail(server.log)}")
        try:
            if requests.get(f"{server.admin_url}/healthcheck", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Marquez was not healthy within {START_TIMEOUT_S} s{log_tail(server.log)}")


def log_tail(log: Path) -> str:
    if not log.exists():
        return ""
    lines = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    return f"\n{log} (last lines):\n" + "\n".join(lines)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Dropwizard shuts down cleanly), SIGKILL if that takes longer than _STOP_TIMEOUT_S."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(_STOP_TIMEOUT_S)
