"""Images for the sandbox org's ContentVersion files, some carrying C2PA Content Credentials.

The demo seed plants real PNG/JPEG bytes: plain photos without a manifest, and images signed with a
C2PA manifest whose `c2pa.created` action names an IPTC digital source type (`trainedAlgorithmicMedia`
for AI-generated "deepfake" media, `digitalCapture` for camera captures,
`compositeWithTrainedAlgorithmicMedia` for composites).

Signing uses a sandbox test CA minted locally with `cryptography`: never a downloaded or real
certificate. c2pa (0.91.x, via c2pa-python 0.38.1) checks the signing certificate against the C2PA
certificate profile when it signs and refuses anything else, so the leaf is made to fit that profile:
- an ES256 key (EC P-256; the profile also allows P-384/P-521 and RSA >= 2048 bits, PS256 checked to work);
- X.509 v3, signed by the CA with ecdsa-with-SHA256, inside its validity period at signing time;
- BasicConstraints CA:FALSE (a CA certificate is rejected as a signer);
- KeyUsage critical with digitalSignature and without keyCertSign;
- ExtendedKeyUsage present, not anyExtendedKeyUsage, containing emailProtection: documentSigning
  and the C2PA claim-signing OID pass the profile but fail the SDK's verify-after-sign EKU check;
- AuthorityKeyIdentifier present (SubjectKeyIdentifier too, which c2pa requires of the CA).
The CA is self-signed (CA:TRUE, keyCertSign/cRLSign, SKI/AKI). Nothing trusts it, so readers report the
manifest as "Valid" with `signingCredential.untrusted`; given the CA as a trust anchor they report "Trusted".

`read_manifest_summary` is only for tests and the sandbox's own ground-truth checks; the product has its
own inspector.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, ImageDraw, ImageFilter, ImageOps

log = logging.getLogger(__name__)

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"

# The IPTC digital source type codes c2pa knows (its C2paDigitalSourceType enum). Short codes outside
# this set are refused so a typo cannot plant a manifest no reader would recognise; full URIs pass as is.
DIGITAL_SOURCE_TYPES = frozenset(
    {
        "trainedAlgorithmicData",
        "digitalCapture",
        "computationalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "humanEdits",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicallyEnhanced",
        "digitalCreation",
        "dataDrivenMedia",
        "trainedAlgorithmicMedia",
        "algorithmicMedia",
        "screenCapture",
        "virtualRecording",
        "composite",
        "compositeCapture",
        "compositeSynthetic",
    }
)

_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "png": "image/png", "jpeg": "image/jpeg"}
_IDENTITY_FILES = ("signer-chain.pem", "signer-key.pem", "ca-cert.pem")
# A persisted identity is replaced this long before its leaf expires, so a long-running sandbox never signs
# with a certificate that lapses mid-run.
_RENEW_MARGIN = timedelta(days=30)
_RANDOM_VALIDITY = timedelta(days=3650)
# Seeded identities use a fixed window so their PEMs are byte-identical across runs and machines.
_SEEDED_NOT_BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
_SEEDED_NOT_AFTER = datetime(2125, 1, 1, tzinfo=UTC)
_ORG = "synthgov sandbox"


@dataclass(frozen=True)
class SigningIdentity:
    """A C2PA signing credential: PEM chain (leaf first, then the CA), the leaf's key, and the CA alone."""

    cert_chain_pem: bytes
    private_key_pem: bytes
    ca_cert_pem: bytes


# --------------------------------------------------------------------------------------------------
# Signing identity
# --------------------------------------------------------------------------------------------------


def _seeded_int(seed: int, label: str, bits: int) -> int:
    digest = hashlib.sha512(f"synthgov-c2pa/{seed}/{label}".encode()).digest()
    return int.from_bytes(digest, "big") >> (len(digest) * 8 - bits)


