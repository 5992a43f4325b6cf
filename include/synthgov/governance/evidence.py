"""The ledger, the retention plans and the regulator pack, as the Governance page shows them.

The receipts are the ledger's entries without their per-record outcomes (counted instead); a
verification is ``EvidenceLedger.verify`` with no anchors, the check ``synthgov evidence verify``
runs. A plan is read through ``synthgov.retention.plan.load_plan``, so a tampered plan is refused
here as at apply time.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from synthgov.lake import Lake, LakeError
from synthgov.report.build import INDEX, report_root
from synthgov.report.collect import jsonable
from synthgov.retention.evidence import EvidenceLedger, LedgerError
from synthgov.retention.plan import PlanTampered, load_plan

from .marts import GovernanceQueryError, Page, page_bounds

# Plan ids are run ids (``synthgov.lake.runs.new_run_id``): letters, digits and a few separators, never a path.
_PLAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}")


def receipts(lake: Lake) -> list[dict[str, Any]]:
    """The ledger's entries, newest first, each with its outcomes counted (the records themselves left out)."""
    try:
        entries = EvidenceLedger(lake).entries()
    except (LakeError, LedgerError) as exc:
        raise GovernanceQueryError(f"cannot read the evidence ledger: {exc}") from exc
    out = []
    for entry in reversed(entries):
        items = entry.get("outcomes")
        listed: list[Any] = items if isinstance(items, list) else []
        tally = Counter(str(item.get("outcome")) for item in listed if isinstance(item, dict))
        out.append(
            {
                **jsonable({k: v for k, v in entry.items() if k != "outcomes"}),
                "outcome_counts": dict(sorted(tally.items())),
            }
        )
    return out


def verify(lake: Lake) -> dict[str, Any]:
    """The ledger's verification, as ``synthgov evidence verify`` reports it: ok, a summary line, the problems."""
    try:
        report = EvidenceLedger(lake).verify()
    except LakeError as exc:
        raise GovernanceQueryError(f"cannot read the evidence ledger: {exc}") from exc
    return {
        "ok": report.ok,
        "summary": report.summary(),
        "entries": report.entries,
        "head_seq": report.head_seq,
        "head_sha256": report.head_sha256,
        "storage": report.storage_text(),
        "problems": [str(p) for p in report.problems],
    }


def plan(lake: Lake, plan_id: str, *, page: int = 1, size: int = 200) -> dict[str, Any]:
    """A stored retention plan: its manifest, the skipped records grouped by reason, one page of its rows."""
    if not _PLAN_ID.fullmatch(plan_id):
        raise GovernanceQueryError(f"{plan_id!r} is not a plan id (a run id such as 20260101T000000Z-ab12)")
    page, size = page_bounds(page, size)
    try:
        stored = load_plan(lake, plan_id)
    except PlanTampered as exc:
        raise GovernanceQueryError(str(exc)) from exc
    except LakeError as exc:
        raise GovernanceQueryError(f"cannot read plan {plan_id} from the lake: {exc}") from exc
    skipped: Counter[tuple[str, str, str]] = Counter(
        (str(r["reason"]), str(r["object_name"]), str(r["policy_id"])) for r in stored.rows if r["status"] == "skipped"
    )
    start = (page - 1) * size
    return {
        "plan_id": plan_id,
        "manifest": jsonable(stored.manifest),
        "skipped_groups": [
            {"reason": reason, "object_name": obj, "policy_id": policy, "records": n}
            for (reason, obj, policy), n in sorted(skipped.items())
        ],
        "rows": Page(jsonable(stored.rows[start : start + size]), page, size, len(stored.rows)),
    }


def latest_pack(root: Path | None = None) -> Path | None:
    """The folder of the latest regulator pack (``<SYNTHGOV_HOME>/report/latest``), None when none was made."""
    folder = (root or report_root()) / "latest"
    return folder.resolve() if (folder / INDEX).is_file() else None


def pack_file(pack: Path, name: str) -> Path:
    """A file of the pack by its relative name; GovernanceQueryError for one outside it or missing."""
    target = (pack / name).resolve()
    if not target.is_relative_to(pack) or not target.is_file():
        raise GovernanceQueryError(f"the latest pack has no file {name!r}")
    return target


def pack_files(pack: Path) -> list[str]:
    """The pack's files, relative to it, sorted."""
    return sorted(str(p.relative_to(pack)) for p in pack.rglob("*") if p.is_file())
