"""Make the pack: collect the bundle, render the page, write the files and their SHA-256 manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from synthgov import settings
from synthgov.lake import Lake, LakeError, open_lake
from synthgov.lineage import event_log_path
from synthgov.report import charts, collect, lineage, remediation, status
from synthgov.report.collect import ReportError
from synthgov.warehouse import Warehouse, WarehouseError, WarehouseQueryError, open_warehouse

INDEX = "index.html"
BUNDLE = "bundle.json"
MANIFEST = "SHA256SUMS"
LATEST = "latest"
FINDINGS_SHOWN = 200  # rows per control on the page; the CSV and the bundle hold all of them
SEVERITIES = ("high", "medium", "low")
# Spreadsheet programs run a cell that starts with one of these as a formula; record text is untrusted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def report_root() -> Path:
    """Where dated packs go: ``<SYNTHGOV_HOME>/report``."""
    return settings.home() / "report"


@dataclass(frozen=True)
class Pack:
    folder: Path
    files: tuple[str, ...]  # relative to folder, SHA256SUMS last
    bundle: dict[str, Any]
    latest: Path | None  # the ``latest`` link beside a dated pack

    @property
    def index(self) -> Path:
        return self.folder / INDEX

    def summary(self) -> str:
        """A few lines for people: where the pack is and what it says."""
        b = self.bundle
        totals = b["governance"]["totals"]
        verification = b["evidence"]["verification"]
        ledger = (
            f"intact, {verification['entries']} entries"
            if verification["ok"]
            else f"FAILED ({verification['summary']})"
        )
        lines = [
            f"evidence pack: {self.index}",
            f"  {totals['controls_with_findings']} of {totals['controls']} controls with findings "
            f"({totals['findings']} findings: {totals['high_findings']} high, {totals['medium_findings']} medium, "
            f"{totals['low_findings']} low); marts as of {b['governance']['as_of']}",
            *_unjudged_lines(b["governance"]["controls"]),
            *_since_build_lines(b["governance"].get("since_build") or {}),
            f"  provenance ledger: {b['provenance']['records']} AI-generated or synthetic records; "
            f"retention candidates: {b['retention']['candidates']}",
            f"  purge receipts: {len(b['evidence']['receipts'])}; evidence ledger {ledger}",
            f"  lineage: {len(b['lineage']['runs'])} runs from {b['lineage']['events']} events "
            f"({b['lineage']['events_file']})",
            f"  files: {len(self.files)}, SHA-256 of each in {self.folder / MANIFEST} (sha256sum -c {MANIFEST})",
        ]
        if self.latest is not None:
            lines.append(f"  latest pack: {self.latest}")
        return "\n".join(lines)


def _unjudged_lines(controls: list[dict[str, Any]]) -> list[str]:
    """One line per control that could not judge all of its input: it found nothing because it could not look."""
    return [f"  {c['control']}: {status.status_text(c)}" for c in controls if c.get("insufficient_data_reason")]


def _since_build_lines(later: dict[str, Any]) -> list[str]:
    if not later.get("stale"):
        return []
    removed = ", ".join(f"{n} {obj}" for obj, n in later["removed_by_object"].items()) or "nothing"
    return [
        f"  after that build: {len(later['entries'])} ledger entries ({later['purges']} purges, "
        f"{later['rejections']} rejections) removed {removed}; the marts' numbers still count them"
    ]


def build_report(
    out: Path | None = None,
    *,
    warehouse: Warehouse | None = None,
    lake: Lake | None = None,
    policy_dir: Path | None = None,
    events_file: Path | None = None,
    dbt_project: Path | None = None,
    now: datetime | None = None,
    org_url: str | None = None,
) -> Pack:
    """Write the pack to ``out`` (a new or empty folder), else to ``<SYNTHGOV_HOME>/report/<UTC time>/``
    with ``report/latest`` pointing at it. Sources default to the environment's: the warehouse, the lake
    (its evidence ledger), the policy files, the OpenLineage event log and dbt's manifest. ``org_url``
    (default ``SYNTHGOV_SF_INSTANCE_URL``) is the org's My Domain URL the finding rows link to.
    Raises ReportError when the marts are not built or a source cannot be read."""
    now = now or datetime.now(UTC)
    try:
        warehouse = warehouse if warehouse is not None else open_warehouse()
        lake = lake if lake is not None else open_lake()
    except (WarehouseError, LakeError, settings.SettingsError) as exc:
        raise ReportError(str(exc)) from exc
    bundle = collect_bundle(
        warehouse=warehouse,
        lake=lake,
        policy_dir=policy_dir,
        events_file=events_file or event_log_path(),
        dbt_project=dbt_project or settings.dbt_project(),
        now=now,
        org_url=org_url if org_url is not None else settings.SF_INSTANCE_URL.raw(),
    )
    return write_pack(bundle, out, now=now)


def collect_bundle(
    *,
    warehouse: Warehouse,
    lake: Lake,
    policy_dir: Path | None,
    events_file: Path,
    dbt_project: Path,
    now: datetime,
    org_url: str | None = None,
) -> dict[str, Any]:
    """Everything the pack says, JSON-ready; ``lineage._drawing`` is the graph's layout, for the page only."""
    collect.check_warehouse(warehouse)
    try:
        with warehouse:  # one connection for every query
            collect.check_marts(warehouse)
            governance = collect.governance(warehouse)
            provenance = collect.provenance(warehouse)
            retention = collect.retention(warehouse)
            docs = collect.docs(dbt_project, warehouse)
    except WarehouseQueryError as exc:
        # The marts are not what this version reads (a column missing, ...); the cause is the driver's error.
        raise ReportError(
            f"cannot read the marts in {warehouse.description}: {exc.__cause__}; if another synthgov version "
            "built them, rebuild them (the nightly DAG, or `make demo`)"
        ) from exc
    except WarehouseError as exc:
        raise ReportError(str(exc)) from exc
    policies = collect.policies(policy_dir)
    evidence = collect.evidence(lake)
    for control in governance["controls"]:
        control["remediation"] = remediation.hint(str(control["control"]))
        for row in control["rows"] or []:
            row["record_url"] = remediation.record_url(org_url, row.get("entity_id"))
            row["owner_url"] = remediation.record_url(org_url, row.get("owner_id"))
    governance["since_build"] = remediation.since_build(governance["as_of"], evidence["receipts"], evidence["outcomes"])
    return {
        "pack": {
            "format": collect.FORMAT,
            "format_version": collect.FORMAT_VERSION,
            "generated_at": now.isoformat(),
            "generator": f"synthgov {_version()}",
        },
        "sources": {
            "warehouse": warehouse.description,
            "lake": lake.url,
            "policies": policies["directory"],
            "lineage_events": str(events_file),
            "dbt_manifest": docs["manifest"],
            "org": org_url or None,
        },
        "governance": governance,
        "provenance": provenance,
        "retention": retention,
        "policies": policies,
        "evidence": evidence,
        "lineage": lineage.section(events_file),
        "docs": docs,
    }


