"""What a person reads before approving a purge: the plan in words, what it leaves alone and why, a sample.

The approval step in Airflow shows ``approval_card``; the same groups and sample are stored in the
plan's manifest (``synthgov.retention.plan``), where the governance page reads them, so the card and
the page never disagree. Everything here is bounded (a sample, one group per reason): the card travels
as an XCom.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

SAMPLE_SIZE = 10
LABEL_CHARS = 80
UNKNOWN_TOOL = "unknown tool"
PLAN_PAGE = "/governance/plans/{plan_id}"

# Each reason a plan leaves a record alone (rules.SKIP_REASONS, plus the plan's and the caps' own), in words.
MEANINGS = {
    "not_found": "no longer in the org (deleted since the last build)",
    "heuristic_only": "AI-made only by a text marker: reported, never purged on a guess",
    "no_longer_ai_generated": "its AI-generated field was cleared since the last build",
    "not_synthetic_persona": "no longer marked a synthetic persona",
    "legal_hold": "on legal hold: a hold always wins",
    "human_reviewed": "reviewed by a person, which its policy exempts",
    "not_due": "not due yet under its policy",
    "edited_after_plan": "edited in the org after the plan was made",
    "other_versions_outside_plan": "a file with versions the plan does not cover (deleting it would take them)",
    "tool_mismatch": "its own tool field now names another tool than the one asked for",
    "mask_not_possible_on_files": "files cannot be masked",
    "over_cap": "over a cap of the run or of its policy: a later run takes it",
}
ACTIONS = {"soft_delete": "soft delete", "hard_delete": "hard delete", "mask": "mask"}


def plan_page(plan_id: str) -> str:
    """The plan's page in the governance UI, relative to the Airflow web server (a link, not a lake path)."""
    return PLAN_PAGE.format(plan_id=plan_id)


def meaning(reason: str) -> str:
    return MEANINGS.get(reason, reason.replace("_", " "))


def skip_groups(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One group per reason a record is left alone, largest first: what the approver must know is not purged."""
    by_reason: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row["status"] in ("skipped", "deferred"):
            by_reason[(str(row["status"]), str(row["reason"]))][str(row["object_name"])] += 1
    groups = [
        {
            "reason": reason,
            "status": status,
            "records": sum(objects.values()),
            "by_object": dict(sorted(objects.items())),
            "meaning": meaning(reason),
        }
        for (status, reason), objects in by_reason.items()
    ]
    return sorted(groups, key=lambda g: (-int(g["records"]), str(g["reason"])))


def sample(planned: Sequence[Mapping[str, Any]], size: int = SAMPLE_SIZE) -> list[dict[str, Any]]:
    """Up to `size` planned records, taken in turn from each object so a small object is not hidden."""
    by_object: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in planned:
        by_object[str(row["object_name"])].append(row)
    queues = [list(reversed(rows)) for _, rows in sorted(by_object.items())]
    picked: list[Mapping[str, Any]] = []
    while len(picked) < size and any(queues):
        for queue in queues:
            if queue and len(picked) < size:
                picked.append(queue.pop())
    return [
        {
            "object": row["object_name"],
            "id": row["record_id"],
            "label": _clip(row.get("label")),
            "tool": row.get("ai_tool"),
            "model": row.get("ai_model"),
            "generated_at": row.get("generated_at"),
            "policy": row["policy_id"],
            "due_at": row.get("due_at"),
        }
        for row in picked
    ]


def _clip(text: Any) -> str | None:
    if text is None:
        return None
    flat = " ".join(str(text).split())
    return flat if len(flat) <= LABEL_CHARS else flat[: LABEL_CHARS - 1] + "…"


def records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def in_words(parts: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def counts_in_words(counts: Mapping[str, int], template: str = "{n} {key}") -> str:
    """Largest first, e.g. '9 EmailMessage and 3 Task'."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return in_words([template.format(n=n, key=key) for key, n in items])


def _cell(value: Any) -> str:
    if value in (None, ""):
        return "-"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _day(stamp: Any) -> str:
    return str(stamp)[:10] if stamp else "-"


def approval_card(summary: Mapping[str, Any]) -> str:
    """The approval step's body in markdown, from the plan summary (``run.PlanSummary.to_xcom``)."""
    planned = int(summary["planned"])
    policies: Mapping[str, Mapping[str, Any]] = summary.get("policies") or {}
    lines = [f"**{records(planned)}** would be purged: {counts_in_words(summary['by_object'])}."]
    by_policy = summary.get("by_policy") or {}
    if by_policy:
        parts = [
            f"{n} under `{pid}` ({ACTIONS.get(str(policies.get(pid, {}).get('action')), 'purge')})"
            for pid, n in sorted(by_policy.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        lines.append(f"- By policy: {in_words(parts)}.")
    by_tool = summary.get("by_tool") or {}
    if by_tool:
        lines.append(f"- By generating tool: {counts_in_words(by_tool, '{n} made by {key}')}.")
    reviewed = int(summary.get("human_reviewed") or 0)
    if reviewed:
        lines.append(
            f"- {records(reviewed)} of them {'was' if reviewed == 1 else 'were'} reviewed by a person: "
            "scope `all_ai` takes reviewed records "
            "too (a legal hold still wins)."
        )
    groups: Sequence[Mapping[str, Any]] = summary.get("skip_groups") or []
    left = sum(int(g["records"]) for g in groups)
    lines.append("")
    if groups:
        lines.append(f"**Left alone: {records(left)}.**")
        for g in groups:
            lines.append(f"- {records(int(g['records']))}: {g['meaning']} ({counts_in_words(g['by_object'])}).")
    else:
        lines.append("**Left alone:** none of the candidates.")
    lines.append("")
    why = summary.get("approval_why") or []
    if why:
        lines.append(f"Why a person must approve: {'; '.join(why)}.")
    run = "ad hoc" if summary.get("run_kind") == "ad_hoc" else "scheduled"
    reason = summary.get("reason")
    by = summary.get("requested_by")
    lines.append(
        f"Run: {run}, scope `{summary.get('scope') or 'due'}`"
        + (f", reason: {_cell(reason)}" if reason else "")
        + (f", requested by {_cell(by)}" if by else "")
        + "."
    )
    rows: Sequence[Mapping[str, Any]] = summary.get("sample") or []
    if rows:
        lines += [
            "",
            f"**Sample: {len(rows)} of {records(planned)}.**",
            "",
            "| object | id | name or subject | tool | model | generated | policy | due |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['object']} | `{r['id']}` | {_cell(r.get('label'))} | {_cell(r.get('tool'))} | "
            f"{_cell(r.get('model'))} | {_day(r.get('generated_at'))} | {_cell(r['policy'])} | "
            f"{_day(r.get('due_at'))} |"
            for r in rows
        ]
    lines += [
        "",
        f"[The whole plan, record by record]({summary['page']}) (plan `{summary['plan_id']}`, "
        f"SHA-256 `{summary['sha256']}`).",
    ]
    return "\n".join(lines)
