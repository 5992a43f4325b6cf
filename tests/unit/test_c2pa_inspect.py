"""The product's C2PA inspector against files signed with the sandbox's test CA."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
from dataclasses import fields
from typing import Any

import c2pa
import pyarrow as pa
import pytest

from synthgov.provenance.c2pa_inspect import STATUSES, MediaFinding, inspect_media, oversized_finding
from synthgov.provenance.formats import HINT_MIME_TYPES, hint_mime
from synthgov.provenance.source_types import (
    AI_SOURCE_TYPES,
    IPTC_PREFIX,
    SOURCE_TYPES_MOST_SYNTHETIC_FIRST,
    normalize_source_type,
    synthetic_kind,
)
from synthgov_sandbox.demo.media import SigningIdentity, make_signing_identity, render_image, sign_image

pytestmark = pytest.mark.unit

MIMES = {"png": "image/png", "jpeg": "image/jpeg"}
SIGNER = "synthgov sandbox C2PA test signer"
UNTRUSTED = "signingCredential.untrusted"


@pytest.fixture(scope="module")
def identity() -> SigningIdentity:
    return make_signing_identity(seed=11)


def signed(identity: SigningIdentity, kind: str, source_type: str, agent: str | None = "Midjourney v7") -> bytes:
    return sign_image(
        render_image(kind, 5),
        MIMES[kind],
        identity,
        digital_source_type=source_type,
        title=f"visual.{kind}",
        claim_generator="acme-studio/3.2",
        software_agent=agent,
    )


def sign_manifest(
    identity: SigningIdentity,
    manifest: dict[str, Any],
    data: bytes,
    *,
    ingredients: tuple[tuple[dict[str, Any], bytes], ...] = (),
    remote_url: str | None = None,
) -> bytes:
    """A PNG signed with an arbitrary manifest definition, for cases the sandbox's sign_image does not make."""
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, identity.cert_chain_pem, identity.private_key_pem, None)
    out = io.BytesIO()
    with (
        c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}}) as context,
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(manifest, context=context) as builder,
    ):
        for ingredient, ingredient_data in ingredients:
            builder.add_ingredient(ingredient, "image/png", io.BytesIO(ingredient_data))
        if remote_url is not None:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        builder.sign(signer, "image/png", io.BytesIO(data), out)
    return out.getvalue()


def actions_manifest(*actions: dict[str, Any], title: str = "edited.png") -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "editor", "version": "2"}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": list(actions)}}],
    }


# -- signed and unsigned images ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png", "jpeg"])
@pytest.mark.parametrize(
    ("source_type", "agent", "ai"),
    [
        ("trainedAlgorithmicMedia", "Midjourney v7", True),
        ("compositeWithTrainedAlgorithmicMedia", "DeepFaceStudio 2.1", True),
        ("digitalCapture", "Canon EOS R5", False),
    ],
)
def test_signed_image_is_classified_by_its_source_type(
    identity: SigningIdentity, kind: str, source_type: str, agent: str, ai: bool
) -> None:
    data = signed(identity, kind, source_type, agent)
    finding = inspect_media("068000000000001AAA", data, MIMES[kind])
    assert finding.record_id == "068000000000001AAA"
    assert finding.mime == MIMES[kind]
    assert finding.size_bytes == len(data)
    assert finding.status == "manifest"
    assert finding.has_manifest is True
    assert finding.provenance_class == source_type
    assert finding.ai_generated is ai
    assert finding.digital_source_types == (source_type,)
    assert finding.software_agents == (agent,)
    assert finding.signer == SIGNER
    assert finding.signer_org == "synthgov sandbox"
    assert finding.claim_generator == "acme-studio/3.2"
    assert finding.title == f"visual.{kind}"
    # Nothing trusts the sandbox CA: the signature checks out but the credential is untrusted.
    assert finding.validation_state == "Valid"
    assert UNTRUSTED in finding.validation_errors
    # An untrusted camera claim is reported, and said not to be evidence of authenticity.
    assert finding.authentic_capture is False
    if ai:
        assert finding.detail is None
    else:
        assert finding.detail is not None and "not evidence of authenticity" in finding.detail


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_unsigned_image_has_no_manifest(kind: str) -> None:
    data = render_image(kind, 9)
    finding = inspect_media("068A", data, MIMES[kind])
    assert finding.status == "no_manifest"
    assert finding.has_manifest is False
    assert finding.provenance_class is None
    assert finding.ai_generated is False
    assert finding.digital_source_types == () and finding.validation_errors == ()
    assert finding.validation_state is None and finding.signer is None