def _make_key(seed: int | None, label: str) -> ec.EllipticCurvePrivateKey:
    if seed is None:
        return ec.generate_private_key(ec.SECP256R1())
    # P-256 group order: any scalar in [1, n-1] is a valid private key.
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(_seeded_int(seed, label, 320) % (order - 1) + 1, ec.SECP256R1())


def _serial(seed: int | None, label: str) -> int:
    if seed is None:
        return x509.random_serial_number()
    # RFC 5280: positive, at most 20 octets; 159 bits keeps the DER INTEGER within that.
    return _seeded_int(seed, label, 159) | 1


def _key_usage(*, digital_signature: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_signing_identity(
    common_name: str = "synthgov sandbox C2PA test signer", *, seed: int | None = None
) -> SigningIdentity:
    """A fresh test CA and a leaf certificate that c2pa accepts for signing (see the module docstring).

    Without `seed` the keys and serials are random and the certificates are valid from a day ago for ten
    years. With `seed` the keys are derived from it, the serials too, the validity is fixed (2025-2125) and
    the certificates are signed with deterministic ECDSA (RFC 6979), so the same seed gives byte-identical
    PEMs. The C2PA signatures made with either are still randomised per image by c2pa itself.
    """
    ca_key = _make_key(seed, "ca-key")
    leaf_key = _make_key(seed, "leaf-key")
    if seed is None:
        not_before = datetime.now(UTC) - timedelta(days=1)  # tolerate clock skew between processes
        not_after = not_before + _RANDOM_VALIDITY
    else:
        not_before, not_after = _SEEDED_NOT_BEFORE, _SEEDED_NOT_AFTER
    deterministic = seed is not None

    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "synthgov sandbox test CA (untrusted)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
        ]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(_serial(seed, "ca-serial"))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=False, cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=deterministic)
    )
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(_serial(seed, "leaf-serial"))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=deterministic)
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    return SigningIdentity(
        cert_chain_pem=leaf_cert.public_bytes(serialization.Encoding.PEM) + ca_pem,
        private_key_pem=leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ca_cert_pem=ca_pem,
    )


def _identity_problem(identity: SigningIdentity, now: datetime) -> str | None:
    """Why a loaded identity must not be reused, or None when it is sound."""
    try:
        chain = x509.load_pem_x509_certificates(identity.cert_chain_pem)
        ca = x509.load_pem_x509_certificate(identity.ca_cert_pem)
        key = serialization.load_pem_private_key(identity.private_key_pem, password=None)
    except ValueError as exc:
        return f"unreadable PEM ({exc})"
    if len(chain) < 2 or chain[-1] != ca:
        return "certificate chain does not end with the CA certificate"
    leaf = chain[0]
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != leaf.public_key():
        return "private key does not match the signing certificate"
    if leaf.issuer != ca.subject:
        return "signing certificate was not issued by the CA"
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc - _RENEW_MARGIN:
        return "signing certificate is expired or about to expire"
    return None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # Scheduler, webserver and seed may start together; the lock keeps them from writing two different
    # identities whose files then mix.
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_or_create_identity(state_dir: Path) -> SigningIdentity:
    """The identity persisted under `state_dir / "c2pa"`, made (randomly) on first use.

    Restarts reuse it, so files signed before a restart still name the same signer. An identity that is
    unreadable, inconsistent or within 30 days of expiry is replaced. The CA's private key is not kept:
    nothing issues further certificates from it.
    """
    directory = Path(state_dir) / "c2pa"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain_path, key_path, ca_path = (directory / name for name in _IDENTITY_FILES)
    with _locked(directory):
        if chain_path.exists() and key_path.exists() and ca_path.exists():
            identity = SigningIdentity(chain_path.read_bytes(), key_path.read_bytes(), ca_path.read_bytes())
            problem = _identity_problem(identity, datetime.now(UTC))
            if problem is None:
                return identity
            log.warning("replacing the sandbox C2PA signing identity in %s: %s", directory, problem)
        identity = make_signing_identity()
        # A crash between these writes can leave files of two identities; the next load's consistency check
        # (key matches leaf, leaf issued by CA) catches that and replaces them.
        _write_atomically(ca_path, identity.ca_cert_pem, 0o644)
        _write_atomically(chain_path, identity.cert_chain_pem, 0o644)
        _write_atomically(key_path, identity.private_key_pem, 0o600)
        return identity


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------


