"""One extraction run over the configured objects, then media inspection and the warehouse load."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from synthgov import lake as lakes
from synthgov.extract.config import ExtractionConfig
from synthgov.extract.extractor import ObjectResult, extract_object
from synthgov.extract.media import MediaResult, inspect_pending
from synthgov.lake.runs import new_run_id
from synthgov.provenance.trust import load_c2pa_trust
from synthgov.salesforce.connection import ApiLimitReached, SalesforceConnection, window_end
from synthgov.settings import Settings
from synthgov.warehouse import LoadResult, Warehouse, load_pending, load_run, loaded_runs

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    run_id: str
    window_end: str
    objects: list[ObjectResult] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)
    stopped: str | None = None
    media: MediaResult | None = None
    loads: list[LoadResult] = field(default_factory=list)
    api: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "window_end": self.window_end,
            "objects": [o.as_dict() for o in self.objects],
            "not_done": self.not_done,
            "stopped": self.stopped,
            "media": self.media.as_dict() if self.media else None,
            "loads": [{"object": r.object, "run_id": r.run_id, "rows": r.rows} for r in self.loads],
            "api": self.api,
        }


def extract_all(
    conn: SalesforceConnection,
    lake: lakes.Lake,
    config: ExtractionConfig,
    settings: Settings,
    *,
    objects: Sequence[str] | None = None,
    report: Callable[[str], None] = log.info,
) -> RunReport:
    """Extract the configured objects (or the named ones) in one run.

    An exhausted API budget ends the run cleanly: the objects done so far keep their data and
    watermarks, the rest are listed in `not_done` and are read in full by the next run.
    """
    specs = [config.get(name) for name in objects] if objects else list(config.objects)
    lake.check_writable()
    end = window_end(conn.org_now(), settings.window_lag_seconds)
    run = RunReport(new_run_id(end), end.isoformat())
    for i, spec in enumerate(specs):
        try:
            run.objects.append(
                extract_object(
                    conn,
                    lake,
                    spec,
                    run_id=run.run_id,
                    run_start=end,
                    bulk_threshold=config.bulk_threshold,
                    part_rows=settings.part_rows,
                    page_size=settings.page_size,
                    bulk_poll_seconds=settings.bulk_poll_seconds,
                    report=report,
                )
            )
        except ApiLimitReached as exc:
            run.stopped = str(exc)
            run.not_done = [s.name for s in specs[i:]]
            report(f"stopping the run: {exc}; not extracted: {', '.join(run.not_done)}")
            break
    if any(s.inspect_media for s in specs) and run.stopped is None:
        try:
            run.media = inspect_pending(
                conn, lake, max_bytes=settings.media_max_bytes, trust=load_c2pa_trust(), report=report
            )
        except ApiLimitReached as exc:
            run.stopped = str(exc)
            report(f"stopping media inspection: {exc}")
    run.api = conn.budget.summary()
    return run


def load_all(
    lake: lakes.Lake, warehouse: Warehouse, objects: Sequence[str], findings: Sequence[dict[str, Any]] = ()
) -> list[LoadResult]:
    """Append every extracted run the warehouse lacks, then this run's findings runs (media, training zone).

    ``findings`` are the manifests the inspecting tasks wrote; each names its object, so one list
    carries the media findings and the training-zone snapshots alike.
    """
    results = load_pending(warehouse, lake, list(objects))
    loaded: dict[str, set[str]] = {}
    for manifest in findings:
        obj = str(manifest["object"])
        if obj not in loaded:
            loaded[obj] = loaded_runs(warehouse, obj)
        if manifest["run_id"] not in loaded[obj]:
            results.append(load_run(warehouse, lake, manifest))
    return results
