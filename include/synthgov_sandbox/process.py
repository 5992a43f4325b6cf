"""Run the sandbox org as its own process: for the demo, the tests and benchmarks."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests


class SandboxError(RuntimeError):
    """The sandbox process did not start, or a control call failed."""


class SandboxProcess:
    """`synthgov sandbox serve` in a child process; the context manager stops it on exit."""

    def __init__(
        self,
        state_dir: Path,
        *,
        seed: str = "demo",
        scale: int = 1,
        page_size: int = 2000,
        seed_value: int = 42,
        api_max: int | None = None,
        start_timeout: float = 600.0,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.args = [
            "--seed",
            seed,
            "--scale",
            str(scale),
            "--page-size",
            str(page_size),
            "--seed-value",
            str(seed_value),
        ]
        if api_max is not None:
            self.args += ["--api-max", str(api_max)]
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}
        self._http = requests.Session()
        self._token: str | None = None

    @property
    def log_path(self) -> Path:
        return self.state_dir / "sandbox.log"

    def start(self) -> dict[str, Any]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "synthgov.cli", "sandbox", "serve", "--state-dir", str(self.state_dir), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=os.environ.copy())
        log.close()
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.start_timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise SandboxError(f"the sandbox did not start; see {self.log_path}:\n{self._log_tail()}")
            if sel.select(timeout=min(remaining, 1.0)):
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                line += chunk
        sel.close()
        self.ready = json.loads(line.splitlines()[0])
        return self.ready

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def stop(self) -> None:
        self._http.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def instance_url(self) -> str:
        return str(self.ready["instance_url"])

    @property
    def ca_bundle(self) -> str:
        return str(self.ready["ca_bundle"])

    def connection_extra(self) -> dict[str, str]:
        """The extras of a `salesforce` Airflow connection to this org (synthgov_airflow's hook reads them)."""
        return {key: str(self.ready[key]) for key in ("instance_url", "client_id", "client_secret", "ca_bundle")}

    def airflow_connection(self) -> str:
        """This org as an Airflow connection in JSON, for ``AIRFLOW_CONN_SALESFORCE_DEFAULT``."""
        return json.dumps({"conn_type": "salesforce", "extra": self.connection_extra()})

    def control(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 900) -> Any:
        response = self._http.request(
            method, f"{self.instance_url}/__sandbox__/{path}", json=body, timeout=timeout, verify=self.ca_bundle
        )
        if response.status_code >= 300:
            raise SandboxError(f"{method} /__sandbox__/{path}: {response.status_code} {response.text}")
        return response.json()

    def token(self, *, fresh: bool = False) -> str:
        """A session id from the OAuth 2.0 client-credentials flow."""
        if self._token is None or fresh:
            response = self._http.post(
                f"{self.instance_url}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.ready["client_id"],
                    "client_secret": self.ready["client_secret"],
                },
                timeout=30,
                verify=self.ca_bundle,
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        from synthgov_sandbox.engine.schema import API_VERSION

        response = self._http.request(
            method,
            f"{self.instance_url}/services/data/v{API_VERSION}/{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=120,
            verify=self.ca_bundle,
            **kwargs,
        )
        if response.status_code >= 300:
            raise SandboxError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None
