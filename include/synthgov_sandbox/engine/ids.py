"""Salesforce record ids: 15-character case-sensitive ids with the 3-character checksum."""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([A-Z0-5]{3})?$")
# Pod "5g" and a reserved "0" mimic the layout of ids a real org issues.
_POD = "5g0"


def checksum(id15: str) -> str:
    """The suffix that makes a 15-character id unique when compared case-insensitively."""
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_CHECKSUM_ALPHABET[bits])
    return "".join(out)


def make_id(prefix: str, serial: int) -> str:
    """The 18-character id number `serial` of the object with key prefix `prefix`."""
    digits = []
    n = serial
    for _ in range(9):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    if n:
        raise ValueError(f"serial {serial} does not fit in an id")
    id15 = prefix + _POD + "".join(reversed(digits))
    return id15 + checksum(id15)


def is_valid(value: str) -> bool:
    """A well-formed 15- or 18-character id whose checksum (if present) matches."""
    if not _ID_RE.match(value):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def to18(value: str) -> str:
    return value if len(value) == 18 else value + checksum(value)