def _random_color(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def render_image(kind: str, seed: int, *, width: int = 256, height: int = 192) -> bytes:
    """A real PNG or JPEG picture (gradient, shapes, grain), the same bytes for the same seed.

    Every pixel comes from `random.Random(seed)` and the encoders run with fixed options, so the output
    depends only on (kind, seed, size) and the installed Pillow/zlib/libjpeg.
    """
    fmt = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG"}.get(kind.lower())
    if fmt is None:
        raise ValueError(f"unsupported image kind {kind!r}: expected 'png' or 'jpeg'")
    if width < 8 or height < 8:
        raise ValueError("images must be at least 8x8 pixels")
    rng = random.Random(seed)

    # A two-colour gradient at a random angle: the sky/wall of the "photo".
    ramp = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.Resampling.BICUBIC, expand=False)
    ramp = ramp.resize((width, height), Image.Resampling.BILINEAR)
    img = ImageOps.colorize(ramp, _random_color(rng), _random_color(rng)).convert("RGB")

    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(rng.randint(4, 9)):
        x0, y0 = rng.randrange(-width // 4, width), rng.randrange(-height // 4, height)
        x1, y1 = x0 + rng.randint(width // 10, width // 2), y0 + rng.randint(height // 10, height // 2)
        fill = (*_random_color(rng), rng.randint(90, 230))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            points = [(rng.randint(x0, x1), rng.randint(y0, y1)) for _ in range(rng.randint(3, 6))]
            draw.polygon(points, fill=fill)
    img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.0, 1.5)))

    # Sensor-like grain, so files are not trivially compressible and look like photos to size heuristics.
    grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    img = Image.blend(img, grain, 0.06)

    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", compress_level=6)
    else:
        img.save(out, "JPEG", quality=88, subsampling="4:2:0")
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# C2PA
# --------------------------------------------------------------------------------------------------


def _normalize_mime(mime: str) -> str:
    lowered = mime.strip().lower()
    return _MIME_ALIASES.get(lowered, lowered)


def source_type_uri(digital_source_type: str) -> str:
    """The full IPTC URI for a short code ("trainedAlgorithmicMedia"); full URIs are returned unchanged."""
    value = digital_source_type.strip()
    if value.startswith(("http://", "https://")):
        return value
    if value not in DIGITAL_SOURCE_TYPES:
        raise ValueError(f"unknown IPTC digital source type {digital_source_type!r}")
    return IPTC_PREFIX + value


def _short_source_type(uri: str) -> str:
    return uri.removeprefix(IPTC_PREFIX)


def _claim_generator_info(claim_generator: str) -> dict[str, str]:
    name, sep, version = claim_generator.partition("/")
    return {"name": name, "version": version} if sep and version else {"name": claim_generator}


