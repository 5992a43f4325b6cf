"""What the pack adds to the marts for a reader who must act: a hint per control, record links, later purges.

The marts are as of their last build; purges (and their rejections) are evidenced in the ledger as they
happen. ``since_build`` compares the two, so a pack made after a purge says which of its numbers the
purge has already changed, instead of showing the build's numbers as if nothing had happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from synthgov.salesforce.ids import is_valid_id

# One line per control: the first thing to do about a finding row.
HINTS = {
    "untagged_ai_content": "Set the record's AI-generated field (or attach its provenance record) so it is "
    "disclosed and governed like the rest.",
    "undisclosed_ai_communications": "Send the disclosure (or correct the AI_Disclosure_Shown__c flag) and fix "
    "the template or flow that sent the e-mail without it.",
    "synthetic_personas_in_pipeline": "Take the synthetic persona out of the sales pipeline (close or reassign "
    "it) and stop the process that put it there.",
    "automated_decisions_without_review": "Have a person review the automated score decision and record the "
    "review on the lead (GDPR Art. 22 safeguards).",
    "ai_tool_access": "Remove the AI tool's permission set from the user, or record the approval in ai_tools.yml.",
    "ai_capable_packages": "Uninstall the package or mark it approved in ai_tools.yml after a review.",
    "lead_scoring_bias": "Review the scoring model with its owner: retrain or recalibrate it without the "
    "synthetic inputs, and re-check the gap.",
    "training_data_consent": "Remove the records without consent from the training set, or obtain and record "
    "consent before the next training run.",
    "training_lake_posture": "Fix the training bucket's setting named in the row (public access block, "
    "encryption, versioning, access logging).",
    "media_not_inspected": "Run the media inspection again for the file; if it cannot be read, check the file "
    "and the integration user's access to it.",
}
NO_HINT = "See the control's description and its regulation."
PURGED = ("purged", "already_deleted")


def hint(control: str) -> str:
    return HINTS.get(control, NO_HINT)


def record_url(org_url: str | None, entity_id: Any) -> str | None:
    """The record in the org (My Domain + id), for Salesforce record ids; None for other entities."""
    if not org_url or not isinstance(entity_id, str) or not is_valid_id(entity_id):
        return None
    return f"{org_url.rstrip('/')}/{entity_id}"


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def since_build(
    as_of: Any, receipts: Sequence[Mapping[str, Any]], outcomes: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Ledger entries newer than the marts' build, and what the purges among them removed, per object."""
    built = _moment(as_of)
    later = [r for r in receipts if built is not None and (_moment(r.get("timestamp")) or built) > built]
    purges = [r for r in later if r.get("kind") == "retention.purge"]
    seqs = {r.get("seq") for r in purges}
    removed = Counter(str(o.get("object")) for o in outcomes if o.get("seq") in seqs and o.get("outcome") in PURGED)
    return {
        "as_of": as_of,
        "stale": bool(later),
        "entries": [r.get("seq") for r in later],
        "purges": len(purges),
        "rejections": sum(1 for r in later if r.get("kind") == "retention.rejected"),
        "removed_by_object": dict(sorted(removed.items())),
        "removed": sum(removed.values()),
    }
