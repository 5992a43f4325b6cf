"""The stack's small servers: Redis (Debian's redis-server) and moto's S3 server, with their health checks."""

from __future__ import annotations

import shutil
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthgov_stack.processes import Managed, spawn

REDIS_NOT_INSTALLED = (
    "Redis: redis-server not found; it is the Celery broker, so the stack cannot run without it: "
    "install Debian's redis-server package (apt-get install redis-server)"
)
# moto accepts any key; fixed ones keep every client (Airflow's aws_default, boto3 in tests) alike.
S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"
LAKE_BUCKET = "synthgov-lake"
START_TIMEOUT_S = 60.0


class StackError(RuntimeError):
    """A part of the stack could not be installed or did not become healthy; the message says which and why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, ready: Callable[[], bool], watch: Managed | Sequence[Managed], timeout: float) -> None:
    """Poll ``ready`` until it is true; StackError (with a log's tail) on timeout or if one of ``watch`` exits."""
    watched = [watch] if isinstance(watch, Managed) else list(watch)
    managed = watched[0] if watched else None
    deadline = time.monotonic() + timeout
    while True:
        for each in watched:
            if each.process.poll() is not None:
                code = each.process.returncode
                raise StackError(f"{what}: {each.name} exited with status {code} while starting{tail(each.log)}")
        try:
            if ready():
                return
        # Not up yet: whatever the client raises (refused, reset, a 503, half a JSON body) means the same.
        except Exception:  # noqa: BLE001
            pass
        if time.monotonic() > deadline:
            raise StackError(f"{what} was not healthy within {timeout:.0f} s{tail(managed.log if managed else None)}")
        time.sleep(0.5)


def tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.exists():
        return ""
    text = "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return f"\n{log} (last lines):\n{text}"


def start_redis(workdir: Path, env: Mapping[str, str]) -> tuple[Managed, str]:
    """redis-server on 127.0.0.1 at a free port, nothing persisted (a broker's queue is rebuilt by the
    scheduler); returns it and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(REDIS_NOT_INSTALLED)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir)]
    argv += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
    managed = spawn("redis", argv, env=env, cwd=workdir, log=workdir / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"

    def pong() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    wait_until("Redis", pong, managed, START_TIMEOUT_S)
    return managed, url


def s3_client(endpoint_url: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )


def start_s3(workdir: Path, env: Mapping[str, str]) -> tuple[Managed, str]:
    """moto's S3 server on 127.0.0.1 with the lake's bucket, returns it and its URL.

    The bucket has Object Lock, which turns versioning on for good: a purge deletes every version of a
    raw file (no retention is set on those), while the evidence ledger, written under the same lake
    (``evidence/retention/ledger/``), locks each of its segments, as synthgov does on AWS.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    managed = spawn("s3", argv, env=env, cwd=workdir, log=workdir / "moto.log")
    url = f"http://127.0.0.1:{port}"
    client = s3_client(url)
    wait_until("S3 (moto)", lambda: bool(client.list_buckets() is not None), managed, START_TIMEOUT_S)
    client.create_bucket(Bucket=LAKE_BUCKET, ObjectLockEnabledForBucket=True)
    return managed, url