def sign_image(
    data: bytes,
    mime: str,
    identity: SigningIdentity,
    *,
    digital_source_type: str,
    title: str,
    claim_generator: str = "synthgov-sandbox/0.1",
    software_agent: str | None = None,
    thumbnail: bool = False,
) -> bytes:
    """`data` with an embedded C2PA manifest whose `c2pa.actions` holds one `c2pa.created` action.

    The action carries the IPTC `digitalSourceType` URI (short code or full URI accepted) and, when given,
    `softwareAgent` (e.g. "Midjourney v7"). `title` becomes the claim's dc:title. `claim_generator`
    ("name/version") becomes the claim_generator_info entry, since C2PA 2.x claims have no free-text
    claim generator. c2pa embeds its own thumbnail only when `thumbnail` is set: with it a signature takes
    ~25 ms instead of ~1 ms, and a small noisy JPEG can grow several times over.
    """
    action: dict[str, Any] = {"action": "c2pa.created", "digitalSourceType": source_type_uri(digital_source_type)}
    if software_agent:
        action["softwareAgent"] = {"name": software_agent}
    manifest = {
        "claim_generator_info": [_claim_generator_info(claim_generator)],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }
    signer_info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, identity.cert_chain_pem, identity.private_key_pem, None
    )
    out = io.BytesIO()
    # No timestamp authority (ta_url None): the sandbox has no network, and c2pa then checks the
    # certificate against the current time when reading.
    with (
        c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": thumbnail}}}) as context,
        c2pa.Signer.from_info(signer_info) as signer,
        c2pa.Builder(manifest, context=context) as builder,
    ):
        builder.sign(signer, _normalize_mime(mime), io.BytesIO(data), out)
    return out.getvalue()


def _software_agent_name(agent: Any) -> str | None:
    # Claims v2 store softwareAgent as {"name": ...}; v1 manifests as a plain string.
    if isinstance(agent, dict):
        name = agent.get("name")
        return name if isinstance(name, str) else None
    return agent if isinstance(agent, str) else None


def read_manifest_summary(data: bytes, mime: str, *, trust_anchors_pem: bytes | None = None) -> dict[str, Any] | None:
    """A small summary of the active C2PA manifest in `data`, or None when there is none.

    For tests and the sandbox's own ground-truth checks only. Keys: claim_generator ("name/version"),
    title, signer (the signing certificate's common name as c2pa reports it, else its organisation),
    signer_org (what c2pa calls the "issuer": the signing certificate's organisation), software_agents,
    digital_source_types (short codes for IPTC URIs, other URIs verbatim), validation_state ("Valid",
    "Invalid" or, when `trust_anchors_pem` holds the signer's CA, "Trusted") and validation_errors (the
    failure codes c2pa reports, e.g. "signingCredential.untrusted", "assertion.dataHash.mismatch").
    Assets c2pa cannot parse at all raise `c2pa.C2paError`.
    """
    context = None
    if trust_anchors_pem is not None:
        # user_anchors adds to c2pa's (empty, offline) trust list instead of replacing it.
        context = c2pa.Context.from_dict({"trust": {"user_anchors": trust_anchors_pem.decode("ascii")}})
    try:
        reader = c2pa.Reader.try_create(_normalize_mime(mime), io.BytesIO(data), None, context)
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
    finally:
        if context is not None:
            context.close()

    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    generator = manifest.get("claim_generator")
    if not generator and manifest.get("claim_generator_info"):
        info = manifest["claim_generator_info"][0]
        generator = f"{info['name']}/{info['version']}" if info.get("version") else info.get("name")
    signature = manifest.get("signature_info", {})

    source_types: list[str] = []
    agents: list[str] = []
    for assertion in manifest.get("assertions", []):
        # c2pa reports the v2 label "c2pa.actions.v2" for what the manifest definition called "c2pa.actions".
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for act in assertion.get("data", {}).get("actions", []):
            dst = act.get("digitalSourceType")
            if isinstance(dst, str) and _short_source_type(dst) not in source_types:
                source_types.append(_short_source_type(dst))
            agent = _software_agent_name(act.get("softwareAgent"))
            if agent and agent not in agents:
                agents.append(agent)

    errors: list[str] = []
    failures = store.get("validation_results", {}).get("activeManifest", {}).get("failure", [])
    for status in [*store.get("validation_status", []), *failures]:
        code = status.get("code")
        if code and code not in errors:
            errors.append(code)

    return {
        "claim_generator": generator,
        "title": manifest.get("title"),
        "signer": signature.get("common_name") or signature.get("issuer"),
        "signer_org": signature.get("issuer"),
        "software_agents": agents,
        "digital_source_types": source_types,
        "validation_state": store.get("validation_state"),
        "validation_errors": errors,
    }
