"""The demo org's training data: consent on every Lead and Contact, and training-data manifests.

Consent (``AI_Training_Consent__c``) is derived from each record's id, never from the seed's random
stream, so adding it changed no other value of the demo org: about three in four authentic people
consented; synthetic personas never do (there is nobody to ask).

The manifests follow synthgov's training-manifest format (version 1) and are built from the seeded
org, the same at every scale:

- ``manifests/lead-scoring-v4.json``: authentic leads (some without consent), authentic leads
  mislabelled synthetic, persona leads declared synthetic, and persona leads mislabelled authentic;
- ``manifests/contact-enrichment-2026.json``: authentic contacts and two persona contacts;
- ``manifests/churn-forecast-draft.json``: a manifest with schema problems (no purpose, an unknown
  provenance value, an entry without an id) whose one valid entry is still checked.

Their ground truth is computed live (``training_labels``), as for retention: a record that is
deleted drops out, and consent edited in the org changes the answer. ``training_no_consent``: an
authentic record (no rule-based ``ai_generated`` label) in a valid manifest entry whose consent is
not set; ``training_provenance_mismatch``: an entry declared synthetic whose record is not
AI-made, or declared authentic whose record is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

CONSENT_FIELD = "AI_Training_Consent__c"
META_KEY = "training_manifests"
PROVENANCE = ("authentic", "synthetic")
# Evidence kinds of `ai_generated` a rule can see (a text marker is only a heuristic).
HEURISTIC_EVIDENCE = ("text_marker",)


def consents(record_id: str) -> bool:
    """Whether the person behind an authentic record consented: three in four, fixed by the id."""
    return hashlib.sha256(f"training-consent:{record_id}".encode()).digest()[0] % 4 != 0


def plant_training_data(
    contacts: list[dict[str, Any]], leads: list[dict[str, Any]], anchor: datetime
) -> list[dict[str, Any]]:
    """Set consent on every Contact and Lead row; return the demo manifests as ``{"key", "document"}``."""
    for row in [*contacts, *leads]:
        row[CONSENT_FIELD] = int(not row.get("Synthetic_Persona__c") and consents(str(row["Id"])))
    if not leads or not contacts:
        return []
    live_leads = [r for r in leads if not r.get("IsDeleted") and not r.get("Synthetic_Persona__c")]
    persona_leads = [r for r in leads if not r.get("IsDeleted") and r.get("Synthetic_Persona__c")]
    live_contacts = [r for r in contacts if not r.get("IsDeleted") and not r.get("Synthetic_Persona__c")]
    persona_contacts = [r for r in contacts if not r.get("IsDeleted") and r.get("Synthetic_Persona__c")]

    # Authentic leads declared synthetic: two whose people consented and two whose people did not.
    rest = live_leads[48:96]
    mislabelled = [r for r in rest if consents(str(r["Id"]))][:2] + [r for r in rest if not consents(str(r["Id"]))][:2]

    def entries(obj: str, rows: list[dict[str, Any]], declared: str) -> list[dict[str, Any]]:
        return [{"object": obj, "id": r["Id"], "declared_provenance": declared} for r in rows]

    def when(days: int) -> str:
        return (anchor - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    lead_scoring = {
        "manifest_version": 1,
        "dataset": "lead-scoring-v4",
        "model": "LeadScorer v4",
        "purpose": "Rank inbound leads for the sales team",
        "created_at": when(10),
        "created_by": "ml-platform@demo-org.sandbox",
        "records": entries("Lead", live_leads[:48], "authentic")
        + entries("Lead", mislabelled, "synthetic")
        + entries("Lead", persona_leads[:10], "synthetic")
        + entries("Lead", persona_leads[10:13], "authentic"),
    }
    # Personas 8 and 9 are on no open opportunity: the pipeline cases stay apart from these.
    enrichment = {
        "manifest_version": 1,
        "dataset": "contact-enrichment-2026",
        "model": "Contact enrichment (fine-tuned gpt-4o-2024-08)",
        "purpose": "Suggest missing titles and departments for contacts",
        "created_at": when(30),
        "records": entries("Contact", live_contacts[:24], "authentic")
        + entries("Contact", persona_contacts[8:10], "synthetic"),
    }
    draft = {
        "manifest_version": 1,
        "dataset": "churn-forecast-draft",
        "model": "ChurnForecast v0",
        "created_at": when(2),
        "records": entries("Contact", live_contacts[24:25], "authentic")
        + [
            {"object": "Lead", "id": live_leads[100]["Id"], "declared_provenance": "mixed"},
            {"object": "Lead", "declared_provenance": "authentic"},
        ],
    }
    return [{"key": f"manifests/{doc['dataset']}.json", "document": doc} for doc in (lead_scoring, enrichment, draft)]


def stored_manifests(meta: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The demo manifests the seed stored (``GET /__sandbox__/training-manifests``)."""
    manifests: list[dict[str, Any]] = json.loads(meta(META_KEY) or "[]")
    return manifests


def training_labels(
    manifests: list[dict[str, Any]],
    planted: dict[tuple[str, str], dict[str, str]],
    live: Callable[[set[tuple[str, str]]], dict[tuple[str, str], dict[str, Any]]],
) -> dict[tuple[str, str], dict[str, str]]:
    """(object, id) → {label: evidence} for the manifests' valid entries whose records are live."""
    entries = []
    for manifest in manifests:
        for index, entry in enumerate(manifest["document"].get("records", [])):
            if entry.get("id") and entry.get("object") and entry.get("declared_provenance") in PROVENANCE:
                entries.append((manifest["key"], index, str(entry["object"]), str(entry["id"]), entry))
    records = live({(obj, rid) for _, _, obj, rid, _ in entries})
    out: dict[tuple[str, str], dict[str, str]] = {}
    for key, index, obj, rid, entry in entries:
        record = records.get((obj, rid))
        if record is None:
            continue
        evidence = planted.get((obj, rid), {}).get("ai_generated")
        ai_made = evidence is not None and evidence.split(":")[0] not in HEURISTIC_EVIDENCE
        labels = out.setdefault((obj, rid), {})
        if not ai_made and not record.get(CONSENT_FIELD):
            labels["training_no_consent"] = f"manifest:{key}#/records/{index}"
        if (entry["declared_provenance"] == "synthetic") != ai_made:
            labels["training_provenance_mismatch"] = f"declared:{entry['declared_provenance']}"
    return {k: v for k, v in out.items() if v}