def _version() -> str:
    try:
        return version("synthgov")
    except PackageNotFoundError:
        return "unknown"


def write_pack(bundle: dict[str, Any], out: Path | None, *, now: datetime) -> Pack:
    """Render and write every file, then SHA256SUMS; a dated pack is written aside and moved in whole."""
    drawing = bundle["lineage"].pop("_drawing", None)
    html = render(bundle, drawing)
    if out is not None:
        out = out.expanduser().resolve()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ReportError(f"{out} is not an empty folder: name a new or empty one, so SHA256SUMS covers all of it")
        try:
            return Pack(out, _write_files(out, bundle, html), bundle, None)
        except OSError as exc:
            raise ReportError(f"cannot write the pack to {out}: {exc}") from exc
    root = report_root()
    partial = root / f".partial-{os.getpid()}-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    try:
        files = _write_files(partial, bundle, html)
        folder = _dated(root, now)
        partial.rename(folder)
        # The link is swapped in one rename, so a reader never finds `latest` missing or half-made.
        link = root / LATEST
        temporary = root / f".{LATEST}-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(folder.name)
        temporary.replace(link)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ReportError(f"cannot write the pack under {root}: {exc}") from exc
    return Pack(folder, files, bundle, link)


def _dated(root: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = root / stamp, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{n}"
    return candidate


def _write_files(folder: Path, bundle: dict[str, Any], html: str) -> tuple[str, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, bytes] = {
        INDEX: html.encode("utf-8"),
        BUNDLE: (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        **{f"data/{name}": body for name, body in _csv_files(bundle).items()},
    }
    for name, body in written.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(written.items()))
    (folder / MANIFEST).write_text(sums, encoding="ascii")
    return (*sorted(written), MANIFEST)


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in header])
    return buffer.getvalue().encode("utf-8")


