"""`synthgov lineage replay` against a recording HTTP receiver on loopback: what is sent, retried, refused.

Marquez itself (idempotence of a second replay, runs drawn) is in tests/stack/test_marquez.py.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from synthgov.cli import main
from synthgov.lineage.replay import ReplayError, replay

pytestmark = pytest.mark.integration


class Recorder(ThreadingHTTPServer):
    """Answers each POST with the next status of ``answers`` (then 201), keeping path, headers and body."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = list(answers)
        self.posts: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                recorder.posts.append((self.path, dict(self.headers), body))
                status = recorder.answers.pop(0) if recorder.answers else 201
                payload = b'{"errors": ["job.name may not be null"]}' if status == 422 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    server = Recorder(getattr(request, "param", []))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _event(n: int, event_type: str = "COMPLETE") -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": f"2026-01-01T00:00:{n:02d}+00:00",
        "producer": "test",
        "run": {"runId": f"00000000-0000-4000-8000-{n:012d}"},
        "job": {"namespace": "synthgov", "name": f"job{n}"},
    }


def _log(tmp_path: Path, events: list[dict[str, Any]]) -> Path:
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events) + "\n")  # a blank line is skipped
    return log


def test_every_event_is_posted_in_order_to_the_lineage_endpoint(recorder: Recorder, tmp_path: Path) -> None:
    events = [_event(n) for n in range(3)]
    result = replay(_log(tmp_path, events), recorder.url)
    assert result.ok and result.sent == 3
    assert result.url == f"{recorder.url}/api/v1/lineage"
    assert [body for _, _, body in recorder.posts] == events
    assert {path for path, _, _ in recorder.posts} == {"/api/v1/lineage"}
    assert all(headers["Content-Type"] == "application/json" for _, headers, _ in recorder.posts)


@pytest.mark.parametrize("recorder", [[503, 502]], indirect=True)
def test_5xx_is_retried_like_the_transport(recorder: Recorder, tmp_path: Path) -> None:
    result = replay(_log(tmp_path, [_event(1)]), recorder.url)
    assert result.ok and result.sent == 1
    assert len(recorder.posts) == 3  # two failures, then accepted


@pytest.mark.parametrize("recorder", [[422]], indirect=True)
def test_a_refused_event_is_reported_and_the_rest_still_sent(recorder: Recorder, tmp_path: Path) -> None:
    log = _log(tmp_path, [_event(1), _event(2)])
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stderr", stderr)
        code = main(["lineage", "replay", "--url", recorder.url, "--log", str(log)])
    assert code == 1
    assert len(recorder.posts) == 2
    out = stderr.getvalue()
    assert "line 1: job1 COMPLETE: HTTP 422" in out and "may not be null" in out
    assert f"2 events sent to {recorder.url}/api/v1/lineage, 1 refused" in out


def test_an_unreachable_backend_stops_the_replay_naming_the_url(tmp_path: Path) -> None:
    with Recorder([]) as server:
        url = server.url  # a port that was just ours and now refuses connections
    with pytest.raises(ReplayError, match=f"cannot reach {url}/api/v1/lineage .*after 0 events"):
        replay(_log(tmp_path, [_event(1)]), url)


def test_the_command_names_a_missing_or_broken_log_and_a_missing_url(
    recorder: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["lineage", "replay", "--url", recorder.url, "--log", str(missing)]) == 2
    assert f"no OpenLineage event log at {missing}" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(_event(1)) + "\n{not json\n")
    assert main(["lineage", "replay", "--url", recorder.url, "--log", str(broken)]) == 2
    assert f"{broken}:2: not JSON" in capsys.readouterr().err
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    assert main(["lineage", "replay", "--log", str(broken)]) == 2
    assert "pass --url or set OPENLINEAGE_URL" in capsys.readouterr().err


def test_the_url_and_log_default_to_the_environment(
    recorder: Recorder, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "lineage" / "events.jsonl"
    log.parent.mkdir()
    log.write_text(json.dumps(_event(1)) + "\n")
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path))
    monkeypatch.setenv("OPENLINEAGE_URL", recorder.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "k3y")
    assert main(["lineage", "replay"]) == 0
    assert f"replaying {log} to {recorder.url}" in capsys.readouterr().err
    ((_, headers, _),) = recorder.posts
    assert headers["Authorization"] == "Bearer k3y"
