"""Check OpenLineage events against the spec's JSON Schemas, offline.

Each event is validated as a ``RunEvent`` (``OpenLineage.json``), and then each facet on its own against
the schema its ``_schemaURL`` names (the event schema only checks that a facet is *a* facet). Schemas
are looked up by ``$id`` in a local registry, so nothing is fetched: the spec's files, synthgov's own
(``synthgov.lineage.facets``), and the schemas other producers ship with their packages (the dbt
integration names GitHub URLs for its facets; the file is matched by name in ``extra_schema_dirs``).

On top of the schema, what Marquez (``POST /api/v1/lineage``) requires of a run event: ``eventTime``
with a time zone, ``producer``, ``run.runId`` as a UUID, ``job.namespace`` and ``job.name``; and, over
a whole log, exactly one START and one terminal event (COMPLETE, FAIL or ABORT) per run.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from synthgov.lineage.facets import SCHEMA_DIR

RUN_EVENT_REF = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
TERMINAL = frozenset({"COMPLETE", "FAIL", "ABORT"})
_CORE_URL = re.compile(r"https://openlineage\.io/spec/[0-9-]+/OpenLineage\.json")

# Where each kind of facet sits in a run event, and the base schema a facet there must match.
_FACET_PLACES = {
    "run": "RunFacet",
    "job": "JobFacet",
    "dataset": "DatasetFacet",
    "input": "InputDatasetFacet",
    "output": "OutputDatasetFacet",
}


@dataclass
class Report:
    """What a validation found: problems (each names the event and the place), and facets checked only
    against their base schema because the schema they name is not available offline."""

    events: int = 0
    problems: list[str] = field(default_factory=list)
    unresolved: Counter[str] = field(default_factory=Counter)
    facets_checked: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


class EventValidator:
    """Validates run events against ``spec_dir`` (``OpenLineage.json`` and ``facets/*.json``)."""

    def __init__(self, spec_dir: Path, extra_schema_dirs: Iterable[Path] = ()) -> None:
        resources: list[tuple[str, Any]] = []
        self._by_name: dict[str, str] = {}
        for path in [spec_dir / "OpenLineage.json", *sorted((spec_dir / "facets").glob("*.json"))]:
            resources.append(self._load(path, by_name=False))
        for directory in [SCHEMA_DIR, *extra_schema_dirs]:
            for path in sorted(Path(directory).glob("*.json")):
                resources.append(self._load(path, by_name=True))
        self._ids = {uri for uri, _ in resources}
        # Schemas of other producers may point at an older core schema (spec/1-0-2/OpenLineage.json); the
        # base definitions they use (BaseFacet, RunFacet, ...) are the same in the core copy we hold.
        core = resources[0][1]
        older = {m for _, c in resources for m in _CORE_URL.findall(json.dumps(c))} - self._ids
        resources += [(uri, core) for uri in sorted(older)]
        self.aliases = sorted(older)
        self._registry: Registry[Any] = Registry().with_resources(
            (uri, Resource.from_contents(contents, default_specification=DRAFT202012)) for uri, contents in resources
        )
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def _load(self, path: Path, *, by_name: bool) -> tuple[str, Any]:
        contents = json.loads(path.read_text())
        uri = contents.get("$id") or path.resolve().as_uri()
        if by_name:
            self._by_name[path.name] = uri
        return uri, contents

    def _validator(self, ref: str) -> jsonschema.protocols.Validator:
        if ref not in self._validators:
            self._validators[ref] = jsonschema.Draft202012Validator(
                {"$ref": ref}, registry=self._registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[ref]

    def _errors(self, ref: str, instance: Any) -> list[str]:
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in self._validator(ref).iter_errors(instance)
        ]

    def facet_ref(self, key: str, schema_url: str) -> str | None:
        """The schema reference for a facet stored under ``key`` with this ``_schemaURL``; None if unknown here."""
        resource, _, pointer = schema_url.partition("#")
        if resource not in self._ids:
            resource = self._by_name.get(resource.rsplit("/", 1)[-1], "")
            if not resource:
                return None
        if pointer:
            return f"{resource}#{pointer}"
        # No pointer (the dbt integration's facets): the schema's root maps facet keys to definitions.
        root = self._registry.contents(resource)
        prop = (root.get("properties") or {}).get(key) if isinstance(root, Mapping) else None
        if isinstance(prop, Mapping) and isinstance(prop.get("$ref"), str) and prop["$ref"].startswith("#"):
            return f"{resource}{prop['$ref']}"
        return resource

    def check(self, event: Mapping[str, Any], where: str, report: Report) -> None:
        """Add the problems of one event to ``report``; ``where`` names it in the messages."""
        report.events += 1
        report.problems += [f"{where}: {m}" for m in self._errors(RUN_EVENT_REF, event)]
        report.problems += [f"{where}: {m}" for m in marquez_problems(event)]
        for place, key, facet in _facets(event):
            label = f"{where}: {place} facet {key!r}"
            if not isinstance(facet, Mapping):
                report.problems.append(f"{label}: not an object")
                continue
            url = facet.get("_schemaURL")
            if not isinstance(url, str) or not facet.get("_producer"):
                report.problems.append(f"{label}: needs _producer and _schemaURL")
                continue
            ref = self.facet_ref(key, url)
            if ref is None:
                # Still a facet: checked against the spec's base class for its place.
                report.unresolved[url] += 1
                ref = f"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{_FACET_PLACES[place]}"
            report.facets_checked[key] += 1
            report.problems += [f"{label} ({url}): {m}" for m in self._errors(ref, facet)]

    def validate(self, events: Iterable[Mapping[str, Any]]) -> Report:
        """Every event on its own, then the START / terminal pairing of every run."""
        report = Report()
        listed = list(events)
        for i, event in enumerate(listed, start=1):
            job = event.get("job") or {}
            self.check(event, f"event {i} ({event.get('eventType')} {job.get('name')})", report)
        report.problems += run_pairing_problems(listed)
        return report


def _facets(event: Mapping[str, Any]) -> Iterable[tuple[str, str, Any]]:
    for place, holder in (("run", event.get("run") or {}), ("job", event.get("job") or {})):
        for key, facet in (holder.get("facets") or {}).items():
            yield place, key, facet
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for dataset in event.get(side) or []:
            for key, facet in (dataset.get("facets") or {}).items():
                yield "dataset", key, facet
            for key, facet in (dataset.get(extra) or {}).items():
                yield ("input" if side == "inputs" else "output"), key, facet


def marquez_problems(event: Mapping[str, Any]) -> list[str]:
    """What Marquez's lineage endpoint refuses: no time (or no zone), no producer, a runId not a UUID, no job."""
    problems = []
    stamp = event.get("eventTime")
    try:
        if not isinstance(stamp, str) or datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is None:
            problems.append(f"eventTime {stamp!r} has no time zone")
    except ValueError:
        problems.append(f"eventTime {stamp!r} is not an ISO 8601 date-time")
    if not event.get("producer"):
        problems.append("no producer")
    run_id = (event.get("run") or {}).get("runId")
    try:
        uuid.UUID(str(run_id))
    except ValueError:
        problems.append(f"run.runId {run_id!r} is not a UUID")
    job = event.get("job") or {}
    if not job.get("namespace") or not job.get("name"):
        problems.append("job.namespace and job.name are required")
    return problems


def run_pairing_problems(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every run has exactly one START and exactly one COMPLETE, FAIL or ABORT."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    names: dict[str, str] = {}
    for event in events:
        run_id = str((event.get("run") or {}).get("runId"))
        seen[run_id][str(event.get("eventType"))] += 1
        job = event.get("job") or {}
        names[run_id] = f"{job.get('namespace')}/{job.get('name')}"
    problems = []
    for run_id, types in seen.items():
        starts, ends = types["START"], sum(types[t] for t in TERMINAL)
        if starts != 1 or ends != 1:
            problems.append(
                f"run {run_id} ({names[run_id]}): {starts} START and {ends} terminal events, want one of each "
                f"({dict(types)})"
            )
    return problems
