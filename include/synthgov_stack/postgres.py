"""A PostgreSQL cluster of our own, started from the distribution's server binaries: for the tests and the stack.

Never the machine's own cluster: ``initdb`` into a directory of its own, served on 127.0.0.1 at a free
port with its Unix socket in that directory, stopped with ``pg_ctl``, so nothing under
/var/lib/postgresql and no service manager is involved. Nothing here needs pytest: tests/postgres.py
turns ``PostgresUnavailable`` into a skip, the stack into a clear, fatal message.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_INSTALLED = (
    "PostgreSQL server binaries not found (initdb, pg_ctl, postgres): install Debian's postgresql package "
    "(apt-get install postgresql)"
)
SUPERUSER = "postgres"
DATABASE = "synthgov"


class PostgresUnavailable(RuntimeError):
    """No server binaries here, or no OS user to run them as; the message says how to fix it."""


# initdb refuses to run as root, so as root the cluster belongs to this OS user (made by Debian's package).
SERVER_OS_USER = "postgres"
# A port picked as free can be taken before the server binds it; a couple of retries make that harmless.
_START_ATTEMPTS = 3
_STOP_TIMEOUT_S = 30


@dataclass(frozen=True)
class PostgresInfo:
    host: str
    port: int
    user: str
    database: str
    dsn: str

    def dsn_for(self, database: str) -> str:
        """The same server, another database."""
        return _dsn(self.host, self.port, self.user, database)


def _dsn(host: str, port: int, user: str, database: str) -> str:
    return f"host={host} port={port} user={user} dbname={database}"


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding the server tools, else ``pg_config --bindir``."""
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: _version_key(p.parent.name),
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split(".") if n.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Runner:
    """Runs the server tools directly, or as the unprivileged server user when we are root."""

    def __init__(self, bindir: Path, workdir: Path) -> None:
        self.bindir = bindir
        self.workdir = workdir
        self.as_user: str | None = None
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVER_OS_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and PostgreSQL refuses to run as root, but there is no {SERVER_OS_USER!r} "
                    "OS user to run it as: reinstall Debian's postgresql package (it creates that user)"
                ) from None
            _hand_over(workdir, account)
            self.as_user = SERVER_OS_USER

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / tool), *args]
        if self.as_user is not None:
            # runuser needs no PAM session or password; su is the fallback where util-linux lacks it.
            runuser = shutil.which("runuser")
            if runuser:
                command = [runuser, "-u", self.as_user, "--", *command]
            else:
                command = ["su", self.as_user, "-s", "/bin/sh", "-c", shlex.join(command)]
        # cwd: the server user may not be allowed into the caller's working directory (root's home).
        return subprocess.run(command, cwd=self.workdir, capture_output=True, text=True, timeout=timeout, check=False)


def _hand_over(workdir: Path, account: pwd.struct_passwd) -> None:
    """Give the server user the directory, after checking it can get there at all."""
    for parent in workdir.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise RuntimeError(
                f"the {account.pw_name!r} OS user cannot reach {workdir}: {parent} is not searchable by others; "
                "pass a directory from tempfile.mkdtemp() (the system temp dir is world-searchable)"
            )
    os.chown(workdir, account.pw_uid, account.pw_gid)


def _fail(what: str, result: subprocess.CompletedProcess[str], log: Path | None = None) -> RuntimeError:
    detail = (result.stderr or result.stdout).strip()
    if log is not None and log.exists():
        detail += "\nserver log (last lines):\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    return RuntimeError(f"{what} failed (exit {result.returncode}): {detail}")


@contextmanager
def postgres_cluster(tmp: Path, databases: tuple[str, ...] = (DATABASE,)) -> Iterator[PostgresInfo]:
    """Start a new cluster in ``tmp`` (data in ``tmp/data``, socket in ``tmp``) with empty ``databases``,
    yield it (``database`` is the first of them), then stop it.

    Raises PostgresUnavailable when no server binaries are installed. As root, ``tmp`` is handed to the
    ``postgres`` OS user, so every parent of it must be searchable by others.
    """
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(NOT_INSTALLED)
    tmp.mkdir(parents=True, exist_ok=True)
    runner = _Runner(bindir, tmp)
    data, log = tmp / "data", tmp / "server.log"
    # Throwaway data: no fsync, trust auth on a loopback-only, caller-owned cluster.
    init = runner.run(
        "initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"
    )
    if init.returncode != 0:
        raise _fail("initdb", init)
    try:
        port = _start(runner, data, log, socket_dir=tmp)
        first = databases[0]
        info = PostgresInfo("127.0.0.1", port, SUPERUSER, first, _dsn("127.0.0.1", port, SUPERUSER, first))
        for name in databases:
            admin(info, f"CREATE DATABASE {name}")
        yield info
    finally:
        _stop(runner, data, log)


def _start(runner: _Runner, data: Path, log: Path, *, socket_dir: Path) -> int:
    """Start the server on a free loopback port; returns the port."""
    for _ in range(_START_ATTEMPTS):
        port = _free_port()
        start = _pg_ctl_start(runner, data, log, port, socket_dir)
        if start.returncode == 0:
            return port
        _stop(runner, data, log)  # a start that timed out may have left a server behind
    raise _fail("pg_ctl start", start, log)


def _pg_ctl_start(
    runner: _Runner, data: Path, log: Path, port: int, socket_dir: Path
) -> subprocess.CompletedProcess[str]:
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={shlex.quote(str(socket_dir))} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    # -l: the server must not inherit our pipes, or capturing pg_ctl's output would wait for the server to exit.
    return runner.run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start", timeout=90)


def start_cluster(tmp: Path, port: int) -> None:
    """Start again, on the same ``port``, a cluster ``postgres_cluster`` made in ``tmp`` and ``stop_cluster`` stopped.

    Its clients keep their settings (a restarted database server, not a new one); RuntimeError with the
    server log's tail if it does not come up, for example because the port was taken meanwhile.
    """
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(NOT_INSTALLED)
    runner = _Runner(bindir, tmp)
    data, log = tmp / "data", tmp / "server.log"
    start = _pg_ctl_start(runner, data, log, port, tmp)
    if start.returncode != 0:
        raise _fail(f"pg_ctl start on port {port}", start, log)


def _stop(runner: _Runner, data: Path, log: Path) -> None:
    """Fast shutdown (disconnects clients); immediate if that hangs, so a failed test never leaves a server."""
    if not (data / "postmaster.pid").exists():
        return  # never started, or already gone
    stop = runner.run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", str(_STOP_TIMEOUT_S), "stop", timeout=60)
    if stop.returncode == 0:
        return
    immediate = runner.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)
    if immediate.returncode != 0 and (data / "postmaster.pid").exists():
        raise _fail("pg_ctl stop", immediate, log)


def admin(info: PostgresInfo, sql: str) -> None:
    """Run a statement that refuses transactions (CREATE / DROP DATABASE) on the maintenance database."""
    import psycopg2

    con = psycopg2.connect(info.dsn_for("postgres"))
    try:
        con.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return [tuple(row) for row in cur.fetchall()]
    finally:
        con.close()


def stop_cluster(tmp: Path) -> None:
    """Stop the cluster ``postgres_cluster`` started in ``tmp``, if it still runs (its supervisor died)."""
    bindir = find_bindir()
    if bindir is not None and (tmp / "data" / "postmaster.pid").exists():
        _stop(_Runner(bindir, tmp), tmp / "data", tmp / "server.log")
