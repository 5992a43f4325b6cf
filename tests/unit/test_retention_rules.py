"""Property: whatever the warehouse proposes, a plan only ever purges AI-generated, expired, non-exempt records.

Random orgs (records with random evidence, flags, dates, holds and reviews) meet random policies
and random candidate lists that include authentic records and records paired with the wrong policy,
as a faulty mart would propose them. The oracle below is written from the policy's definition, not
from synthgov.retention.rules, so the test checks the code against the spec.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgov.retention.plan import Candidate, select_rows
from synthgov.retention.rules import LiveRecord, Policy, Request

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 11, 2, 9, tzinfo=UTC)
EVIDENCE = ("explicit_field", "provenance_record", "c2pa", "integration_user", "text_marker")
OBJECTS = ("Lead", "Task", "EmailMessage")


@st.composite
def orgs(draw: st.DrawFn) -> tuple[list[Policy], dict[str, LiveRecord], dict[str, frozenset[str]]]:
    policies = []
    for i in range(draw(st.integers(1, 4))):
        policies.append(
            Policy(
                id=f"p{i}",
                object=draw(st.sampled_from(OBJECTS)),
                applies_to=draw(st.sampled_from(("ai_generated", "synthetic_persona"))),
                days=draw(st.integers(0, 400)),
                clock=draw(st.sampled_from(("generated_at", "created_date"))),
                exempt=frozenset(draw(st.sets(st.sampled_from(("legal_hold", "human_reviewed"))))),
                action=draw(st.sampled_from(("soft_delete", "hard_delete", "mask"))),
                mask_fields=("Description",),
                approval_threshold=draw(st.integers(0, 50)),
                max_records=draw(st.one_of(st.none(), st.integers(1, 30))),
                max_fraction=draw(st.one_of(st.none(), st.floats(0.01, 1.0))),
                regulation="GDPR Art. 5(1)(e)",
            )
        )
    live: dict[str, LiveRecord] = {}
    evidence: dict[str, frozenset[str]] = {}
    for n in range(draw(st.integers(0, 40))):
        rid = f"00Q5g{n:010d}AAA"
        created = AS_OF - timedelta(days=draw(st.integers(0, 900)))
        generated = draw(st.one_of(st.none(), st.just(created + timedelta(days=draw(st.integers(0, 30))))))
        evidence[rid] = frozenset(draw(st.sets(st.sampled_from(EVIDENCE))))
        if draw(st.booleans()) or not evidence[rid]:
            live[rid] = LiveRecord(
                id=rid,
                system_modstamp=created,
                created_at=created,
                generated_at=generated,
                ai_flag=draw(st.booleans()),
                synthetic_persona=draw(st.booleans()),
                legal_hold=draw(st.booleans()),
                human_reviewed=draw(st.booleans()),
                ai_tool=draw(st.sampled_from((None, "GenAI", "DeepStudio"))),
            )
    return policies, live, evidence


def ai_generated(record: LiveRecord, evidence: frozenset[str]) -> bool:
    """The spec: rule-based evidence; the org's own flags count only while they are still set."""
    fixed = evidence & {"provenance_record", "c2pa", "integration_user"}
    return bool(fixed) or ("explicit_field" in evidence and (record.ai_flag or record.synthetic_persona))


def expired(record: LiveRecord, policy: Policy) -> bool:
    clock = record.created_at if policy.clock == "created_date" else (record.generated_at or record.created_at)
    return clock is not None and clock + timedelta(days=policy.days) <= AS_OF


def exempt(record: LiveRecord, policy: Policy) -> bool:
    return record.legal_hold or ("human_reviewed" in policy.exempt and record.human_reviewed)


