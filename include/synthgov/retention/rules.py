"""The last gate before a purge: is this record, as Salesforce holds it now, allowed to go?

The warehouse proposes candidates (dbt's `retention_candidates`); this module decides, record by
record, from the live values read back from the org at plan time and again at apply time. It is
deliberately small and pure so a property test can throw random orgs and policies at it: whatever
the warehouse says, only AI-generated, expired, non-exempt records pass, and a legal hold always
wins, whatever the policy lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

# Evidence a rule can rest on. A text marker is a heuristic: reported, never purged on.
RULE_EVIDENCE = frozenset({"explicit_field", "provenance_record", "c2pa", "integration_user"})
# Evidence that cannot be taken back by editing the record: who created it, a separate provenance
# record, the C2PA manifest inside an immutable ContentVersion. Only the explicit field can flip.
FIXED_EVIDENCE = frozenset({"provenance_record", "c2pa", "integration_user"})

FRACTION_CAP_FLOOR = 100

Scope = Literal["due", "all_ai"]
SCOPES: tuple[Scope, ...] = ("due", "all_ai")

# Why a record is left alone; each is reported in the plan and in the evidence.
SKIP_REASONS = (
    "not_found",
    "heuristic_only",
    "no_longer_ai_generated",
    "not_synthetic_persona",
    "legal_hold",
    "human_reviewed",
    "not_due",
    "edited_after_plan",
    "other_versions_outside_plan",
    "tool_mismatch",
)


@dataclass(frozen=True)
class Policy:
    """One entry of include/policies/retention.yml, as `synthgov.policies.load_policies` returns it validated."""

    id: str
    object: str
    applies_to: str
    days: int
    clock: str
    exempt: frozenset[str]
    action: str
    mask_fields: tuple[str, ...]
    approval_threshold: int
    max_records: int | None
    max_fraction: float | None
    regulation: str

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Policy:
        caps = entry.get("caps") or {}
        return cls(
            id=str(entry["id"]),
            object=str(entry["object"]),
            applies_to=str(entry["applies_to"]),
            days=int(entry["days"]),
            clock=str(entry.get("clock", "generated_at")),
            exempt=frozenset(entry.get("exempt", [])),
            action=str(entry["action"]),
            mask_fields=tuple(entry.get("mask_fields") or ()),
            approval_threshold=int(entry.get("approval_threshold", 0)),
            max_records=caps.get("max_records"),
            max_fraction=caps.get("max_fraction"),
            regulation=str(entry["regulation"]),
        )

    def as_entry(self) -> dict[str, Any]:
        """The policy as retention.yml spells it, defaults filled in (what the evidence pack shows)."""
        caps: dict[str, Any] = {}
        if self.max_records is not None:
            caps["max_records"] = self.max_records
        if self.max_fraction is not None:
            caps["max_fraction"] = self.max_fraction
        entry: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "applies_to": self.applies_to,
            "days": self.days,
            "clock": self.clock,
            "exempt": [e for e in ("legal_hold", "human_reviewed") if e in self.exempt],
            "action": self.action,
            "approval_threshold": self.approval_threshold,
            "caps": caps,
            "regulation": self.regulation,
        }
        if self.mask_fields:  # only masking policies name fields, as in the file
            entry["mask_fields"] = list(self.mask_fields)
        return entry


@dataclass(frozen=True)
class LiveRecord:
    """The values of one record the decision needs, as the org returns them now."""

    id: str
    system_modstamp: datetime | None
    created_at: datetime | None
    generated_at: datetime | None = None
    ai_flag: bool = False
    synthetic_persona: bool = False
    legal_hold: bool = False
    human_reviewed: bool = False
    ai_tool: str | None = None
    ai_model: str | None = None
    parent_id: str | None = None
    content_document_id: str | None = None
    label: str | None = None  # the record's name or subject, for the people who approve a plan


@dataclass(frozen=True)
class Request:
    """What the run asks for beyond the policy: the scope and, for incident response, a tool or model."""

    scope: Scope = "due"
    tools: frozenset[str] = field(default_factory=frozenset)
    models: frozenset[str] = field(default_factory=frozenset)


def evidence_kinds(evidence: str | Iterable[str] | None) -> frozenset[str]:
    """The evidence kinds of a candidate (`evidence_all` of the ledger: comma-separated)."""
    if evidence is None:
        return frozenset()
    items = evidence.split(",") if isinstance(evidence, str) else list(evidence)
    return frozenset(item.strip() for item in items if item and item.strip())


def clock_of(policy: Policy, live: LiveRecord) -> datetime | None:
    if policy.clock == "created_date":
        return live.created_at
    return live.generated_at or live.created_at


def decide(
    policy: Policy,
    evidence: frozenset[str],
    live: LiveRecord | None,
    as_of: datetime,
    request: Request | None = None,
    *,
    planned_modstamp: datetime | None = None,
) -> str | None:
    """None when the record may be purged under `policy`; otherwise the reason it may not.

    `planned_modstamp` is the record's SystemModstamp when the plan was made: at apply time a
    record edited since is left for the next plan rather than deleted on stale facts.
    """
    request = request or Request()
    if live is None:
        return "not_found"
    rule = evidence & RULE_EVIDENCE
    if not rule:
        return "heuristic_only"
    if not (rule & FIXED_EVIDENCE) and not (live.ai_flag or live.synthetic_persona):
        return "no_longer_ai_generated"
    if policy.applies_to == "synthetic_persona" and not live.synthetic_persona:
        return "not_synthetic_persona"
    # A legal hold forbids deletion whatever the policy's exemption list says.
    if live.legal_hold:
        return "legal_hold"
    # A person's review exempts a record from the retention clock, not from incident response: under
    # `all_ai` the tool itself is suspect, and the approver sees how many reviewed records the plan takes.
    if request.scope == "due" and "human_reviewed" in policy.exempt and live.human_reviewed:
        return "human_reviewed"
    if request.tools or request.models:
        # The candidate matched the tool by the ledger, which also knows tools from provenance records and
        # C2PA manifests; a record whose own tool field now names another tool is left alone.
        tool_ok = (
            not request.tools or live.ai_tool is None or live.ai_tool.lower() in {t.lower() for t in request.tools}
        )
        model_ok = (
            not request.models or live.ai_model is None or live.ai_model.lower() in {m.lower() for m in request.models}
        )
        if not (tool_ok and model_ok):
            return "tool_mismatch"
    if request.scope == "due":
        clock = clock_of(policy, live)
        if clock is None or clock + timedelta(days=policy.days) > as_of:
            return "not_due"
    if planned_modstamp is not None and live.system_modstamp != planned_modstamp:
        return "edited_after_plan"
    return None


def cap_count(policy: Policy, object_total: int, run_max: int | None) -> int | None:
    """How many records of the policy one run may take: the policy's caps and the run's, the smallest."""
    caps = [c for c in (policy.max_records, run_max) if c is not None]
    if policy.max_fraction is not None:
        # A fraction of the object as the org holds it guards large objects against a runaway purge.
        # In a small object it would hold every run to a handful of records and the backlog would
        # never clear, so it never binds below FRACTION_CAP_FLOOR records (max_records still does).
        caps.append(max(FRACTION_CAP_FLOOR, int(object_total * policy.max_fraction)))
    return min(caps) if caps else None