def test_sandbox_ca_as_trust_anchor_makes_the_manifest_trusted(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "trainedAlgorithmicMedia")
    finding = inspect_media("068A", data, "image/png", trust_anchors_pem=identity.ca_cert_pem)
    assert finding.validation_state == "Trusted"
    assert UNTRUSTED not in finding.validation_errors
    assert finding.provenance_class == "trainedAlgorithmicMedia"


def test_trust_anchors_apply_to_one_call_only(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "digitalCapture")
    assert inspect_media("a", data, "image/png", trust_anchors_pem=identity.ca_cert_pem).validation_state == "Trusted"
    after = inspect_media("b", data, "image/png")
    assert after.validation_state == "Valid" and UNTRUSTED in after.validation_errors
    # c2pa's own default Context (what a bare Reader uses) is untouched too.
    with c2pa.Reader("image/png", io.BytesIO(data)) as reader:
        assert reader.get_validation_state() == "Valid"
    other_ca = make_signing_identity(seed=12).ca_cert_pem
    assert inspect_media("c", data, "image/png", trust_anchors_pem=other_ca).validation_state == "Valid"


def test_malformed_trust_anchors_are_a_configuration_error(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "digitalCapture")
    with pytest.raises(ValueError, match="trust_anchors_pem"):
        inspect_media("a", data, "image/png", trust_anchors_pem=b"not a certificate")


def test_mime_is_normalised_and_may_be_left_to_detection(identity: SigningIdentity) -> None:
    data = signed(identity, "jpeg", "trainedAlgorithmicMedia")
    assert inspect_media("a", data, "IMAGE/JPG; charset=binary").mime == "image/jpeg"
    assert inspect_media("a", data, "IMAGE/JPG; charset=binary").provenance_class == "trainedAlgorithmicMedia"
    detected = inspect_media("a", data, None)
    assert detected.mime == "image/jpeg" and detected.provenance_class == "trainedAlgorithmicMedia"
    # The bytes decide, not a wrong label: the label is kept as what was declared.
    mislabelled = inspect_media("a", data, "image/png")
    assert (mislabelled.mime, mislabelled.declared_mime) == ("image/jpeg", "image/png")
    assert mislabelled.provenance_class == "trainedAlgorithmicMedia"


# -- tampering and bad input -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_pixels_changed_after_signing_make_the_manifest_invalid(identity: SigningIdentity, kind: str) -> None:
    data = bytearray(signed(identity, kind, "trainedAlgorithmicMedia"))
    data[-100] ^= 0xFF  # image data, outside the manifest
    finding = inspect_media("068A", bytes(data), MIMES[kind])
    assert finding.status == "manifest"
    assert finding.validation_state == "Invalid"
    assert "assertion.dataHash.mismatch" in finding.validation_errors
    # The claim is still reported: a tampered AI image still says it is AI.
    assert finding.provenance_class == "trainedAlgorithmicMedia" and finding.ai_generated
    assert finding.detail is not None and "assertion.dataHash.mismatch" in finding.detail


def test_corrupted_manifest_is_an_invalid_manifest(identity: SigningIdentity) -> None:
    data = bytearray(signed(identity, "png", "trainedAlgorithmicMedia"))
    data[data.find(b"c2pa.actions") + 40] ^= 0x01
    finding = inspect_media("068A", bytes(data), "image/png")
    assert finding.status == "manifest"
    assert finding.has_manifest is True
    assert finding.validation_state == "Invalid"
    assert finding.provenance_class is None and finding.ai_generated is False
    assert finding.detail is not None and "cannot read or verify" in finding.detail


def test_damaged_file_without_c2pa_data_is_unreadable_not_a_manifest() -> None:
    # A JPEG start of image followed by junk: c2pa cannot parse it, and no C2PA store is in the bytes.
    finding = inspect_media("068A", b"\xff\xd8\xff\xe0" + b"x" * 1000, "image/jpeg")
    assert finding.status == "unreadable"
    assert finding.has_manifest is False and finding.validation_state is None
    assert finding.detail is not None and "no C2PA data" in finding.detail


@pytest.mark.parametrize(
    "data",
    [b"definitely not a png" * 20, b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10],
    ids=["garbage", "empty", "truncated"],
)
def test_bytes_c2pa_cannot_parse_are_not_a_manifest(data: bytes) -> None:
    finding = inspect_media("068A", data, "image/png")
    assert finding.status in ("unreadable", "not_inspectable")
    assert finding.has_manifest is False
    assert finding.size_bytes == len(data)
    assert finding.detail


