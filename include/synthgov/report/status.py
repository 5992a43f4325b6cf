"""How a governance control's status reads, on the pack's page, in its summary lines and in the demo.

One wording for every place that shows a status, so a control that could not judge
(``insufficient_data``) reads the same everywhere: with its reason, and never as "no findings".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FINDINGS = "findings"
INSUFFICIENT_DATA = "insufficient_data"
NOT_APPLICABLE = "not_applicable"
NO_FINDINGS = "no_findings"
STATUSES = (FINDINGS, INSUFFICIENT_DATA, NOT_APPLICABLE, NO_FINDINGS)

_WORDS = {
    FINDINGS: "findings",
    INSUFFICIENT_DATA: "insufficient data",
    NOT_APPLICABLE: "not applicable",
    NO_FINDINGS: "no findings",
}


def status_text(control: Mapping[str, Any]) -> str:
    """A governance_summary row's status in words, with the reason whenever part of the input went unjudged.

    An unknown status is shown as it is rather than mapped onto a known one: a newer mart must not be
    read as a pass by an older pack."""
    status = str(control["status"])
    words = _WORDS.get(status, status)
    reason = control.get("insufficient_data_reason")
    if not reason:
        return words
    if status == INSUFFICIENT_DATA:
        return f"{words}: {reason}"
    return f"{words}; not judged: {reason}"


def status_css(control: Mapping[str, Any]) -> str:
    """The page's class for a status; anything but a known status gets the insufficient-data look, not green."""
    status = str(control["status"])
    return f"status-{status if status in _WORDS else INSUFFICIENT_DATA}"


def could_not_judge(controls: list[dict[str, Any]]) -> int:
    """How many controls could not judge (status insufficient_data)."""
    return sum(1 for c in controls if c["status"] == INSUFFICIENT_DATA)