@settings(max_examples=300, deadline=None)
@given(org=orgs(), data=st.data())
def test_the_purge_set_is_ai_generated_expired_and_not_exempt(
    org: tuple[list[Policy], dict[str, LiveRecord], dict[str, frozenset[str]]], data: st.DataObject
) -> None:
    policies, live, evidence = org
    by_id = {p.id: p for p in policies}
    # Any record with any policy: a faulty mart may propose authentic records or the wrong policy.
    candidates = [
        Candidate(data.draw(st.sampled_from(sorted(by_id))), "Lead", rid, ",".join(sorted(ev)), None, None)
        for rid, ev in evidence.items()
        if data.draw(st.booleans())
    ]
    run_max = data.draw(st.one_of(st.none(), st.integers(1, 20)))
    rows = select_rows(candidates, live, by_id, AS_OF, Request(), object_totals={"Lead": 40}, run_max=run_max)
    planned = [r for r in rows if r["status"] == "planned"]
    for row in planned:
        record, policy = live[row["record_id"]], by_id[row["policy_id"]]
        ev = evidence[row["record_id"]]
        assert ai_generated(record, ev), f"not AI-generated: {record} {ev}"
        assert expired(record, policy), f"not expired under {policy.id}: {record}"
        assert not exempt(record, policy), f"exempt under {policy.id}: {record}"
        if policy.applies_to == "synthetic_persona":
            assert record.synthetic_persona
    # No authentic record is ever planned, whatever it was paired with.
    authentic = {rid for rid, ev in evidence.items() if rid not in live or not ai_generated(live[rid], ev)}
    assert not authentic & {r["record_id"] for r in planned}
    # Caps hold: per policy and per run.
    if run_max is not None:
        assert len(planned) <= run_max
    for policy in policies:
        if policy.max_records is not None:
            assert sum(1 for r in planned if r["policy_id"] == policy.id) <= policy.max_records
    # Completeness: what the spec allows and no cap holds back is planned, not silently dropped.
    for row in rows:
        if row["status"] == "skipped" and row["record_id"] in live:
            record, policy = live[row["record_id"]], by_id[row["policy_id"]]
            ev = evidence[row["record_id"]]
            allowed = (
                ai_generated(record, ev)
                and expired(record, policy)
                and not exempt(record, policy)
                and (policy.applies_to != "synthetic_persona" or record.synthetic_persona)
            )
            assert not allowed, f"skipped ({row['reason']}) although the policy allows it: {record} {ev}"


@settings(max_examples=200, deadline=None)
@given(org=orgs(), tool=st.sampled_from(("GenAI", "DeepStudio")))
def test_incident_scope_takes_only_the_tools_ai_content_and_never_a_held_record(
    org: tuple[list[Policy], dict[str, LiveRecord], dict[str, frozenset[str]]], tool: str
) -> None:
    policies, live, evidence = org
    by_id = {p.id: p for p in policies}
    candidates = [
        Candidate(policies[0].id, "Lead", rid, ",".join(sorted(ev)), tool, None) for rid, ev in evidence.items()
    ]
    request = Request(scope="all_ai", tools=frozenset({tool}))
    rows = select_rows(candidates, live, by_id, AS_OF, request)
    for row in (r for r in rows if r["status"] == "planned"):
        record = live[row["record_id"]]
        assert ai_generated(record, evidence[row["record_id"]])
        assert not record.legal_hold
        assert record.ai_tool in (None, tool)
    # The decision (README, DAG docs): under all_ai a person's review spares nothing; only a hold does.
    policy = policies[0]
    for row in rows:
        found = live.get(row["record_id"])
        if row["status"] != "skipped" or found is None:
            continue
        assert row["reason"] != "human_reviewed"
        if (
            ai_generated(found, evidence[row["record_id"]])
            and not found.legal_hold
            and found.ai_tool in (None, tool)
            and (policy.applies_to != "synthetic_persona" or found.synthetic_persona)
        ):
            raise AssertionError(f"skipped ({row['reason']}) although all_ai takes it: {found}")


def test_a_reviewed_record_is_spared_when_due_and_taken_by_an_incident_purge() -> None:
    policy = Policy.from_entry(
        {
            "id": "ai-email",
            "object": "EmailMessage",
            "applies_to": "ai_generated",
            "days": 30,
            "exempt": ["legal_hold", "human_reviewed"],
            "action": "soft_delete",
            "regulation": "GDPR Art. 5(1)(e)",
        }
    )
    old = AS_OF - timedelta(days=90)
    reviewed = LiveRecord("02s000000000001AAA", old, old, old, ai_flag=True, human_reviewed=True, ai_tool="GenAI")
    candidate = Candidate("ai-email", "EmailMessage", reviewed.id, "explicit_field", "GenAI", None)
    (due,) = select_rows([candidate], {reviewed.id: reviewed}, {"ai-email": policy}, AS_OF, Request())
    assert (due["status"], due["reason"]) == ("skipped", "human_reviewed")
    incident = Request(scope="all_ai", tools=frozenset({"GenAI"}))
    (taken,) = select_rows([candidate], {reviewed.id: reviewed}, {"ai-email": policy}, AS_OF, incident)
    assert taken["status"] == "planned" and taken["human_reviewed"] is True
    held = LiveRecord(reviewed.id, old, old, old, ai_flag=True, human_reviewed=True, legal_hold=True)
    (kept,) = select_rows([candidate], {held.id: held}, {"ai-email": policy}, AS_OF, incident)
    assert (kept["status"], kept["reason"]) == ("skipped", "legal_hold")