def test_truncated_signed_file_still_carries_its_manifest(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "trainedAlgorithmicMedia")
    finding = inspect_media("068A", data[: len(data) // 2], "image/png")
    assert (finding.status, finding.has_manifest, finding.validation_state) == ("manifest", True, "Invalid")


@pytest.mark.parametrize("mime", ["text/plain", "application/json", "image/bmp", "application/x-msdownload"])
def test_bytes_c2pa_does_not_read_are_not_inspectable(mime: str) -> None:
    finding = inspect_media("068A", b"hello", mime)
    assert finding.status == "not_inspectable"
    assert finding.declared_mime == mime and finding.detail and mime in finding.detail


def test_a_format_c2pa_does_not_read_is_named_from_the_bytes() -> None:
    bmp = b"BM" + (70).to_bytes(4, "little") + b"\x00" * 4 + (54).to_bytes(4, "little") + (40).to_bytes(4, "little")
    finding = inspect_media("068A", bmp + b"\x00" * 48, "image/png")
    assert finding.status == "not_inspectable"
    assert finding.mime == "image/bmp" and finding.detail == "the bytes are image/bmp, which c2pa does not read"


def test_an_odd_name_does_not_hide_a_signed_image(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "trainedAlgorithmicMedia")
    for declared in (None, "text/plain", "application/octet-stream"):
        finding = inspect_media("068A", data, declared)
        assert (finding.mime, finding.provenance_class) == ("image/png", "trainedAlgorithmicMedia")


def test_undetectable_bytes_without_mime_are_not_inspectable() -> None:
    assert inspect_media("068A", b"plain words, no container" * 4, None).status == "not_inspectable"


def test_file_over_the_cap_is_skipped_without_parsing(
    identity: SigningIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = signed(identity, "png", "trainedAlgorithmicMedia")

    def no_parsing(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an oversized file was parsed")

    monkeypatch.setattr(c2pa.Reader, "try_create", no_parsing)
    monkeypatch.setattr(c2pa.Reader, "__init__", no_parsing)
    finding = inspect_media("068A", data, "image/png", max_bytes=len(data) - 1)
    assert finding.status == "skipped_too_large"
    assert finding.has_manifest is False and finding.provenance_class is None
    assert finding.size_bytes == len(data)
    assert finding.detail is not None and "inspection cap" in finding.detail


def test_file_at_the_cap_is_inspected(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "trainedAlgorithmicMedia")
    assert inspect_media("068A", data, "image/png", max_bytes=len(data)).status == "manifest"


def test_oversized_finding_reads_like_a_person_wrote_it() -> None:
    finding = oversized_finding("068A", "video/mp4", 60 * 1024 * 1024)
    assert finding is not None
    assert finding.detail == "file is 60 MB, over the 50 MB inspection cap"
    assert oversized_finding("068A", "video/mp4", 50 * 1024 * 1024) is None


# -- classification beyond a single created action -----------------------------------------------


def test_most_synthetic_declared_type_is_the_class(identity: SigningIdentity) -> None:
    manifest = actions_manifest(
        {"action": "c2pa.created", "digitalSourceType": IPTC_PREFIX + "digitalCapture"},
        {
            "action": "c2pa.edited",
            "digitalSourceType": IPTC_PREFIX + "trainedAlgorithmicMedia",
            "softwareAgent": {"name": "Generative Fill"},
        },
    )
    finding = inspect_media("068A", sign_manifest(identity, manifest, render_image("png", 3)), "image/png")
    assert finding.digital_source_types == ("digitalCapture", "trainedAlgorithmicMedia")
    assert finding.provenance_class == "trainedAlgorithmicMedia"
    assert finding.software_agents == ("Generative Fill",)
    assert finding.claim_generator == "editor/2"


def test_algorithmically_enhanced_capture_is_not_ai_generated(identity: SigningIdentity) -> None:
    manifest = actions_manifest(
        {"action": "c2pa.created", "digitalSourceType": IPTC_PREFIX + "algorithmicallyEnhanced"}
    )
    finding = inspect_media("068A", sign_manifest(identity, manifest, render_image("png", 3)), "image/png")
    assert finding.provenance_class == "algorithmicallyEnhanced"
    assert finding.ai_generated is False


def test_edit_without_declaration_inherits_its_parents_class(identity: SigningIdentity) -> None:
    ai_original = signed(identity, "png", "trainedAlgorithmicMedia")
    manifest = actions_manifest(
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["orig"]}}, {"action": "c2pa.cropped"}
    )
    parent = {"title": "orig.png", "relationship": "parentOf", "label": "orig"}
    edited = sign_manifest(identity, manifest, render_image("png", 4), ingredients=((parent, ai_original),))
    finding = inspect_media("068A", edited, "image/png")
    assert finding.status == "manifest"
    assert finding.digital_source_types == ()
    assert finding.provenance_class == "trainedAlgorithmicMedia"
    assert finding.ai_generated is True
    assert finding.detail is not None and "inherited" in finding.detail


def test_ai_component_placed_into_a_photo_makes_a_composite(identity: SigningIdentity) -> None:
    photo = render_image("png", 7)  # no manifest of its own
    ai_element = signed(identity, "png", "trainedAlgorithmicMedia")
    manifest = actions_manifest(
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["photo"]}},
        {"action": "c2pa.placed", "parameters": {"ingredientIds": ["element"]}},
    )
    edited = sign_manifest(
        identity,
        manifest,
        photo,
        ingredients=(
            ({"title": "photo.png", "relationship": "parentOf", "label": "photo"}, photo),
            ({"title": "element.png", "relationship": "componentOf", "label": "element"}, ai_element),
        ),
    )
    finding = inspect_media("068A", edited, "image/png")
    assert finding.provenance_class == "compositeWithTrainedAlgorithmicMedia"
    assert finding.ai_generated is True


