"""Salesforce record ids: checking what users type, the one 18-character form, and the one hash of an id."""

from __future__ import annotations

import hashlib
import re

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([A-Z0-5]{3})?$")
_RECORD_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")


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


def canonical_record_id(record_id: str) -> str:
    """The 18-character form of a Salesforce record id; raises ValueError for anything else.

    15-character ids are case-sensitive; the 3-character suffix encodes the case of the first 15, so
    the 18-character form is the one every API returns and the one ids are hashed in.
    """
    # fullmatch first: a trailing newline would pass a `^...$` pattern and end up inside the hash.
    if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
        raise ValueError(f"malformed Salesforce record id {record_id!r}: expected 15 or 18 letters and digits")
    return to18(record_id)


def hash_record_id(record_id: str) -> str:
    """SHA-256 (hex) of the record's 18-character id: how the ledger and the purge registry name records.

    Plain SHA-256, not a keyed hash or a secret salt, on purpose: an auditor holding an id (from a
    regulator's request, a data subject, an old export) must be able to check whether it was purged by
    hashing it and searching the ledger, with no key to request, keep for years or leak. The hash keeps
    direct identifiers out of an evidence pack that is handed around; it is pseudonymisation, not
    anonymisation: whoever already has a candidate id can test it, which is exactly what auditing needs.
    """
    return hash_id18(canonical_record_id(record_id))


def hash_id18(id18: str) -> str:
    """``hash_record_id`` of an id already in its 18-character form (as the API returns it), unchecked.

    For hashing every id of an extracted page, where checking each one again would cost for nothing;
    a value that is not an id hashes to something no purged id hashes to.
    """
    return hashlib.sha256(id18.encode("ascii", "replace")).hexdigest()
