"""tests/marquez.py on its own, where Marquez's jars are not needed: a stand-in ``marquez.MarquezApp``
(compiled here) checks the command line, the classpath folder and the config; a jar without the class
checks a failed start. Either way no process is left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.marquez import MarquezUnavailable, java, marquez_server
from tests.postgres import PostgresInfo, query

pytestmark = [pytest.mark.integration, pytest.mark.stack]

# Answers /healthcheck on the admin port the config names, as Dropwizard does, until SIGTERM.
STAND_IN = """
package marquez;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class MarquezApp {
  public static void main(String[] args) throws Exception {
    if (args.length != 2 || !args[0].equals("server")) System.exit(64);
    String config = Files.readString(Path.of(args[1]));
    Matcher admin = Pattern.compile("\\"adminConnectors\\".*?\\"port\\": (\\\\d+)", Pattern.DOTALL).matcher(config);
    if (!admin.find()) System.exit(65);
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(admin.group(1))), 0);
    server.createContext("/healthcheck", exchange -> { exchange.sendResponseHeaders(200, -1); exchange.close(); });
    server.start();
    Thread.currentThread().join();
  }
}
"""


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The process ids the runner starts."""
    try:
        java()
    except MarquezUnavailable as exc:
        pytest.skip(str(exc))
    pids: list[int] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> Any:
        process = real_popen(*args, **kwargs)
        pids.append(process.pid)
        return process

    monkeypatch.setattr("synthgov_stack.marquez.subprocess.Popen", recording_popen)
    yield pids


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_runner_waits_for_health_and_stops_the_server(
    postgres: PostgresInfo, tmp_path: Path, started: list[int]
) -> None:
    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar:
        pytest.skip("no JDK (javac, jar) to build the stand-in: apt-get install openjdk-17-jdk-headless")
    source = tmp_path / "src" / "marquez" / "MarquezApp.java"
    source.parent.mkdir(parents=True)
    source.write_text(STAND_IN)
    classes, lib = tmp_path / "classes", tmp_path / "lib"
    subprocess.run([javac, "-d", str(classes), str(source)], check=True, capture_output=True, timeout=120)
    lib.mkdir()
    # Two jars: the class must be found through the folder's wildcard, not a single named jar.
    subprocess.run([jar, "cf", str(lib / "marquez-api-0.50.0.jar"), "-C", str(classes), "."], check=True, timeout=60)
    (lib / "other.jar").write_bytes((lib / "marquez-api-0.50.0.jar").read_bytes())

    with marquez_server(tmp_path / "state", postgres, lib=lib, database="marquez_runner") as server:
        assert requests.get(f"{server.admin_url}/healthcheck", timeout=5).ok
        config = json.loads((tmp_path / "state" / "marquez.yml").read_text())
        assert config["search"] == {"enabled": False} and config["migrateOnStartup"] is True
        assert config["db"]["url"].endswith(f":{postgres.port}/marquez_runner")
        assert server.url.startswith("http://127.0.0.1:") and server.pid == started[-1]  # after javac and jar
    assert _gone(server.pid)
    # The database is Marquez's own: PostgreSQL 15+ lets only an owner (or a CREATE grant) make tables in public.
    ((owner,),) = query(
        postgres.dsn_for("postgres"),
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'marquez_runner'",
    )
    assert owner == "marquez"


def test_a_server_that_cannot_start_fails_with_its_log(
    postgres: PostgresInfo, tmp_path: Path, started: list[int]
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "marquez-api-0.50.0.jar").write_bytes(b"")  # no main class: java exits at once
    failed = pytest.raises(RuntimeError, match=r"(?s)Marquez exited with status \d+ while starting.*marquez.log")
    with failed, marquez_server(tmp_path / "state", postgres, lib=lib, database="marquez_cannot_start"):
        pass
    (pid,) = started
    assert _gone(pid)