def test_remote_manifest_is_reported_without_touching_the_network(identity: SigningIdentity) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/manifest.c2pa"
        manifest = actions_manifest({"action": "c2pa.created", "digitalSourceType": IPTC_PREFIX + "digitalCapture"})
        data = sign_manifest(identity, manifest, render_image("png", 6), remote_url=url)
        connections: list[object] = []

        def accept() -> None:
            with contextlib.suppress(OSError):  # the timeout: nobody connected
                connections.append(listener.accept())

        watcher = threading.Thread(target=accept)
        watcher.start()
        finding = inspect_media("068A", data, "image/png")
        watcher.join()
    assert connections == []
    assert finding.status == "remote_manifest"
    assert finding.has_manifest is True
    assert finding.provenance_class is None and finding.validation_state is None
    assert finding.detail is not None and url in finding.detail


# -- vocabulary, mapping and rows --------------------------------------------------------------


def test_ai_source_types_are_the_most_synthetic_codes() -> None:
    assert {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
        "compositeSynthetic",
    } <= AI_SOURCE_TYPES
    ranked = SOURCE_TYPES_MOST_SYNTHETIC_FIRST
    assert set(ranked[: len(AI_SOURCE_TYPES)]) == AI_SOURCE_TYPES
    assert ranked[0] == "trainedAlgorithmicMedia" and ranked[-1] == "digitalCapture"
    assert len(set(ranked)) == len(ranked)
    assert {"algorithmicallyEnhanced", "digitalCapture", "digitalCreation"}.isdisjoint(AI_SOURCE_TYPES)


