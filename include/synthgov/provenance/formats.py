"""What format a file is, from its bytes; Salesforce's FileType and the extension are only hints.

A name is chosen by whoever uploads the file, so trusting it lets anyone hide a file from inspection by
renaming it. The format comes from the file's magic numbers and the hint decides only between formats the
bytes cannot tell apart: a DNG, NEF or ARW is a TIFF to a magic-number table, an Office document or an
EPUB a ZIP.

The formats nearly every CRM file is (JPEG, PNG, GIF, WebP, WAV, AVI, ISO-BMFF video and images, TIFF,
PDF, MP3 with an ID3 tag, FLAC, JPEG XL) are told from a fixed signature in their first 12 bytes. The rest
go to puremagic's table (c2pa-python exposes no detection of its own), which costs about 0.3 ms a file
and reads up to 64 KB: a tenth of what c2pa itself spends reading a typical manifest.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

import c2pa
import puremagic

# Salesforce FileType values and file extensions (lower case) to the MIME type they hint at. Every value
# is one c2pa reads (tested), so a hint never sends c2pa a type it rejects outright.
HINT_MIME_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "tif": "image/tiff",
        "tiff": "image/tiff",
        "heic": "image/heic",
        "heif": "image/heif",
        "avif": "image/avif",
        "jxl": "image/jxl",
        "dng": "image/dng",
        "arw": "image/x-sony-arw",
        "nef": "image/x-nikon-nef",
        "svg": "image/svg+xml",
        "mp4": "video/mp4",
        "m4v": "video/x-m4v",
        "mov": "video/quicktime",
        "avi": "video/x-msvideo",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
        "wav": "audio/wav",
        "flac": "audio/flac",
        "pdf": "application/pdf",
        "epub": "application/epub+zip",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "word_x": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "excel_x": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "power_point_x": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation",
        "odg": "application/vnd.oasis.opendocument.graphics",
        "zip": "application/x-zip",
    }
)
_MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/tif": "image/tiff",
    "image/x-ms-bmp": "image/bmp",
    "audio/wave": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "application/zip": "application/x-zip",  # the name c2pa knows ZIP by
    "application/x-zip-compressed": "application/x-zip",
}
# Formats a magic-number table reports as their container; the hint names which member it is.
_CONTAINER_MEMBERS = {
    "image/tiff": frozenset({"image/dng", "image/x-adobe-dng", "image/x-sony-arw", "image/x-nikon-nef"}),
    "application/x-zip": frozenset(
        v for v in HINT_MIME_TYPES.values() if v.startswith(("application/vnd.", "application/epub"))
    ),
}


# RIFF form types and ISO-BMFF major brands (ISO/IEC 14496-12 `ftyp`) to the format they are. A brand not
# listed goes to the magic-number table: 3GPP, Canon's CR3 and the like are not formats c2pa reads.
_RIFF_FORMS = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_BMFF_BRANDS = {
    **dict.fromkeys(
        (b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"f4v "),
        "video/mp4",
    ),
    **dict.fromkeys((b"M4V ", b"M4VH", b"M4VP"), "video/x-m4v"),
    **dict.fromkeys((b"M4A ", b"M4B ", b"M4P "), "audio/mp4"),
    b"qt  ": "video/quicktime",
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"), "image/heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "image/heif"),
    **dict.fromkeys((b"avif", b"avis"), "image/avif"),
}
# Signatures at the start of a file that no other format shares.
_PREFIXES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "image/jxl"),
)

# How much of a file the magic-number match reads: every signature c2pa's formats have sits in the first
# bytes (an SVG's root element after its prolog); matching the whole file doubled the cost on large ones.
_SNIFF_BYTES = 64 * 1024


def normalize_mime(mime: str | None) -> str | None:
    """`mime` lower-cased, without parameters, with common aliases resolved ("image/jpg" -> "image/jpeg")."""
    if mime is None:
        return None
    base = mime.split(";", 1)[0].strip().lower()
    if not base:
        return None
    return _MIME_ALIASES.get(base, base)


def hint_mime(file_type: str | None, file_extension: str | None) -> str | None:
    """The MIME type a ContentVersion's FileType, else its FileExtension, hints at; None if neither does.

    Salesforce says "UNKNOWN" for types it does not know, so the extension is the fallback.
    """
    for token in (file_type, file_extension):
        if token:
            mime = HINT_MIME_TYPES.get(token.strip().lstrip(".").lower())
            if mime is not None:
                return mime
    return None


@functools.cache
def readable_mime_types() -> frozenset[str]:
    """The MIME types c2pa-python reads (it also lists bare extensions, left out here)."""
    return frozenset(normalize_mime(t) or t for t in c2pa.Reader.get_supported_mime_types() if "/" in t)


def common_format(data: bytes) -> str | None:
    """The format of `data` when it starts with the fixed signature of a common format, else None.

    Reads at most the first 12 bytes: RIFF and ISO-BMFF name their form or brand at bytes 8 to 12.
    """
    if data.startswith(b"RIFF"):
        return _RIFF_FORMS.get(data[8:12])
    if data[4:8] == b"ftyp":
        return _BMFF_BRANDS.get(data[8:12])
    return next((mime for prefix, mime in _PREFIXES if data.startswith(prefix)), None)


def _table_candidates(data: bytes) -> list[str]:
    """Every format puremagic's table matches in the first bytes of `data`, best first."""
    try:
        candidates = [normalize_mime(m.mime_type) for m in puremagic.magic_string(data[:_SNIFF_BYTES])]
    except puremagic.PureError:
        return []
    return [m for m in dict.fromkeys(candidates) if m]


def detect_mime(data: bytes, hint: str | None = None) -> str | None:
    """The format of `data` from its magic numbers, the hint deciding between look-alikes.

    A common format's signature decides at once; otherwise the first candidate of the magic-number table
    that c2pa reads wins, else the best candidate (a format c2pa does not read); None when the bytes match
    no known format.
    """
    hinted = normalize_mime(hint)
    if not data:
        return None
    common = common_format(data)
    found = [common] if common is not None else _table_candidates(data)
    if hinted is not None and (hinted in found or any(hinted in _CONTAINER_MEMBERS.get(m, ()) for m in found)):
        return hinted
    readable = readable_mime_types()
    return next((m for m in found if m in readable), found[0] if found else None)
