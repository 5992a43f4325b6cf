"""synthgov's own OpenLineage facets, typed like the client's generated ones.

Each is an attrs class deriving from the matching ``openlineage.client.facet_v2`` base class, so it
carries ``_producer`` and ``_schemaURL`` and serialises with the client's ``Serde`` (``None`` fields
are left out). Each has a JSON Schema in ``schemas/<ClassName>.json``; ``_schemaURL`` is that schema's
``$id`` plus the JSON Pointer to the facet's definition, as OpenLineage's own facets do.

The ``$id``s are URNs, ``urn:synthgov:lineage:facets:<version>:<ClassName>.json``: synthgov publishes
no schema site, and a URL on a host we do not control would point at nothing, or at someone else.
``schema_file`` maps a URN to the file in this package. Bump the version segment when a facet changes
incompatibly (a new optional field is compatible).

Facet keys (the names events carry them under) are the ``*_KEY`` constants.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import ClassVar

import attr
from openlineage.client.facet_v2 import DatasetFacet, JobFacet, RunFacet
from openlineage.client.utils import RedactMixin

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_URN_PREFIX = "urn:synthgov:lineage:facets:"
FACET_SCHEMA_VERSION = "1-0-0"


def _version() -> str:
    try:
        return metadata.version("synthgov")
    except metadata.PackageNotFoundError:  # a source checkout without the package installed
        return "0+unknown"


# OpenLineage wants a URI naming the producer; synthgov has no public home to point at (see above).
PRODUCER = f"urn:synthgov:synthgov:{_version()}"

PROVENANCE_SUMMARY_KEY = "synthgov_provenanceSummary"
RETENTION_POLICY_KEY = "synthgov_retentionPolicy"
PURGE_RECEIPT_KEY = "synthgov_purgeReceipt"
REGULATORY_CONTROLS_KEY = "synthgov_regulatoryControls"


def schema_id(facet_class: str) -> str:
    """The ``$id`` of a facet's JSON Schema."""
    return f"{SCHEMA_URN_PREFIX}{FACET_SCHEMA_VERSION}:{facet_class}.json"


def schema_url(facet_class: str) -> str:
    """The ``_schemaURL`` of a facet: its schema's ``$id`` and the pointer to its definition."""
    return f"{schema_id(facet_class)}#/$defs/{facet_class}"


def schema_file(url: str) -> Path | None:
    """The schema file in this package for a synthgov ``_schemaURL`` or ``$id``; None for any other URL."""
    resource = url.split("#", 1)[0]
    if not resource.startswith(SCHEMA_URN_PREFIX):
        return None
    path = SCHEMA_DIR / resource.rsplit(":", 1)[-1]
    return path if path.is_file() else None


# -- provenance summary (dataset facet on marts.provenance_ledger) -----------------------------------


@attr.define
class ProvenanceClassCount(RedactMixin):
    provenanceClass: str
    """IPTC digital source type code (plus C2PA's trainedAlgorithmicData), e.g. trainedAlgorithmicMedia."""
    records: int
    """Records and files of that class."""
    _skip_redact: ClassVar[list[str]] = ["provenanceClass", "records"]


@attr.define
class EvidenceCount(RedactMixin):
    evidence: str
    """How synthgov knows: explicit_field, provenance_record, c2pa, integration_user or text_marker."""
    records: int
    _skip_redact: ClassVar[list[str]] = ["evidence", "records"]


@attr.define
class ObjectCount(RedactMixin):
    object: str
    """The Salesforce object (EmailMessage, ContentVersion, Lead, ...)."""
    records: int
    _skip_redact: ClassVar[list[str]] = ["object", "records"]


@attr.define
class ProvenanceSummaryDatasetFacet(DatasetFacet):
    """What the provenance ledger holds: AI-generated and synthetic records by class, evidence and object."""

    records: int
    """Rows of the ledger: every AI-generated or synthetic record or file synthgov found."""
    heuristicRecords: int
    """Known only by a text marker: reported, never purged on."""
    syntheticPersonas: int
    humanReviewed: int
    disclosed: int
    legalHold: int
    byProvenanceClass: list[ProvenanceClassCount] = attr.field(factory=list)
    byEvidence: list[EvidenceCount] = attr.field(factory=list)
    byObject: list[ObjectCount] = attr.field(factory=list)
    asOf: str | None = attr.field(default=None)
    """The instant the ledger was built for (ISO 8601)."""

    _additional_skip_redact: ClassVar[list[str]] = [
        "records",
        "heuristicRecords",
        "syntheticPersonas",
        "humanReviewed",
        "disclosed",
        "legalHold",
        "asOf",
    ]

    def __attrs_post_init__(self) -> None:
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ProvenanceSummaryDatasetFacet")


# -- retention policies in force (job facet) ----------------------------------------------------------


