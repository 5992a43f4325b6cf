"""Format detection from the bytes: the common formats' signatures, the magic-number table behind them, hints."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import puremagic
import pytest

from synthgov.provenance.formats import common_format, detect_mime, readable_mime_types
from synthgov_sandbox.demo.media import render_image

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "c2pa"
SOURCES = json.loads((FIXTURES / "SOURCES.json").read_text())["files"]


def bmff(brand: bytes) -> bytes:
    """An ISO-BMFF file's first box: `ftyp` with the major brand, a minor version and one compatible brand."""
    return b"\x00\x00\x00\x14ftyp" + brand + b"\x00\x00\x00\x00" + brand + b"\x00" * 32


def riff(form: bytes) -> bytes:
    return b"RIFF" + (1000).to_bytes(4, "little") + form + b"\x00" * 32


# Each fast-path format: the start of a real file of it and what it is.
COMMON = {
    "jpeg": (render_image("jpeg", 1), "image/jpeg"),
    "png": (render_image("png", 1), "image/png"),
    "gif87a": (b"GIF87a" + b"\x01\x00\x01\x00" + b"\x00" * 32, "image/gif"),
    "gif89a": (b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 32, "image/gif"),
    "webp": (riff(b"WEBPVP8 "), "image/webp"),
    "wav": (riff(b"WAVEfmt "), "audio/wav"),
    "avi": (riff(b"AVI LIST"), "video/x-msvideo"),
    "mp4-isom": (bmff(b"isom"), "video/mp4"),
    "mp4-mp42": (bmff(b"mp42"), "video/mp4"),
    # Brands puremagic's table does not know: the fast path is the only detection these have.
    "mp4-iso6": (bmff(b"iso6"), "video/mp4"),
    "mp4-mp41": (bmff(b"mp41"), "video/mp4"),
    "m4v": (bmff(b"M4V "), "video/x-m4v"),
    "m4a": (bmff(b"M4A "), "audio/mp4"),
    "mov": (bmff(b"qt  "), "video/quicktime"),
    "heic": (bmff(b"heic"), "image/heic"),
    "heif": (bmff(b"mif1"), "image/heif"),
    "avif": (bmff(b"avif"), "image/avif"),
    "tiff-le": (b"II*\x00\x08\x00\x00\x00" + b"\x00" * 32, "image/tiff"),
    "tiff-be": (b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 32, "image/tiff"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf"),
    "mp3-id3": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8, "audio/mpeg"),
    "flac": (b"fLaC\x00\x00\x00\x22" + b"\x00" * 34, "audio/flac"),
    "jxl": (b"\x00\x00\x00\x0cJXL \r\n\x87\n" + b"\x00" * 32, "image/jxl"),
}


@pytest.mark.parametrize("name", sorted(COMMON))
def test_a_common_format_is_told_from_its_signature_alone(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, mime = COMMON[name]

    def no_table(*args: object, **kwargs: object) -> None:
        raise AssertionError("a common format must not need the magic-number table")

    monkeypatch.setattr(puremagic, "magic_string", no_table)
    assert common_format(data) == mime
    assert detect_mime(data) == mime
    assert mime in readable_mime_types()


@pytest.mark.parametrize("name", sorted(COMMON))
def test_the_signature_is_in_the_first_12_bytes(name: str) -> None:
    data, mime = COMMON[name]
    assert common_format(data[:12]) == mime
    assert common_format(data[:3]) in (None, mime)  # too short for most: never another format


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_real_file_is_the_format_its_source_names(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert detect_mime(data) == SOURCES[name]["mime"] or (name.endswith(".dng") and detect_mime(data) == "image/tiff")


def test_a_real_dng_is_a_tiff_that_its_hint_names() -> None:
    # A DNG is a TIFF byte for byte; only its name says which, and both are read by c2pa.
    data = (FIXTURES / "c2pa-python_C.dng").read_bytes()
    assert (detect_mime(data), detect_mime(data, "image/dng")) == ("image/tiff", "image/dng")


@pytest.mark.parametrize(
    ("name", "lie"),
    [("png", "image/jpeg"), ("jpeg", "image/png"), ("wav", "image/webp"), ("webp", "audio/wav"), ("pdf", "image/png")],
)
def test_a_name_that_lies_does_not_decide(name: str, lie: str) -> None:
    data, mime = COMMON[name]
    assert detect_mime(data, lie) == mime


def test_formats_outside_the_fast_path_go_to_the_magic_number_table() -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'
    bmp = b"BM" + (70).to_bytes(4, "little") + b"\x00" * 4 + (54).to_bytes(4, "little") + (40).to_bytes(4, "little")
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    for data in (svg, bmp, docx.getvalue(), bmff(b"3gp4"), riff(b"RMID")):
        assert common_format(data) is None
    assert detect_mime(svg) == "image/svg+xml"
    assert detect_mime(bmp + b"\x00" * 48) == "image/bmp"
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert detect_mime(docx.getvalue(), xlsx) == xlsx  # a ZIP: the hint names which member
    # An ISO-BMFF brand c2pa does not read is named from the table, not guessed to be an MP4.
    assert detect_mime(bmff(b"3gp4")) == "video/3gpp"


def test_bytes_no_signature_matches_have_no_format() -> None:
    assert detect_mime(b"") is None
    assert detect_mime(b"plain words, no container" * 4) is None
