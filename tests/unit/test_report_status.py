"""How a control's status reads: a control that could not judge never reads as a pass."""

from __future__ import annotations

import pytest

from synthgov.report.status import STATUSES, status_css, status_text

pytestmark = pytest.mark.unit

REASON = "synthetic group of 3 leads below min_group_size 20 (model LeadScorer v3)"


def test_each_status_in_words_and_its_class() -> None:
    words = {s: status_text({"status": s, "insufficient_data_reason": None}) for s in STATUSES}
    assert words == {
        "findings": "findings",
        "insufficient_data": "insufficient data",
        "not_applicable": "not applicable",
        "no_findings": "no findings",
    }
    assert {status_css({"status": s}) for s in STATUSES} == {f"status-{s}" for s in STATUSES}


def test_insufficient_data_carries_its_reason() -> None:
    assert status_text({"status": "insufficient_data", "insufficient_data_reason": REASON}) == (
        f"insufficient data: {REASON}"
    )


def test_findings_with_an_unjudged_part_say_what_was_not_judged() -> None:
    text = status_text({"status": "findings", "insufficient_data_reason": REASON})
    assert text == f"findings; not judged: {REASON}"


def test_an_unknown_status_is_shown_as_is_and_never_styled_as_a_pass() -> None:
    control = {"status": "stale", "insufficient_data_reason": None}
    assert status_text(control) == "stale"
    assert status_css(control) == "status-insufficient_data"
