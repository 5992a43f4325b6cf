"""Which regulatory controls each synthgov job implements, for the regulatory controls job facet.

Articles are cited exactly as in docs/reference/regulations.md. The governance findings cite theirs
in the dbt macro ``governance_controls()`` (read back from ``marts.governance_summary``), and each
retention policy in its ``regulation`` field; this module holds only what the pipeline's own steps
serve, so no citation is written in two places.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attr

from synthgov.lineage.facets import RegulatoryControl, RegulatoryControlsJobFacet

if TYPE_CHECKING:
    from synthgov.retention.rules import Policy

_C = RegulatoryControl

# Job kinds: the operators' and tasks' roles, not their task ids, so a renamed task keeps its controls.
JOB_CONTROLS: dict[str, tuple[RegulatoryControl, ...]] = {
    "salesforce_extract": (
        _C(
            "provenance.inventory",
            ["NIST AI 600-1", "NIST AI RMF GOVERN 1.6", "GDPR Art. 5(2)"],
            "An auditable, incremental copy of the CRM records the provenance controls read (chain of custody)",
        ),
    ),
    "media_inspection": (
        _C(
            "provenance.c2pa_inspection",
            ["EU AI Act Art. 50(2)", "EU AI Act Art. 50(4)", "NIST AI 100-4"],
            "Reads the machine-readable marking (C2PA digitalSourceType) of every media file to detect "
            "AI-generated and deep-fake content",
        ),
    ),
    "training_manifests": (
        _C(
            "training.consent_records",
            ["GDPR Art. 6", "GDPR Art. 7", "NIST AI 600-1"],
            "Reads the training-data manifests: the consent and provenance of every record a model is trained on",
        ),
    ),
    "training_lake_posture": (
        _C(
            "training.lake_security",
            ["GDPR Art. 32", "GDPR Art. 5(1)(f)"],
            "Reads the training zone's access logging, public access block, encryption and versioning",
        ),
    ),
    "warehouse_load": (
        _C(
            "records_of_processing",
            ["GDPR Art. 30", "GDPR Art. 5(2)"],
            "Loads whole, checksummed extraction runs into the warehouse the governance tables are built from",
        ),
    ),
    "retention_plan": (
        _C(
            "retention.plan",
            ["GDPR Art. 5(1)(e)", "GDPR Art. 5(2)"],
            "Selects the records past their retention, re-checked against Salesforce, into a hashed plan",
        ),
    ),
    "retention_apply": (
        _C(
            "retention.erasure",
            ["GDPR Art. 17", "GDPR Art. 5(1)(e)"],
            "Deletes (or masks) in Salesforce exactly the records of the approved plan",
        ),
    ),
    "retention_purge_stores": (
        _C(
            "retention.erasure_copies",
            ["GDPR Art. 17", "GDPR Art. 25"],
            "Removes the purged records from every lake file, every stored version and the warehouse",
        ),
    ),
    "retention_verify": (
        _C(
            "retention.verification",
            ["GDPR Art. 5(2)", "GDPR Art. 17"],
            "Checks that nothing purged is alive in Salesforce or in any lake file or version",
        ),
    ),
    "retention_evidence": (
        _C(
            "retention.evidence",
            ["GDPR Art. 5(2)", "GDPR Art. 30"],
            "Appends the run's receipt to the hash-chained, write-once evidence ledger",
        ),
    ),
}


def split_citations(regulation: str) -> list[str]:
    """``"GDPR Art. 5(1)(e); EU AI Act Art. 50(4)"`` -> one citation per framework, as the policies write them."""
    return [part.strip() for part in regulation.split(";") if part.strip()]


def retention_policy_controls(policies: Iterable[Policy]) -> list[RegulatoryControl]:
    """One control per retention policy, citing what its ``regulation`` field cites."""
    return [
        _C(
            f"retention.policy.{policy.id}",
            split_citations(policy.regulation) or [policy.regulation],
            f"{policy.object}: {policy.action} after {policy.days} days ({policy.applies_to})",
        )
        for policy in policies
    ]


def governance_controls(rows: Iterable[Sequence[Any]]) -> list[RegulatoryControl]:
    """Controls from ``marts.governance_summary`` rows of ``(control, regulation)``."""
    return [_C(str(control), split_citations(str(regulation))) for control, regulation in rows if regulation]


def controls_facet(job: str, extra: Iterable[RegulatoryControl] = ()) -> RegulatoryControlsJobFacet:
    """The facet for a job kind of ``JOB_CONTROLS``, with ``extra`` controls (e.g. the policies in force)."""
    # Copies: the Airflow provider's redactor rewrites facet objects in place.
    return RegulatoryControlsJobFacet(controls=[attr.evolve(c) for c in (*JOB_CONTROLS[job], *extra)])
