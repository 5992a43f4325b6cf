"""Send the event log's events to an OpenLineage HTTP backend later: ``synthgov lineage replay``.

The file transport keeps every event whatever happens to Marquez; when Marquez was down for a run (or
came later), replaying the log gives it what it missed. Replaying is idempotent in Marquez: runs are
keyed by their runId and versions by their content, so events it already has change no run, job
version or dataset version (only its raw event table, an audit log, grows).

Events are posted one by one, oldest first, with the transport's retries (``HTTP_RETRY``: connection
errors and 5xx). A backend that cannot be reached stops the replay (every later event would fail
too); an event it refuses (4xx, or 5xx after the retries) is reported with its line and the replay
goes on, so one bad event does not hold back the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urljoin

import requests
import urllib3.util
from requests.adapters import HTTPAdapter

from synthgov import lineage

# Progress every this many events: a night's log is a few hundred, a backfill's many thousands.
PROGRESS_EVERY = 100


class ReplayError(RuntimeError):
    """The replay could not go on: the log is unreadable or the backend unreachable (the message says which)."""


@dataclass
class ReplayResult:
    url: str
    log: Path
    sent: int = 0
    refused: list[str] = field(default_factory=list)  # "line N: <job> <eventType>: HTTP <status> <body>"

    @property
    def ok(self) -> bool:
        return not self.refused


def _events(log: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        yield from lineage.iter_numbered_events(log)
    except lineage.EventLogError as exc:
        raise ReplayError(str(exc)) from None


def _session(api_key: str | None) -> requests.Session:
    session = requests.Session()
    # The same retries as the live transport; POST must be named, urllib3 retries only idempotent methods.
    retry = urllib3.util.Retry(**lineage.HTTP_RETRY, allowed_methods=["POST"], raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["Content-Type"] = "application/json"
    if api_key:
        session.headers["Authorization"] = f"Bearer {api_key}"
    return session


def replay(
    log: Path,
    url: str,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    progress: TextIO | None = None,
) -> ReplayResult:
    """Post every event of ``log`` to ``url`` + ``endpoint`` (default ``api/v1/lineage``), oldest first.

    Raises ReplayError when the log is missing or unreadable, or the backend cannot be reached.
    """
    if not log.is_file():
        raise ReplayError(f"no OpenLineage event log at {log}")
    target = urljoin(url.rstrip("/") + "/", endpoint or lineage.DEFAULT_ENDPOINT)
    result = ReplayResult(url=target, log=log)
    with _session(api_key) as session:
        for number, event in _events(log):
            try:
                response = session.post(target, data=json.dumps(event), timeout=lineage.HTTP_TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                raise ReplayError(
                    f"cannot reach {target} (after {result.sent} events of {log} were sent): {exc}"
                ) from None
            result.sent += 1
            if not response.ok:
                job = (event.get("job") or {}).get("name")
                body = response.text.strip().replace("\n", " ")[:200]
                result.refused.append(
                    f"line {number}: {job} {event.get('eventType')}: HTTP {response.status_code} {body}"
                )
            if progress is not None and result.sent % PROGRESS_EVERY == 0:
                print(f"{result.sent} events sent, {len(result.refused)} refused", file=progress)
    return result


# -- the command line: `synthgov lineage replay` -------------------------------------------------------


def add_replay_command(sub: Any) -> None:
    """``synthgov lineage replay`` in the CLI's subcommands (``sub`` from ``add_subparsers``)."""
    group = sub.add_parser("lineage", help="the OpenLineage event log")
    group_sub = group.add_subparsers(dest="lineage_command", required=True, metavar="SUBCOMMAND")
    cmd = group_sub.add_parser(
        "replay",
        help="send the event log's events to Marquez (or another OpenLineage backend), e.g. after it was down",
        description=(
            "Post every event of the OpenLineage event log, oldest first, to the backend's lineage endpoint, "
            "with the transport's retries. Idempotent in Marquez: events it already has change nothing. "
            "Progress on stderr. Exit status: 0 every event accepted, 1 some refused (each listed with its "
            "line), 2 the log could not be read or the backend not reached."
        ),
    )
    cmd.add_argument(
        "--url", default=None, help=f"the backend, e.g. http://127.0.0.1:5000 (default ${lineage.URL_ENV})"
    )
    cmd.add_argument(
        "--log",
        type=Path,
        default=None,
        metavar="FILE",
        help="the event log, JSON lines (default: where synthgov's file transport writes)",
    )
    cmd.add_argument(
        "--endpoint", default=None, help=f"default ${lineage.ENDPOINT_ENV}, else {lineage.DEFAULT_ENDPOINT}"
    )


def run_replay_command(args: argparse.Namespace) -> int:
    stderr = sys.stderr
    backend = lineage.http_backend_from_env()
    url = args.url or backend.url
    if not url:
        print(f"synthgov lineage replay: no backend: pass --url or set {lineage.URL_ENV}", file=stderr)
        return 2
    log = args.log if args.log is not None else lineage.event_log_path()
    print(f"replaying {log} to {url}", file=stderr)
    try:
        result = replay(
            log,
            url,
            endpoint=args.endpoint or backend.endpoint,
            api_key=backend.api_key,
            progress=stderr,
        )
    except ReplayError as exc:
        print(f"synthgov lineage replay: {exc}", file=stderr)
        return 2
    for refused in result.refused:
        print(f"refused: {refused}", file=stderr)
    print(f"{result.sent} events sent to {result.url}, {len(result.refused)} refused", file=stderr)
    return 0 if result.ok else 1