def _csv_files(bundle: dict[str, Any]) -> dict[str, bytes]:
    controls = bundle["governance"]["controls"]
    findings = [{"control": c["control"], **row} for c in controls for row in c["rows"] or []]
    provenance = [
        {"dimension": dimension, "value": item["value"], "records": item["records"]}
        for dimension, items in bundle["provenance"]["by"].items()
        for item in items
    ]
    receipts = bundle["evidence"]["receipts"]
    receipt_columns = (
        "seq",
        "timestamp",
        "kind",
        "entry_sha256",
        "prev_sha256",
        "plan_id",
        "plan_sha256",
        "run_kind",
        "reason",
        "requested_by",
        "approver",
        "rejected_by",
        "rejection_reason",
        "counts",
        "outcome_counts",
        "verification",
    )
    columns = [
        {"dataset": d["name"], "relation": d["relation"], "layer": d["layer"], **column}
        for d in bundle["docs"]["datasets"]
        for column in d["columns"]
    ]
    return {
        "governance_summary.csv": _csv(collect.SUMMARY_COLUMNS, controls),
        "findings.csv": _csv(("control", *collect.FINDING_COLUMNS, "record_url", "owner_id"), findings),
        "provenance_counts.csv": _csv(("dimension", "value", "records"), provenance),
        "retention_candidates.csv": _csv(collect.CANDIDATE_COLUMNS, bundle["retention"]["rows"]),
        "purge_receipts.csv": _csv(receipt_columns, receipts),
        "purge_outcomes.csv": _csv(
            ("seq", "entry_sha256", "id_sha256", "object", "outcome", "code"), bundle["evidence"]["outcomes"]
        ),
        "lineage_jobs.csv": _csv(
            ("namespace", "name", "runs", "latest_state", "latest_time", "controls"), bundle["lineage"]["jobs"]
        ),
        "lineage_runs.csv": _csv(
            ("run_id", "job_namespace", "job", "parent_run_id", "state", "started", "ended"), bundle["lineage"]["runs"]
        ),
        "columns.csv": _csv(("dataset", "relation", "layer", "name", "type", "description", "documented"), columns),
    }


def render(bundle: dict[str, Any], drawing: dict[str, Any] | None) -> str:
    """index.html from the bundle: autoescaped (record fields are untrusted text), nothing loaded from elsewhere."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("synthgov.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    env.filters["inline"] = _inline
    env.filters["status_text"] = status.status_text
    env.filters["status_css"] = status.status_css
    controls = bundle["governance"]["controls"]
    by = bundle["provenance"]["by"]
    view = {
        "findings_chart": charts.stacked(
            [(c["control"], [(s, int(c[f"{s}_findings"] or 0)) for s in SEVERITIES]) for c in controls],
            title="Findings by control and severity",
        ),
        "provenance_charts": [
            charts.bars([(_value(i["value"]), i["records"]) for i in by[dimension]], title=title)
            for dimension, title in (
                ("provenance_class", "Records by provenance class (IPTC digital source type)"),
                ("evidence", "Records by strongest evidence"),
                ("confidence", "Records by confidence"),
                ("object_name", "Records by Salesforce object"),
                ("ai_tool", "Records by generating tool"),
            )
        ],
        "drawing": drawing,
        "dataset_layers": _by_layer(bundle["docs"]["datasets"]),
        "findings_shown": FINDINGS_SHOWN,
        "jobs_summary": _jobs_summary(bundle["lineage"]["jobs"]),
    }
    return env.get_template("index.html.j2").render(b=bundle, v=view)


def _jobs_summary(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """A few lines in place of the table of every job (all of them are in data/lineage_jobs.csv)."""
    by_namespace = Counter(str(j["namespace"]) for j in jobs)
    by_state = Counter(str(j["latest_state"]) for j in jobs)
    return {
        "jobs": len(jobs),
        "by_namespace": by_namespace.most_common(),
        "by_state": by_state.most_common(),
        "failed": sorted(str(j["name"]) for j in jobs if j["latest_state"] in ("FAIL", "ABORT")),
    }


def _by_layer(datasets: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Datasets grouped by layer, in the bundle's order (sources, seeds, staging, intermediate, marts)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for dataset in datasets:
        groups.setdefault(str(dataset["layer"]), []).append(dataset)
    return list(groups.items())


def _inline(value: Any, skip: str = "") -> str:
    """A mapping in one line, nested ones in parentheses: ``planned 3; skipped_at_plan (none)``."""
    if isinstance(value, dict):
        parts = [
            f"{k} {_inline(v)}" if not isinstance(v, dict) else f"{k} ({_inline(v)})"
            for k, v in value.items()
            if k != skip
        ]
        return "; ".join(parts) or "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "-" if value is None else str(value)


def _value(value: Any) -> str:
    return "(not recorded)" if value is None else str(value)
