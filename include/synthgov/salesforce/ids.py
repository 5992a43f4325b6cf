"""Salesforce record ids: checking what users type before anything is sent to the org."""

from __future__ import annotations

import re

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([A-Z0-5]{3})?$")


def _checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id unique when compared case-insensitively."""
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_CHECKSUM_ALPHABET[bits])
    return "".join(out)


def is_valid_id(value: str) -> bool:
    """A well-formed 15- or 18-character id whose checksum (if present) matches."""
    if not _ID_RE.match(value):
        return False
    return len(value) == 15 or _checksum(value[:15]) == value[15:]


def to18(value: str) -> str:
    """The 18-character form (the warehouse and the plans keep ids this way)."""
    if not is_valid_id(value):
        raise ValueError(f"{value!r} is not a Salesforce record id (15 or 18 letters and digits)")
    return value if len(value) == 18 else value + _checksum(value)
