"""Inspect the C2PA Content Credentials of a CRM file and classify it by its IPTC digital source type.

One call reads one file's bytes (a ContentVersion's VersionData) and returns a `MediaFinding`: what the
file is (from its bytes, `formats`), whether it carries C2PA data, what c2pa's validation says about it
(Trusted, Valid or Invalid), who signed it, and the IPTC digital source type that classifies it
(`source_types`; EU AI Act Art. 50(2) machine-readable marking; NIST AI 100-4 provenance data tracking).

Inspection is offline and cheap. Every call builds its own c2pa `Context` with settings that forbid the
network: `verify.remote_manifest_fetch` off (c2pa's default is on: a file pointing at a remote manifest
would make it fetch that URL), `verify.ocsp_fetch` off (revocation is reported as
`signingCredential.ocsp.skipped`) and an empty `core.allowed_network_hosts` so nothing else can reach out
either. Reading makes no thumbnails. Trust (anchors and trust config, `trust.C2paTrust`) passed to one
call lives in that call's Context only: c2pa-python's process-wide default Context and its deprecated
thread-local `load_settings` are never touched, so one caller's anchors cannot leak into another's reads,
and a per-call Context is safe in forked Airflow workers.

What the finding says, and why:
- "manifest" whenever the file carries C2PA data, even data c2pa cannot parse or verify (an unknown
  algorithm, a pre-release format, a damaged store): validation Invalid with the reason. A broken
  manifest never passes as clean. "no_manifest" only where there is no C2PA data.
- "unreadable": c2pa could not parse the file and there is no C2PA data in it (a damaged or truncated
  file of a format c2pa reads). "not_inspectable": the bytes are a format c2pa does not read.
- The class is kept whatever the validation: an AI-generation claim incriminates its maker, so it counts
  from any signer, with the validation state beside it. A capture claim (a camera) is evidence of
  authenticity only from a Trusted signer (`authentic_capture`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields, replace
from typing import Any

import c2pa

from synthgov.provenance.formats import detect_mime, normalize_mime, readable_mime_types
from synthgov.provenance.source_types import AI_SOURCE_TYPES, CAPTURE_SOURCE_TYPES, classify, synthetic_kind
from synthgov.provenance.trust import C2paTrust

STATUS_NO_MANIFEST = "no_manifest"
STATUS_MANIFEST = "manifest"
STATUS_REMOTE_MANIFEST = "remote_manifest"
STATUS_SKIPPED_TOO_LARGE = "skipped_too_large"
STATUS_NOT_INSPECTABLE = "not_inspectable"
STATUS_DOWNLOAD_FAILED = "download_failed"
STATUS_UNREADABLE = "unreadable"
STATUSES: tuple[str, ...] = (
    STATUS_NO_MANIFEST,
    STATUS_MANIFEST,
    STATUS_REMOTE_MANIFEST,
    STATUS_SKIPPED_TOO_LARGE,
    STATUS_NOT_INSPECTABLE,
    STATUS_DOWNLOAD_FAILED,
    STATUS_UNREADABLE,
)
# The statuses of a file whose C2PA data could not be looked at: counted and reported, never silent.
NOT_INSPECTED_STATUSES = frozenset(
    {STATUS_SKIPPED_TOO_LARGE, STATUS_NOT_INSPECTABLE, STATUS_DOWNLOAD_FAILED, STATUS_UNREADABLE}
)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# Forbid the network outright; see the module docstring.
_OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "core": {"allowed_network_hosts": []},
}

# c2pa error kinds raised once it has found C2PA data it cannot parse or verify: the file has a manifest.
_BROKEN_MANIFEST_ERRORS: tuple[type[c2pa.C2paError], ...] = (
    c2pa.C2paError.Verify,
    c2pa.C2paError.Manifest,
    c2pa.C2paError.Decoding,
    c2pa.C2paError.Assertion,
    c2pa.C2paError.AssertionNotFound,
    c2pa.C2paError.Json,
    c2pa.C2paError.ResourceNotFound,
    c2pa.C2paError.Signature,
)
# The JUMBF box type of a C2PA manifest store (ISO 19566-5: "c2pa" + the ISO suffix), and SVG's element for
# it: where c2pa fails on the container itself (a truncated JPEG), finding these still proves C2PA data.
_C2PA_STORE_MARKERS = (b"c2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71", b"<c2pa:manifest")


@dataclass(frozen=True)
class MediaFinding:
    """What inspecting one file found. `as_row` flattens it for parquet."""

    record_id: str
    # The format read from the bytes (None when they match no known format); `declared_mime` what the
    # file's FileType or extension claimed, a hint only.
    mime: str | None
    size_bytes: int
    # One of STATUSES.
    status: str
    has_manifest: bool
    declared_mime: str | None = None
    # "Trusted", "Valid" or "Invalid" as c2pa reports it; "Invalid" too for C2PA data c2pa cannot parse or
    # verify at all. None without a readable manifest.
    validation_state: str | None = None
    # c2pa failure codes, e.g. "signingCredential.untrusted", "assertion.dataHash.mismatch".
    validation_errors: tuple[str, ...] = ()
    signer: str | None = None
    signer_org: str | None = None
    claim_generator: str | None = None
    title: str | None = None
    # What the active manifest declares: short IPTC codes, other URIs verbatim.
    digital_source_types: tuple[str, ...] = ()
    software_agents: tuple[str, ...] = ()
    provenance_class: str | None = None
    ai_generated: bool = False
    # generative_ai (a trained model: Art. 50 duties) or other_synthetic; None when not AI or synthetic.
    synthetic_kind: str | None = None
    # A capture claim (digitalCapture, ...) from a Trusted signer; an untrusted one is no evidence.
    authentic_capture: bool = False
    detail: str | None = None

    def as_row(self) -> dict[str, object]:
        """A flat row; tuple fields become JSON arrays in strings, which every warehouse adapter loads."""
        row: dict[str, object] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            row[field.name] = json.dumps(list(value)) if isinstance(value, tuple) else value
        return row


def _human_size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def oversized_finding(
    record_id: str, mime: str | None, size_bytes: int, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> MediaFinding | None:
    """The skipped_too_large finding when `size_bytes` exceeds the cap, else None.

    Lets an extractor skip a file from its ContentSize before downloading it; `mime` is the declared type.
    """
    if size_bytes <= max_bytes:
        return None
    return MediaFinding(
        record_id=record_id,
        mime=None,
        size_bytes=size_bytes,
        status=STATUS_SKIPPED_TOO_LARGE,
        has_manifest=False,
        declared_mime=normalize_mime(mime),
        detail=f"file is {_human_size(size_bytes)}, over the {_human_size(max_bytes)} inspection cap",
    )


def download_failed_finding(record_id: str, mime: str | None, size_bytes: int, reason: str) -> MediaFinding:
    """The finding for a file whose bytes could not be fetched; `reason` says why."""
    return MediaFinding(
        record_id=record_id,
        mime=None,
        size_bytes=size_bytes,
        status=STATUS_DOWNLOAD_FAILED,
        has_manifest=False,
        declared_mime=normalize_mime(mime),
        detail=f"the file could not be downloaded: {reason}",
    )


def _offline_context(trust: C2paTrust) -> c2pa.Context:
    settings = dict(_OFFLINE_SETTINGS)
    trust_settings = trust.settings()
    if trust_settings:
        settings["trust"] = trust_settings
    try:
        return c2pa.Context.from_dict(settings)
    except (c2pa.C2paError, UnicodeDecodeError) as exc:
        raise ValueError(f"trust_anchors_pem or trust_config is not usable by c2pa: {exc}") from exc


def inspect_media(
    record_id: str,
    data: bytes,
    mime: str | None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    trust_anchors_pem: bytes | None = None,
    trust_config: str | None = None,
) -> MediaFinding:
    """Inspect one file's bytes. Never raises for bad file input; the finding's status says what happened.

    `mime` is the declared type, a hint: the format comes from the bytes. A file over `max_bytes` is
    skipped_too_large without being parsed. `trust_anchors_pem` (CA certificates) and `trust_config` (EKU
    OIDs) apply to this call only; with the signer's CA in the anchors a valid manifest is "Trusted".
    Malformed trust input is a configuration error: ValueError.
    """
    hint = normalize_mime(mime)
    oversized = oversized_finding(record_id, hint, len(data), max_bytes=max_bytes)
    if oversized is not None:
        return oversized
    detected = detect_mime(data, hint)
    readable = readable_mime_types()
    # Bytes no table knows may still be a format c2pa reads: let c2pa try with the hint, or detect itself.
    fmt = detected if detected is not None else (hint if hint in readable else None)
    base = MediaFinding(
        record_id=record_id, mime=fmt, size_bytes=len(data), status="", has_manifest=False, declared_mime=hint
    )
    if fmt is not None and fmt not in readable:
        return replace(base, status=STATUS_NOT_INSPECTABLE, detail=f"the bytes are {fmt}, which c2pa does not read")

    with _offline_context(C2paTrust(trust_anchors_pem, trust_config)) as context:
        try:
            reader = c2pa.Reader.try_create(fmt, io.BytesIO(data), None, context)
            if reader is None:
                return replace(base, status=STATUS_NO_MANIFEST)
            with reader:
                store = json.loads(reader.json())
        except c2pa.C2paError.RemoteManifest as exc:
            return _remote(base, exc)
        except c2pa.C2paError.NotSupported:
            declared = f" (declared {hint})" if hint else ""
            return replace(
                base,
                status=STATUS_NOT_INSPECTABLE,
                detail=f"the bytes match no format c2pa reads{declared}",
            )
        except _BROKEN_MANIFEST_ERRORS as exc:
            return _damaged_manifest(base, exc)
        except c2pa.C2paError as exc:
            # c2pa-python raises the plain C2paError for "Remote: ..." errors it has no subclass for.
            if str(exc).startswith("Remote"):
                return _remote(base, exc)
            if any(marker in data for marker in _C2PA_STORE_MARKERS):
                return _damaged_manifest(base, exc)
            return replace(
                base, status=STATUS_UNREADABLE, detail=f"no C2PA data found and c2pa could not parse the file: {exc}"
            )
        except json.JSONDecodeError as exc:
            return _damaged_manifest(base, exc)
    return _from_store(base, store)


def _damaged_manifest(base: MediaFinding, exc: Exception) -> MediaFinding:
    return replace(
        base,
        status=STATUS_MANIFEST,
        has_manifest=True,
        validation_state="Invalid",
        detail=f"the file carries C2PA data that c2pa cannot read or verify: {exc}",
    )


def _remote(base: MediaFinding, exc: c2pa.C2paError) -> MediaFinding:
    return replace(
        base,
        status=STATUS_REMOTE_MANIFEST,
        has_manifest=True,
        detail=f"the manifest is stored remotely and was not fetched (inspection is offline): {exc}",
    )


def _from_store(base: MediaFinding, store: dict[str, Any]) -> MediaFinding:
    manifests: dict[str, Any] = store.get("manifests") or {}
    active_label = store.get("active_manifest")
    manifest: dict[str, Any] = (manifests.get(active_label) or {}) if isinstance(active_label, str) else {}
    if not manifest:
        return _damaged_manifest(base, ValueError("C2PA data without an active manifest"))

    found = classify(manifest, manifests, str(active_label))
    signature = manifest.get("signature_info") or {}
    raw_state = store.get("validation_state")
    state = raw_state if isinstance(raw_state, str) else None
    errors = tuple(_failure_codes(store))
    cls = found.provenance_class
    authentic = cls in CAPTURE_SOURCE_TYPES and state == "Trusted"
    notes = []
    if found.inherited_from_ingredients:
        notes.append(f"class {cls} inherited from the manifests of the file's ingredients")
    if state == "Invalid":
        notes.append("c2pa reports the manifest Invalid: " + (", ".join(errors) or "no failure code given"))
    if cls in CAPTURE_SOURCE_TYPES and not authentic:
        notes.append(f"capture claim from a signer that is {state or 'not validated'}: not evidence of authenticity")
    return replace(
        base,
        status=STATUS_MANIFEST,
        has_manifest=True,
        validation_state=state,
        validation_errors=errors,
        signer=signature.get("common_name") or signature.get("issuer"),
        signer_org=signature.get("issuer"),
        claim_generator=_claim_generator(manifest),
        title=manifest.get("title"),
        digital_source_types=found.declared,
        software_agents=found.software_agents,
        provenance_class=cls,
        ai_generated=cls in AI_SOURCE_TYPES,
        synthetic_kind=synthetic_kind(cls),
        authentic_capture=authentic,
        detail="; ".join(notes) or None,
    )


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    generator = manifest.get("claim_generator")
    if isinstance(generator, str) and generator:
        return generator
    infos = manifest.get("claim_generator_info") or []
    if not infos or not isinstance(infos[0], dict) or not infos[0].get("name"):
        return None
    info = infos[0]
    return f"{info['name']}/{info['version']}" if info.get("version") else str(info["name"])


def _failure_codes(store: dict[str, Any]) -> list[str]:
    results = store.get("validation_results") or {}
    statuses: list[Any] = list(store.get("validation_status") or [])
    statuses += (results.get("activeManifest") or {}).get("failure") or []
    for delta in results.get("ingredientDeltas") or []:
        statuses += (delta.get("validationDeltas") or {}).get("failure") or []
    codes: list[str] = []
    for status in statuses:
        code = status.get("code") if isinstance(status, dict) else None
        if isinstance(code, str) and code not in codes:
            codes.append(code)
    return codes
