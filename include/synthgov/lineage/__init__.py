"""Where synthgov's OpenLineage events go, and how to read them back (the regulator pack does).

Every Airflow task and every dbt model run emits OpenLineage run events. By default they are appended,
one JSON document per line, to ``event_log_path()`` (``<SYNTHGOV_HOME>/lineage/events.jsonl``) with
OpenLineage's own file transport. With ``OPENLINEAGE_URL`` set (Marquez: ``http://localhost:5000``)
they are also posted there; the file is still written, so the evidence pack always has the events,
whatever happens to the HTTP backend; ``synthgov lineage replay`` (``synthgov.lineage.replay``) posts
the log's events to the backend later, after it was down.

Job namespace: ``OPENLINEAGE_NAMESPACE`` (default ``synthgov``). Dataset names follow OpenLineage's
naming rules (``synthgov.lineage.datasets``); synthgov's own facets are in ``synthgov.lineage.facets``
with their JSON Schemas in ``schemas/``.

Nothing here imports Airflow: ``synthgov_airflow.lineage`` turns this into the provider's settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgov import settings

NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "synthgov"
URL_ENV = "OPENLINEAGE_URL"
ENDPOINT_ENV = "OPENLINEAGE_ENDPOINT"
API_KEY_ENV = "OPENLINEAGE_API_KEY"
DEFAULT_ENDPOINT = "api/v1/lineage"
EVENT_LOG_NAME = "events.jsonl"

# A backend that is down or failing must cost a task seconds, not minutes: the client's default is five
# retries with back-off per event. Two retries ride out a restart; anything longer is lost to HTTP
# but kept in the event log.
HTTP_TIMEOUT_SECONDS = 5.0
HTTP_RETRY: dict[str, Any] = {
    "total": 2,
    "connect": 2,
    "read": 2,
    "backoff_factor": 0.5,
    "status_forcelist": [500, 502, 503, 504],
}


class EventLogError(ValueError):
    """A line of the event log is not a JSON object; the message names the file and the line."""


def job_namespace(environ: Mapping[str, str] | None = None) -> str:
    """The OpenLineage namespace of synthgov's jobs: ``OPENLINEAGE_NAMESPACE``, else ``synthgov``."""
    return (os.environ if environ is None else environ).get(NAMESPACE_ENV, "").strip() or DEFAULT_NAMESPACE


def event_log_path(home: Path | None = None) -> Path:
    """The OpenLineage event log: ``<SYNTHGOV_HOME>/lineage/events.jsonl`` (JSON lines, appended)."""
    return (home if home is not None else settings.home()) / "lineage" / EVENT_LOG_NAME


def transport_config(
    log_path: Path, url: str | None = None, *, api_key: str | None = None, endpoint: str | None = None
) -> dict[str, Any]:
    """OpenLineage client transport settings: the file transport, plus HTTP when ``url`` is given.

    The composite transport tries every child even when one fails (``continue_on_failure``), so a
    Marquez that is down never costs the events their place in the log.
    """
    file_transport: dict[str, Any] = {"type": "file", "log_file_path": str(log_path), "append": True}
    if not url:
        return file_transport
    http: dict[str, Any] = {
        "type": "http",
        "url": url,
        "endpoint": endpoint or DEFAULT_ENDPOINT,
        "timeout": HTTP_TIMEOUT_SECONDS,
        "retry": dict(HTTP_RETRY),
    }
    if api_key:
        http["auth"] = {"type": "api_key", "apiKey": api_key}
    return {
        "type": "composite",
        "transports": [file_transport, http],
        "continue_on_failure": True,
        "continue_on_success": True,
    }


def transport_from_env(home: Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``transport_config`` for an environment (default: this one): the event log under SYNTHGOV_HOME
    (or ``home``), and Marquez if OPENLINEAGE_URL is set."""
    backend = http_backend_from_env(environ)
    return transport_config(event_log_path(home), backend.url, api_key=backend.api_key, endpoint=backend.endpoint)


@dataclass(frozen=True)
class HttpBackend:
    """Where OpenLineage's HTTP transport sends events (OPENLINEAGE_URL, _ENDPOINT, _API_KEY); url None: nowhere."""

    url: str | None
    endpoint: str | None
    api_key: str | None = field(repr=False)


def http_backend_from_env(environ: Mapping[str, str] | None = None) -> HttpBackend:
    env = os.environ if environ is None else environ
    return HttpBackend(
        url=env.get(URL_ENV, "").strip() or None,
        endpoint=env.get(ENDPOINT_ENV) or None,
        api_key=env.get(API_KEY_ENV) or None,
    )


def iter_events(path: Path | None = None) -> Iterator[dict[str, Any]]:
    """The events in the log, oldest first (an absent log has none).

    A blank line is skipped; a line that is not a JSON object raises EventLogError naming file and
    line, because a regulator's copy must not silently lose an event.
    """
    path = path if path is not None else event_log_path()
    if not path.exists():
        return
    for _, event in iter_numbered_events(path):
        yield event


def iter_numbered_events(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, event) for every event of an existing log, with ``iter_events``'s checks."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EventLogError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(event, dict):
                raise EventLogError(f"{path}:{number}: not a JSON object")
            yield number, event


def read_events(path: Path | None = None) -> list[dict[str, Any]]:
    """Every event in the log (see ``iter_events``)."""
    return list(iter_events(path))
