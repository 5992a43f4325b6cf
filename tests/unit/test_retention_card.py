"""The approval card and the plan manifest's groups and sample: in words, bounded, linking to the plan's page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from synthgov.lake import LocalLake
from synthgov.retention import card
from synthgov.retention.plan import PlanRequest, _store, load_plan
from synthgov.retention.rules import Policy
from synthgov.retention.run import PlanSummary

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 11, 2, 9, tzinfo=UTC)
POLICIES = {
    "ai-email-180d": Policy.from_entry(
        {
            "id": "ai-email-180d",
            "object": "EmailMessage",
            "applies_to": "ai_generated",
            "days": 180,
            "exempt": ["legal_hold", "human_reviewed"],
            "action": "soft_delete",
            "approval_threshold": 5,
            "regulation": "GDPR Art. 5(1)(e)",
        }
    ),
    "ai-task-90d": Policy.from_entry(
        {
            "id": "ai-task-90d",
            "object": "Task",
            "applies_to": "ai_generated",
            "days": 90,
            "action": "hard_delete",
            "approval_threshold": 100,
            "regulation": "GDPR Art. 5(1)(e)",
        }
    ),
}


def row(
    i: int, obj: str, policy: str, status: str = "planned", reason: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "object_name": obj,
        "record_id": f"{obj[:3]}{i:015d}",
        "policy_id": policy,
        "action": POLICIES[policy].action,
        "evidence": "explicit_field",
        "ai_tool": extra.get("ai_tool", "Copy.ai"),
        "ai_model": "gpt-4o",
        "target_object": obj,
        "target_id": f"{obj[:3]}{i:015d}",
        "parent_id": None,
        "system_modstamp": AS_OF.isoformat(),
        "status": status,
        "reason": reason,
        "label": extra.get("label", f"Follow-up {i}"),
        "generated_at": "2026-01-05T10:00:00+00:00",
        "due_at": "2026-07-04T10:00:00+00:00",
        "human_reviewed": extra.get("human_reviewed", False),
    }


def rows(emails: int, tasks: int = 3) -> list[dict[str, Any]]:
    out = [row(i, "EmailMessage", "ai-email-180d") for i in range(emails)]
    out += [row(1000 + i, "Task", "ai-task-90d", ai_tool=None) for i in range(tasks)]
    out += [row(2000 + i, "EmailMessage", "ai-email-180d", "skipped", "legal_hold") for i in range(2)]
    out.append(row(3000, "Task", "ai-task-90d", "skipped", "human_reviewed"))
    out.append(row(3001, "EmailMessage", "ai-email-180d", "deferred", "over_cap"))
    return out


def stored(tmp_path: Path, plan_rows: list[dict[str, Any]], request: PlanRequest | None = None) -> PlanSummary:
    lake = LocalLake(tmp_path / "lake")
    request = request or PlanRequest(run_kind="ad_hoc", reason="INC-9 | tool misused", requested_by="ana")
    _store(lake, "20261102T090000Z-abc", plan_rows, POLICIES, request, AS_OF)
    return PlanSummary.of(load_plan(lake, "20261102T090000Z-abc"), lake)


def test_the_card_says_what_would_go_in_words_what_stays_and_why_and_shows_a_sample(tmp_path: Path) -> None:
    summary = stored(tmp_path, rows(9))
    text = summary.card
    assert text.startswith("**12 records** would be purged: 9 EmailMessage and 3 Task.")
    assert "- By policy: 9 under `ai-email-180d` (soft delete) and 3 under `ai-task-90d` (hard delete)." in text
    assert "- By generating tool: 9 made by Copy.ai and 3 made by unknown tool." in text
    assert "**Left alone: 4 records.**" in text
    assert "- 2 records: on legal hold: a hold always wins (2 EmailMessage)." in text
    assert "- 1 record: reviewed by a person, which its policy exempts (1 Task)." in text
    assert "- 1 record: over a cap of the run or of its policy: a later run takes it (1 EmailMessage)." in text
    assert "Run: ad hoc, scope `due`, reason: INC-9 \\| tool misused, requested by ana." in text
    # A table of the sample: one line per record, the small object not crowded out by the large one.
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0] == "| object | id | name or subject | tool | model | generated | policy | due |"
    assert len(table) == 1 + card.SAMPLE_SIZE
    assert sum(line.startswith("| Task |") for line in table) == 3
    assert (
        "| EmailMessage | `Ema000000000000000` | Follow-up 0 | Copy.ai | gpt-4o | 2026-01-05 | ai-email-180d |" in text
    )
    # The whole plan one click away, on the governance page; never a path on a worker, never a dict.
    assert "[The whole plan, record by record](/governance/plans/20261102T090000Z-abc)" in text
    assert summary.page == "/governance/plans/20261102T090000Z-abc"
    assert "file://" not in text and str(tmp_path) not in text and "{'" not in text


def test_the_manifest_keeps_the_groups_the_sample_and_the_page_for_the_governance_page(tmp_path: Path) -> None:
    stored(tmp_path, rows(9))
    lake = LocalLake(tmp_path / "lake")
    manifest = json.loads(lake.get_bytes("retention/plans/20261102T090000Z-abc/manifest.json"))
    assert manifest["counts"]["by_policy"] == {"ai-email-180d": 9, "ai-task-90d": 3}
    assert manifest["counts"]["by_tool"] == {"Copy.ai": 9, card.UNKNOWN_TOOL: 3}
    assert [(g["reason"], g["status"], g["records"]) for g in manifest["skip_groups"]] == [
        ("legal_hold", "skipped", 2),
        ("human_reviewed", "skipped", 1),
        ("over_cap", "deferred", 1),
    ]
    assert len(manifest["sample"]) == card.SAMPLE_SIZE
    assert set(manifest["sample"][0]) == {"object", "id", "label", "tool", "model", "generated_at", "policy", "due_at"}
    assert manifest["page"] == "/governance/plans/20261102T090000Z-abc"
    # What the manifest always said is still there, unchanged in shape.
    assert manifest["counts"]["skipped"] == {"legal_hold": 2, "human_reviewed": 1}
    assert manifest["counts"]["by_object"] == {"EmailMessage": 9, "Task": 3}


def test_the_xcom_stays_small_however_large_the_plan(tmp_path: Path) -> None:
    small = json.dumps(stored(tmp_path / "s", rows(12)).to_xcom())
    large = json.dumps(stored(tmp_path / "l", rows(20_000)).to_xcom())
    # Only the digits of the counts grow: no list of records rides along.
    assert len(large) - len(small) < 100, (len(small), len(large))
    assert "Ema000000000019999" not in large


def test_reviewed_records_an_incident_purge_takes_are_named_on_the_card(tmp_path: Path) -> None:
    plan_rows = rows(2) + [row(4000, "EmailMessage", "ai-email-180d", human_reviewed=True)]
    request = PlanRequest(run_kind="ad_hoc", reason="INC-9", scope="all_ai", tools=("Copy.ai",))
    text = stored(tmp_path, plan_rows, request).card
    assert "- 1 record of them was reviewed by a person: scope `all_ai` takes reviewed records too" in text
    assert "Why a person must approve: " in text and "scope all_ai" in text


def test_labels_are_clipped_and_kept_on_one_table_line() -> None:
    long = "Re: " + "very long subject " * 10 + "\nsecond line"
    (item,) = card.sample([row(1, "EmailMessage", "ai-email-180d", label=long)])
    assert item["label"] is not None and len(item["label"]) == card.LABEL_CHARS and "\n" not in item["label"]
    assert card.counts_in_words({"A": 1}) == "1 A"
    assert card.counts_in_words({"A": 1, "B": 5, "C": 2}) == "5 B, 2 C and 1 A"
