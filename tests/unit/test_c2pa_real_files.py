"""What synthgov reports for real C2PA files made by others (tests/fixtures/c2pa), and why.

SOURCES.json records what c2pa-python reads in each file; those are facts about the files. The
expectations below are synthgov's verdicts, each with its reason; a verdict differs from the reading
where synthgov decides differently (C2PA's `empty` code, C2PA data c2pa cannot parse, trust).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import pytest

from synthgov.policies import PolicyError
from synthgov.provenance.c2pa_inspect import MediaFinding, inspect_media
from synthgov.provenance.trust import load_c2pa_trust

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "c2pa"
SOURCES = json.loads((FIXTURES / "SOURCES.json").read_text())["files"]
GEN, OTHER = "generative_ai", "other_synthetic"


class Verdict(NamedTuple):
    status: str
    validation: str | None
    provenance_class: str | None
    synthetic_kind: str | None
    why: str


# Without trust anchors: no signer is Trusted, so every validation is Valid at best.
VERDICTS = {
    "c2pa-ai-detector_gemini_img.png": Verdict(
        "manifest",
        "Invalid",
        "trainedAlgorithmicMedia",
        GEN,
        "Google declares trainedAlgorithmicMedia (and composite for its visible watermark); the expired,"
        " untrusted signer makes it Invalid, but an AI claim counts whatever the signer",
    ),
    "c2pa-python_C.dng": Verdict("manifest", "Valid", "algorithmicMedia", OTHER, "a test image made by an algorithm"),
    "c2pa-python_C.jpg": Verdict("manifest", "Valid", "algorithmicMedia", OTHER, "a generated gradient"),
    "c2pa-python_CA.jpg": Verdict(
        "manifest", "Valid", None, None, "an edit of an ingredient without a manifest: nothing declared"
    ),
    "c2pa-python_CACAE-uri-CA.jpg": Verdict(
        "manifest", "Valid", "algorithmicMedia", OTHER, "declares algorithmicMedia; its tampered ingredient is a delta"
    ),
    "c2pa-python_CIE-sig-CA.jpg": Verdict(
        "manifest",
        "Invalid",
        "algorithmicMedia",
        OTHER,
        "claim signature mismatch: the claim is kept, Invalid beside it",
    ),
    "c2pa-python_cloud.jpg": Verdict(
        "remote_manifest", None, None, None, "the manifest lives at a URL; inspection is offline"
    ),
    "c2pa-python_sample1_signed.wav": Verdict(
        "manifest", "Valid", "empty", None, "C2PA's http://c2pa.org/digitalsourcetype/empty, read as the code `empty`"
    ),
    "c2pa-python_video1.mp4": Verdict("manifest", "Valid", None, None, "opened, no source type declared"),
    "c2pa-rs_cai.jpg": Verdict("manifest", "Valid", "trainedAlgorithmicMedia", GEN, "Adobe Firefly text to image"),
    "c2pa-rs_express-signed.pdf": Verdict(
        "manifest", "Valid", "compositeWithTrainedAlgorithmicMedia", GEN, "Adobe Express with a Firefly component"
    ),
    "c2pa-rs_sample3.svg": Verdict(
        "manifest",
        "Invalid",
        None,
        None,
        "a <c2pa:manifest> element whose content is not a JUMBF store: C2PA data c2pa cannot read",
    ),
    "c2pa-rs_video1_no_manifest.mp4": Verdict("no_manifest", None, None, None, "no C2PA data"),
    "ms-validator_DALL-E_cloud_surfing_puppy.webp": Verdict(
        "manifest",
        "Valid",
        "trainedAlgorithmicMedia",
        GEN,
        "the active manifest declares nothing; its parentOf ingredient is DALL-E's trainedAlgorithmicMedia",
    ),
    "public-testfiles_adobe-20220124-A.jpg": Verdict("no_manifest", None, None, None, "no C2PA data"),
    "public-testfiles_adobe-20220124-E-clm-CAICAI.jpg": Verdict(
        "manifest", "Invalid", None, None, "a referenced claim is missing"
    ),
    "public-testfiles_adobe-20220124-E-sig-CA.jpg": Verdict(
        "manifest", "Invalid", None, None, "signature does not validate"
    ),
    "public-testfiles_adobe-20220124-E-uri-CA.jpg": Verdict(
        "manifest", "Invalid", None, None, "an assertion was tampered with"
    ),
    "public-testfiles_nikon-20221019-building.jpeg": Verdict(
        "manifest", "Invalid", None, None, "a camera file with EXIF but no digitalSourceType; expired signer"
    ),
    "public-testfiles_truepic-20230212-camera.jpg": Verdict(
        "manifest", "Invalid", None, None, "a camera capture whose pixels no longer match: never authentic"
    ),
    "s4m-player_prmiere-firefly.mp4": Verdict(
        "manifest",
        "Valid",
        "compositeWithTrainedAlgorithmicMedia",
        GEN,
        "a Premiere video with a Firefly componentOf ingredient: a composite with generated parts",
    ),
}


def inspect(name: str, **kwargs: object) -> MediaFinding:
    data = (FIXTURES / name).read_bytes()
    return inspect_media(name, data, SOURCES[name]["mime"], **kwargs)  # type: ignore[arg-type]


def test_every_fixture_has_a_verdict_and_is_the_file_its_source_names() -> None:
    assert set(VERDICTS) == set(SOURCES)
    for name, meta in SOURCES.items():
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == meta["sha256"], name


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_what_synthgov_reports_for_a_real_file(name: str) -> None:
    verdict = VERDICTS[name]
    finding = inspect(name)
    got = (finding.status, finding.validation_state, finding.provenance_class, finding.synthetic_kind)
    assert got == verdict[:4], verdict.why
    assert finding.ai_generated is (verdict.synthetic_kind is not None)
    assert finding.has_manifest is (verdict.status != "no_manifest")
    assert finding.authentic_capture is False  # no signer is trusted without anchors
    assert finding.mime == SOURCES[name]["mime"] or (name.endswith(".dng") and finding.mime == "image/dng")


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_the_bytes_decide_whatever_the_name_says(name: str) -> None:
    """A file uploaded under an odd name is classified the same as under its own."""
    assert inspect_media(name, (FIXTURES / name).read_bytes(), None).provenance_class == (
        VERDICTS[name].provenance_class
    )


def test_the_default_trust_policy_trusts_vendors_and_never_test_signers() -> None:
    trust = load_c2pa_trust()
    assert trust.anchors_pem and trust.trust_config
    kwargs = {"trust_anchors_pem": trust.anchors_pem, "trust_config": trust.trust_config}
    for name in ("c2pa-rs_cai.jpg", "ms-validator_DALL-E_cloud_surfing_puppy.webp", "s4m-player_prmiere-firefly.mp4"):
        assert inspect(name, **kwargs).validation_state == "Trusted", name
    # The C2PA test signer is untrusted in production even though it signed a valid manifest.
    test_signed = inspect("c2pa-python_C.jpg", **kwargs)
    assert test_signed.validation_state == "Valid" and "signingCredential.untrusted" in test_signed.validation_errors
    # Trust never rescues an Invalid manifest: a tampered camera capture stays unauthentic.
    truepic = inspect("public-testfiles_truepic-20230212-camera.jpg", **kwargs)
    assert truepic.validation_state == "Invalid" and truepic.authentic_capture is False


def test_a_trust_policy_from_the_fixture_list_and_its_config(tmp_path: Path) -> None:
    for name in ("s4m-player_c2pa_anchors_extended.pem", "s4m-player_c2pa_store.cfg"):
        (tmp_path / name).write_bytes((FIXTURES / "trust" / name).read_bytes())
    (tmp_path / "c2pa_trust.yml").write_text(
        "trust_anchors: [s4m-player_c2pa_anchors_extended.pem]\ntrust_config: s4m-player_c2pa_store.cfg\n"
    )
    trust = load_c2pa_trust(tmp_path)
    finding = inspect("c2pa-python_C.jpg", trust_anchors_pem=trust.anchors_pem, trust_config=trust.trust_config)
    assert finding.validation_state == "Trusted"  # that list carries the C2PA test roots


@pytest.mark.parametrize(
    ("policy", "files", "problem"),
    [
        ("trust_anchors: [missing.pem]\n", {}, "missing.pem: cannot read"),
        ("trust_anchors: [bad.pem]\n", {"bad.pem": b"not a cert"}, "not a PEM bundle"),
        ("trust_config: eku.cfg\n", {"eku.cfg": b"// comment\nclaimSigning\n"}, "line 2: 'claimSigning' is not an OID"),
        ("trust_config: eku.cfg\n", {"eku.cfg": b"// only a comment\n"}, "names no extended key usage OID"),
        ("anchors: [a.pem]\n", {}, "expected a mapping with trust_anchors"),
    ],
)
def test_a_bad_trust_policy_is_refused_with_the_reason(
    tmp_path: Path, policy: str, files: dict[str, bytes], problem: str
) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "c2pa_trust.yml").write_text(policy)
    with pytest.raises(PolicyError, match=problem):
        load_c2pa_trust(tmp_path)