@attr.define
class RetentionPolicy(RedactMixin):
    """One entry of include/policies/retention.yml, defaults filled in."""

    id: str
    object: str
    appliesTo: str
    days: int
    clock: str
    action: str
    regulation: str
    approvalThreshold: int
    exempt: list[str] = attr.field(factory=list)
    maskFields: list[str] = attr.field(factory=list)
    maxRecords: int | None = attr.field(default=None)
    maxFraction: float | None = attr.field(default=None)
    _skip_redact: ClassVar[list[str]] = ["id", "object", "appliesTo", "days", "clock", "action", "regulation"]


@attr.define
class RetentionPolicyJobFacet(JobFacet):
    """The retention policies the job applied, and the file (with its SHA-256) they came from."""

    policyFile: str
    policyFileSha256: str
    policies: list[RetentionPolicy] = attr.field(factory=list)

    _additional_skip_redact: ClassVar[list[str]] = ["policyFile", "policyFileSha256"]

    def __attrs_post_init__(self) -> None:
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()

    @staticmethod
    def _get_schema() -> str:
        return schema_url("RetentionPolicyJobFacet")


# -- purge receipt (run facet of the retention DAG's evidence task) -----------------------------------


@attr.define
class LedgerEntry(RedactMixin):
    """Where the run's evidence is: the hash-chained ledger entry."""

    seq: int
    sha256: str
    key: str
    """The ledger segment's key in the lake."""
    uri: str | None = attr.field(default=None)
    _skip_redact: ClassVar[list[str]] = ["seq", "sha256", "key", "uri"]


@attr.define
class PurgeVerification(RedactMixin):
    ok: bool
    salesforceAlive: int | None = attr.field(default=None)
    lakeLeftovers: int | None = attr.field(default=None)
    failedRecords: int | None = attr.field(default=None)
    detail: str | None = attr.field(default=None)
    _skip_redact: ClassVar[list[str]] = ["ok", "salesforceAlive", "lakeLeftovers", "failedRecords", "detail"]


@attr.define
class PurgeReceiptRunFacet(RunFacet):
    """One retention run's receipt: the plan (and its hash), who approved it, what happened, where the proof is."""

    planId: str
    planSha256: str
    runKind: str
    """scheduled or ad_hoc."""
    approvalRequired: bool
    planned: int
    deferred: int
    ledgerEntry: LedgerEntry
    approver: str | None = attr.field(default=None)
    reason: str | None = attr.field(default=None)
    requestedBy: str | None = attr.field(default=None)
    policies: list[str] = attr.field(factory=list)
    plannedByObject: dict[str, int] = attr.field(factory=dict)
    skippedAtPlan: dict[str, int] = attr.field(factory=dict)
    """Records left out when planning, by reason (legal_hold, changed, ...)."""
    outcomes: dict[str, int] = attr.field(factory=dict)
    """Records by outcome of the apply step (purged, already_deleted, skipped_changed, failed, ...)."""
    apiCalls: int | None = attr.field(default=None)
    verification: PurgeVerification | None = attr.field(default=None)

    _additional_skip_redact: ClassVar[list[str]] = [
        "planId",
        "planSha256",
        "runKind",
        "approvalRequired",
        "planned",
        "deferred",
        "policies",
        "plannedByObject",
        "skippedAtPlan",
        "outcomes",
        "apiCalls",
    ]

    def __attrs_post_init__(self) -> None:
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()

    @staticmethod
    def _get_schema() -> str:
        return schema_url("PurgeReceiptRunFacet")


# -- regulatory controls a job serves (job facet) -----------------------------------------------------


@attr.define
class RegulatoryControl(RedactMixin):
    control: str
    """synthgov's name for the control, e.g. retention.erasure or undisclosed_ai_communications."""
    regulations: list[str]
    """Articles and frameworks it serves, cited as in docs/reference/regulations.md (e.g. GDPR Art. 17)."""
    description: str | None = attr.field(default=None)
    _skip_redact: ClassVar[list[str]] = ["control", "regulations", "description"]


@attr.define
class RegulatoryControlsJobFacet(JobFacet):
    """The controls a job implements and the articles each serves."""

    controls: list[RegulatoryControl] = attr.field(factory=list)

    def __attrs_post_init__(self) -> None:
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()

    @staticmethod
    def _get_schema() -> str:
        return schema_url("RegulatoryControlsJobFacet")


FACET_CLASSES: dict[str, type] = {
    PROVENANCE_SUMMARY_KEY: ProvenanceSummaryDatasetFacet,
    RETENTION_POLICY_KEY: RetentionPolicyJobFacet,
    PURGE_RECEIPT_KEY: PurgeReceiptRunFacet,
    REGULATORY_CONTROLS_KEY: RegulatoryControlsJobFacet,
}
