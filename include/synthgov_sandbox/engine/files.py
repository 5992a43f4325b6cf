"""What Salesforce derives for a new ContentVersion from the file the client sends.

A client sends PathOnClient (the file's name on its disk) and VersionData; Salesforce fills in
FileExtension (from the name, unless the client gives one), FileType (its own code for the extension,
"UNKNOWN" for one it does not know), ContentSize and Checksum (MD5 of the data, hex). FileType is never
the client's to set.
"""

from __future__ import annotations

import hashlib
from types import MappingProxyType

# Salesforce's FileType codes by extension; anything else is UNKNOWN.
FILE_TYPES = MappingProxyType(
    {
        "png": "PNG",
        "jpg": "JPG",
        "jpeg": "JPEG",
        "gif": "GIF",
        "bmp": "BMP",
        "pdf": "PDF",
        "mp4": "MP4",
        "mov": "MOV",
        "mp3": "MP3",
        "txt": "TEXT",
        "csv": "CSV",
        "xml": "XML",
        "html": "HTML",
        "htm": "HTML",
        "rtf": "RTF",
        "zip": "ZIP",
        "exe": "EXE",
        "doc": "WORD",
        "docx": "WORD_X",
        "xls": "EXCEL",
        "xlsx": "EXCEL_X",
        "ppt": "POWER_POINT",
        "pptx": "POWER_POINT_X",
    }
)
UNKNOWN = "UNKNOWN"


def extension_of(path_on_client: str | None) -> str | None:
    """The lower-case extension of a client path ("Photo.JPG" -> "jpg"); None without one."""
    if not path_on_client:
        return None
    name = path_on_client.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name.strip("."):
        return None
    return name.rsplit(".", 1)[-1].lower() or None


def derive_file_fields(row: dict[str, object]) -> None:
    """Fill a ContentVersion's FileExtension, FileType, ContentSize and Checksum in place.

    FileType is set already only on rows the sandbox writes itself (the demo seed), which say what
    Salesforce would; a row from the API never has it (the field is not createable).
    """
    if row.get("FileType") is None and row.get("PathOnClient"):
        given = row.get("FileExtension")
        extension = str(given).lstrip(".").lower() if given else extension_of(str(row["PathOnClient"]))
        row["FileExtension"] = extension
        row["FileType"] = FILE_TYPES.get(extension or "", UNKNOWN)
    blob = row.get("VersionData")
    if isinstance(blob, bytes | bytearray):
        row["ContentSize"] = len(blob)
        row["Checksum"] = hashlib.md5(blob, usedforsecurity=False).hexdigest()