@pytest.mark.parametrize(
    ("file_type", "extension", "mime"),
    [
        ("PNG", "png", "image/png"),
        ("JPG", "jpg", "image/jpeg"),
        ("JPEG", "jpeg", "image/jpeg"),
        ("GIF", "gif", "image/gif"),
        ("UNKNOWN", "webp", "image/webp"),
        ("UNKNOWN", "HEIC", "image/heic"),
        (None, ".tiff", "image/tiff"),
        ("MP4", "mp4", "video/mp4"),
        ("MOV", "mov", "video/quicktime"),
        ("MP3", "mp3", "audio/mpeg"),
        (None, "wav", "audio/wav"),
        ("PDF", "pdf", "application/pdf"),
        ("WORD_X", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("BMP", "bmp", None),
        ("TEXT", "txt", None),
        (None, None, None),
        ("", "", None),
    ],
)
def test_hint_mime_maps_file_type_then_extension(
    file_type: str | None, extension: str | None, mime: str | None
) -> None:
    assert hint_mime(file_type, extension) == mime


def test_every_hinted_mime_type_is_one_c2pa_reads() -> None:
    readable = set(c2pa.Reader.get_supported_mime_types())
    assert set(HINT_MIME_TYPES.values()) <= readable
    assert {"image/png", "image/jpeg", "image/webp", "image/tiff", "video/mp4", "audio/mpeg"} <= set(
        HINT_MIME_TYPES.values()
    )


def test_as_row_is_flat_and_loads_into_arrow(identity: SigningIdentity) -> None:
    findings = [
        inspect_media("068A", signed(identity, "png", "trainedAlgorithmicMedia"), "image/png"),
        inspect_media("068B", render_image("jpeg", 2), "image/jpeg"),
        inspect_media("068C", b"x", "text/plain"),
    ]
    rows = [f.as_row() for f in findings]
    assert list(rows[0]) == [f.name for f in fields(MediaFinding)]
    assert json.loads(str(rows[0]["digital_source_types"])) == ["trainedAlgorithmicMedia"]
    assert json.loads(str(rows[0]["validation_errors"])) == [UNTRUSTED]
    assert rows[1]["software_agents"] == "[]"
    assert all(not isinstance(v, (tuple, list, dict)) for row in rows for v in row.values())
    table = pa.Table.from_pylist(rows)
    assert table.num_rows == 3
    assert table.column("status").to_pylist() == ["manifest", "no_manifest", "not_inspectable"]
    assert {str(s) for s in table.column("status").to_pylist()} <= set(STATUSES)


# -- digitalSourceType as real files write it ------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", "trainedAlgorithmicMedia"),
        ("https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", "trainedAlgorithmicMedia"),
        ("  HTTP://CV.IPTC.ORG/newscodes/digitalsourcetype/trainedalgorithmicmedia/ ", "trainedAlgorithmicMedia"),
        ("http://c2pa.org/digitalsourcetype/trainedAlgorithmicData", "trainedAlgorithmicData"),
        ("https://c2pa.org/digitalsourcetype/empty", "empty"),
        ("compositeSynthetic", "compositeSynthetic"),
        (" digitalcapture ", "digitalCapture"),
        ("https://example.com/vocab/madeUp", "https://example.com/vocab/madeUp"),
        ("   ", None),
    ],
)
def test_source_types_are_read_in_every_form(written: str, code: str | None) -> None:
    assert normalize_source_type(written) == code


def test_a_vendors_own_parameter_carrying_a_standard_code_counts(identity: SigningIdentity) -> None:
    manifest = actions_manifest(
        {"action": "c2pa.created", "digitalSourceType": IPTC_PREFIX + "digitalCreation"},
        {"action": "c2pa.edited", "parameters": {"com.vendor.digitalSourceType": "trainedAlgorithmicMedia"}},
        {"action": "c2pa.edited", "parameters": {"name": "composite"}},  # a bare word under another key: no code
    )
    finding = inspect_media("068A", sign_manifest(identity, manifest, render_image("png", 3)), "image/png")
    assert finding.digital_source_types == ("digitalCreation", "trainedAlgorithmicMedia")
    assert (finding.provenance_class, finding.synthetic_kind) == ("trainedAlgorithmicMedia", "generative_ai")


def test_an_edit_declaring_human_edits_cannot_launder_an_ai_parent(identity: SigningIdentity) -> None:
    ai_original = signed(identity, "png", "trainedAlgorithmicMedia")
    manifest = actions_manifest(
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["orig"]}},
        {"action": "c2pa.edited", "digitalSourceType": IPTC_PREFIX + "humanEdits"},
    )
    parent = {"title": "orig.png", "relationship": "parentOf", "label": "orig"}
    edited = sign_manifest(identity, manifest, render_image("png", 4), ingredients=((parent, ai_original),))
    finding = inspect_media("068A", edited, "image/png")
    assert finding.digital_source_types == ("humanEdits",)
    assert finding.provenance_class == "trainedAlgorithmicMedia" and finding.ai_generated


def test_generative_ai_is_told_apart_from_other_synthetic_content() -> None:
    assert synthetic_kind("trainedAlgorithmicMedia") == "generative_ai"
    assert synthetic_kind("compositeWithTrainedAlgorithmicMedia") == "generative_ai"
    assert synthetic_kind("trainedAlgorithmicData") == "generative_ai"
    assert synthetic_kind("algorithmicMedia") == "other_synthetic"
    assert synthetic_kind("compositeSynthetic") == "other_synthetic"
    assert synthetic_kind("algorithmicallyEnhanced") is None and synthetic_kind(None) is None


def test_a_trusted_capture_claim_is_evidence_of_authenticity(identity: SigningIdentity) -> None:
    data = signed(identity, "png", "digitalCapture", "Canon EOS R5")
    trusted = inspect_media("068A", data, "image/png", trust_anchors_pem=identity.ca_cert_pem)
    assert (trusted.validation_state, trusted.authentic_capture) == ("Trusted", True)
    assert inspect_media("068A", data, "image/png").authentic_capture is False
