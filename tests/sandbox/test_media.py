"""Sandbox media: rendered images, the test signing identity and C2PA manifests c2pa reads back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from synthgov_sandbox.demo.media import (
    IPTC_PREFIX,
    SigningIdentity,
    load_or_create_identity,
    make_signing_identity,
    read_manifest_summary,
    render_image,
    sign_image,
    source_type_uri,
)

pytestmark = pytest.mark.unit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MIMES = {"png": "image/png", "jpeg": "image/jpeg"}


@pytest.fixture(scope="module")
def identity() -> SigningIdentity:
    return make_signing_identity(seed=7)


@pytest.mark.parametrize(("kind", "magic", "pil_format"), [("png", PNG_MAGIC, "PNG"), ("jpeg", JPEG_MAGIC, "JPEG")])
def test_render_image_is_a_real_deterministic_image(kind: str, magic: bytes, pil_format: str) -> None:
    data = render_image(kind, 42)
    assert data.startswith(magic)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == pil_format
        assert img.size == (256, 192)
        img.load()
    assert render_image(kind, 42) == data
    assert render_image(kind, 43) != data
    with Image.open(io.BytesIO(render_image(kind, 1, width=64, height=32))) as small:
        assert small.size == (64, 32)


def test_render_image_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unsupported image kind"):
        render_image("gif", 1)


def test_signing_identity_fits_the_c2pa_profile(identity: SigningIdentity) -> None:
    leaf, ca = x509.load_pem_x509_certificates(identity.cert_chain_pem)
    assert ca == x509.load_pem_x509_certificate(identity.ca_cert_pem)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "synthgov sandbox C2PA test signer"
    assert leaf.issuer == ca.subject
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


def test_seeded_identity_is_reproducible(identity: SigningIdentity) -> None:
    assert make_signing_identity(seed=7) == identity
    assert make_signing_identity(seed=8).private_key_pem != identity.private_key_pem
    assert make_signing_identity().private_key_pem != make_signing_identity().private_key_pem


@pytest.mark.parametrize("kind", ["png", "jpeg"])
@pytest.mark.parametrize(
    ("source_type", "agent"),
    [
        ("trainedAlgorithmicMedia", "Midjourney v7"),
        ("digitalCapture", None),
        (IPTC_PREFIX + "compositeWithTrainedAlgorithmicMedia", "DeepFaceStudio 2.1"),
    ],
)
def test_sign_and_read_back(identity: SigningIdentity, kind: str, source_type: str, agent: str | None) -> None:
    mime = MIMES[kind]
    original = render_image(kind, 5)
    signed = sign_image(
        original, mime, identity, digital_source_type=source_type, title=f"asset.{kind}", software_agent=agent
    )
    assert signed != original
    with Image.open(io.BytesIO(signed)) as img:  # still an ordinary image for ordinary viewers
        img.load()

    summary = read_manifest_summary(signed, mime)
    assert summary is not None
    assert summary["digital_source_types"] == [source_type.removeprefix(IPTC_PREFIX)]
    assert summary["title"] == f"asset.{kind}"
    assert summary["signer"] == "synthgov sandbox C2PA test signer"
    assert summary["claim_generator"] == "synthgov-sandbox/0.1"
    assert summary["software_agents"] == ([agent] if agent else [])
    # Nothing trusts the sandbox CA: the signature is valid, the credential untrusted.
    assert summary["validation_state"] == "Valid"
    assert summary["validation_errors"] == ["signingCredential.untrusted"]


def test_signer_ca_as_trust_anchor_makes_it_trusted(identity: SigningIdentity) -> None:
    signed = sign_image(
        render_image("png", 9), "image/png", identity, digital_source_type="digitalCapture", title="cam.png"
    )
    summary = read_manifest_summary(signed, "image/png", trust_anchors_pem=identity.ca_cert_pem)
    assert summary is not None
    assert summary["validation_state"] == "Trusted"
    assert summary["validation_errors"] == []


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_unsigned_image_has_no_manifest(kind: str) -> None:
    assert read_manifest_summary(render_image(kind, 3), MIMES[kind]) is None


def _pixel_offset(data: bytes, kind: str) -> int:
    """An offset inside the compressed pixel data, well away from the manifest."""
    if kind == "jpeg":
        return len(data) - 64  # entropy-coded scan data runs up to the EOI marker at the very end
    # Walk the PNG chunks (length, type, data, crc) to the middle of the first IDAT's data.
    pos = len(PNG_MAGIC)
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            return pos + 8 + length // 2
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_tampered_pixels_invalidate_the_manifest(identity: SigningIdentity, kind: str) -> None:
    mime = MIMES[kind]
    signed = bytearray(
        sign_image(render_image(kind, 11), mime, identity, digital_source_type="trainedAlgorithmicMedia", title="fake")
    )
    offset = _pixel_offset(bytes(signed), kind)
    assert bytes(signed).find(b"c2pa") < offset
    signed[offset] ^= 0xFF
    summary = read_manifest_summary(bytes(signed), mime, trust_anchors_pem=identity.ca_cert_pem)
    assert summary is not None
    assert summary["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert summary["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in summary["validation_errors"]


def test_source_type_uri() -> None:
    assert source_type_uri("digitalCapture") == IPTC_PREFIX + "digitalCapture"
    assert source_type_uri(IPTC_PREFIX + "digitalCapture") == IPTC_PREFIX + "digitalCapture"
    with pytest.raises(ValueError, match="unknown IPTC digital source type"):
        source_type_uri("trainedAlgorithmicMedai")


def test_load_or_create_identity_persists_and_reuses(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path)
    files = sorted(p.name for p in (tmp_path / "c2pa").glob("*.pem"))
    assert files == ["ca-cert.pem", "signer-chain.pem", "signer-key.pem"]
    assert (tmp_path / "c2pa" / "signer-key.pem").stat().st_mode & 0o077 == 0
    assert load_or_create_identity(tmp_path) == first

    signed = sign_image(render_image("jpeg", 2), "image/jpeg", first, digital_source_type="digitalCapture", title="x")
    summary = read_manifest_summary(signed, "image/jpeg", trust_anchors_pem=first.ca_cert_pem)
    assert summary is not None and summary["validation_state"] == "Trusted"


def test_load_or_create_identity_replaces_a_broken_identity(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path)
    (tmp_path / "c2pa" / "signer-key.pem").write_bytes(make_signing_identity(seed=1).private_key_pem)
    second = load_or_create_identity(tmp_path)
    assert second != first
    assert load_or_create_identity(tmp_path) == second
