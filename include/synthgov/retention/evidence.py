"""The evidence ledger: an append-only, hash-chained record of every purge, kept in the lake.

Layout: one immutable segment per entry, ``evidence/retention/ledger/<seq:010d>.jsonl``, holding one
JSON line. S3 objects cannot be appended to, and a segment per entry means no write ever touches an
earlier entry. A segment is created only where nothing is stored (``Lake.create_bytes``: a hard link
locally, a conditional put with ``If-None-Match: *`` on S3), so two appenders racing for the same
sequence number cannot both win: the loser reads the new head and takes the next number. Where the
bucket has S3 Object Lock, each segment is locked for ``SYNTHGOV_EVIDENCE_RETENTION_DAYS``.

An entry is canonical JSON (sorted keys, no spaces, ASCII only) with the ledger's fields
- ``seq`` (0, 1, 2, ... as in the segment's name), ``prev_sha256`` (the previous entry's hash; 64
  zeros for the first), ``entry_sha256`` (SHA-256 of the canonical JSON of the entry without this
  field), ``timestamp``, ``ledger_version`` and ``storage`` (whether the segment is locked, until when)
and the caller's: ``kind`` plus plan hash, policy, reason, approver, counts and per-record
``outcomes``, whose items carry hashed ids and codes only (checked on append).

``verify`` re-derives everything: a line must be canonical, so no byte can change without changing a
value; every hash must match; every link must name the previous entry; sequence numbers must run
without gaps. A hash chain alone cannot show that entries were cut from its end: on a versioned
bucket the delete markers left behind show it, and ``anchors`` (entry hashes from earlier receipts)
show it anywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from synthgov import settings
from synthgov.lake import LEDGER_PREFIX, Lake, LakeConflict, LakeError, LakeNotFound, Retention

log = logging.getLogger(__name__)

LEDGER_VERSION = 1
GENESIS_SHA256 = "0" * 64
# What one per-record outcome may say. Salesforce error messages can quote field values, so only
# the status code travels, never the message; the id only as its hash.
OUTCOME_KEYS = frozenset({"id_sha256", "object", "outcome", "code"})

_RESERVED = frozenset({"ledger_version", "seq", "prev_sha256", "entry_sha256", "timestamp", "storage"})
_SEGMENT = re.compile(r"(\d{10})\.jsonl")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_OBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_APPEND_ATTEMPTS = 5


class LedgerError(Exception):
    """The ledger cannot take this entry, or cannot be read: the message says why and what to do."""


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value the ledger hashes and stores."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in entry.items() if k != "entry_sha256"})).hexdigest()


@dataclass(frozen=True)
class AppendedEntry:
    seq: int
    sha256: str
    key: str
    worm: bool  # written under S3 Object Lock


@dataclass(frozen=True)
class LedgerProblem:
    key: str  # the segment (or the ledger folder) the problem is in
    line: int | None  # the line in the segment, when the problem is in its content
    message: str

    def __str__(self) -> str:
        return f"{self.key}" + (f":{self.line}" if self.line is not None else "") + f": {self.message}"


@dataclass
class VerifyReport:
    ledger: str  # where the ledger lives, for people
    segments: int = 0  # segment objects found
    entries: int = 0  # segments that parse as an entry
    head_seq: int | None = None
    head_sha256: str | None = None
    worm: bool = False  # the store locks new segments (S3 Object Lock)
    versioned: bool = False  # the store keeps overwritten and deleted segments as versions
    locked_entries: int = 0  # entries written under Object Lock
    problems: list[LedgerProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def storage_text(self) -> str:
        if self.worm:
            return f"WORM (S3 Object Lock; {self.locked_entries} of {self.entries} entries locked)"
        return "not WORM: the store can be edited; the hash chain shows edits, it cannot prevent them"

    def summary(self) -> str:
        if not self.ok:
            return f"evidence ledger {self.ledger}: {len(self.problems)} problem(s) in {self.segments} segments"
        if self.head_seq is None:
            return f"evidence ledger {self.ledger}: intact and empty (no entries yet); {self.storage_text()}"
        return (
            f"evidence ledger {self.ledger}: intact, {self.entries} entries, head #{self.head_seq} "
            f"sha256 {self.head_sha256}; {self.storage_text()}"
        )


class EvidenceLedger:
    """The hash-chained ledger under ``prefix`` in ``lake``; see the module docstring."""

    def __init__(
        self,
        lake: Lake,
        *,
        prefix: str = LEDGER_PREFIX,
        retention_days: int | None = None,
        lock_mode: settings.LockMode | None = None,
    ) -> None:
        self.lake = lake
        self.prefix = prefix.strip("/")
        self.retention_days = retention_days
        self.lock_mode = lock_mode

    def segment_key(self, seq: int) -> str:
        return f"{self.prefix}/{seq:010d}.jsonl"

    def append(self, entry: Mapping[str, Any]) -> AppendedEntry:
        """Add one entry after the current head; returns its sequence number, hash and key.

        ``entry`` needs ``kind`` (e.g. ``retention.apply``) and may hold any JSON values except the
        ledger's own fields; ``outcomes``, if present, is a list of items with only the keys in
        OUTCOME_KEYS (``id_sha256`` from ``hash_record_id``). Raises LedgerError for an entry that
        breaks these rules, and when the ledger's head is damaged (verify first, then repair).
        """
        body = _checked_body(entry)
        for _ in range(_APPEND_ATTEMPTS):
            head = self._head()
            seq, prev = (0, GENESIS_SHA256) if head is None else (head[0] + 1, head[1])
            retention = self._retention()
            storage: dict[str, Any] = {"worm": retention is not None}
            if retention is not None:
                storage.update(mode=retention.mode, retain_until=_iso(retention.retain_until))
            full = {
                **body,
                "ledger_version": LEDGER_VERSION,
                "seq": seq,
                "prev_sha256": prev,
                "timestamp": _iso(datetime.now(UTC)),
                "storage": storage,
            }
            full["entry_sha256"] = _entry_hash(full)
            key = self.segment_key(seq)
            try:
                self.lake.create_bytes(key, canonical_json(full) + b"\n", retention=retention)
            except LakeConflict:
                log.info("evidence ledger: another writer took #%d; appending after it", seq)
                continue
            return AppendedEntry(seq, full["entry_sha256"], key, retention is not None)
        raise LedgerError(
            f"evidence ledger {self.lake.uri(self.prefix)}: could not append after {_APPEND_ATTEMPTS} attempts, "
            "other writers kept taking the next sequence number; retry later"
        )

    def entries(self) -> list[dict[str, Any]]:
        """Every entry in sequence order, parsed but not verified (``verify`` checks them)."""
        out = []
        for _, key in self._segments()[0]:
            entry, problems = self._read(key)
            if entry is None:
                raise LedgerError(f"{key}: {'; '.join(problems)}; run `synthgov evidence verify`")
            out.append(entry)
        return out

    def verify(self, *, anchors: Iterable[str] = ()) -> VerifyReport:
        """Check the whole chain; ``anchors`` are entry hashes from earlier receipts that must still be there."""
        report = VerifyReport(
            ledger=self.lake.uri(self.prefix),
            worm=self.lake.object_lock_enabled(),
            versioned=self.lake.versioning_enabled(),
        )
        segments, strays = self._segments()
        report.problems += [
            LedgerProblem(
                key, None, "not a ledger segment (<10-digit seq>.jsonl); the ledger folder holds nothing else"
            )
            for key in strays
        ]
        expected, prev = 0, GENESIS_SHA256
        link: str | None = prev  # None: the previous entry is unreadable or missing, so the link cannot be checked
        hashes: set[str] = set()
        for number, key in segments:
            if number != expected:
                missing = f"#{expected}" if number == expected + 1 else f"#{expected} to #{number - 1}"
                report.problems.append(LedgerProblem(key, None, f"gap in the sequence: {missing} missing before it"))
                link = None
            expected = number + 1
            report.segments += 1
            entry, problems = self._read(key)
            report.problems += [LedgerProblem(key, 1, p) for p in problems]
            if entry is None:
                link = None
                continue
            report.entries += 1
            if entry.get("seq") != number:
                report.problems.append(
                    LedgerProblem(key, 1, f"entry says seq {entry.get('seq')!r}, its segment says {number}")
                )
            stored = entry.get("entry_sha256")
            if link is not None and entry.get("prev_sha256") != link:
                report.problems.append(
                    LedgerProblem(
                        key,
                        1,
                        f"broken chain: prev_sha256 is {entry.get('prev_sha256')!r}, "
                        f"the previous entry's hash is {link}",
                    )
                )
            if isinstance(entry.get("storage"), dict) and entry["storage"].get("worm") is True:
                report.locked_entries += 1
            report.head_seq, report.head_sha256 = number, str(stored)
            hashes.add(str(stored))
            link = str(stored)
        if report.versioned:
            report.problems += self._rewritten_segments()
        for anchor in anchors:
            if anchor.lower() not in hashes:
                report.problems.append(
                    LedgerProblem(
                        self.prefix,
                        None,
                        f"anchor {anchor} is not in the ledger: an entry a receipt names is gone (cut from the end?)",
                    )
                )
        return report

    # -- internals ---------------------------------------------------------------------------------

    def _segments(self) -> tuple[list[tuple[int, str]], list[str]]:
        base = self.prefix + "/"
        segments, strays = [], []
        for key in self.lake.list(base):
            match = _SEGMENT.fullmatch(key[len(base) :])
            if match is None:
                strays.append(key)
            else:
                segments.append((int(match[1]), key))
        return sorted(segments), strays

    def _read(self, key: str) -> tuple[dict[str, Any] | None, list[str]]:
        """The segment's entry (None if unreadable) and what is wrong with it."""
        try:
            data = self.lake.get_bytes(key)
        except LakeNotFound:
            return None, ["segment vanished while the ledger was read"]
        if not data.endswith(b"\n") or data.count(b"\n") != 1:
            return None, ["a segment holds exactly one line ending in a newline (truncated or appended to?)"]
        try:
            entry = json.loads(data.decode("ascii"))
        except UnicodeDecodeError:
            return None, ["not ASCII: canonical entries escape every other character"]
        except json.JSONDecodeError as exc:
            return None, [f"bad JSON at column {exc.colno}: {exc.msg}"]
        if not isinstance(entry, dict):
            return None, ["the line is not a JSON object"]
        problems = []
        try:
            canonical = canonical_json(entry) + b"\n" == data
        except ValueError:
            canonical = False
        if not canonical:
            problems.append("not in canonical form (sorted keys, no spaces, ASCII): the line was edited")
        for name in ("prev_sha256", "entry_sha256"):
            if not isinstance(entry.get(name), str) or not _SHA256.fullmatch(entry[name]):
                problems.append(f"{name} must be 64 lower-case hex digits")
        if entry.get("ledger_version") != LEDGER_VERSION:
            problems.append(f"ledger_version is {entry.get('ledger_version')!r}, expected {LEDGER_VERSION}")
        if isinstance(entry.get("entry_sha256"), str) and _entry_hash(entry) != entry["entry_sha256"]:
            problems.append("hash mismatch: entry_sha256 does not match the entry's content")
        return entry, problems

    def _head(self) -> tuple[int, str] | None:
        segments, _ = self._segments()
        if not segments:
            return None
        number, key = segments[-1]
        entry, problems = self._read(key)
        if entry is not None and entry.get("seq") != number:
            problems.append(f"entry says seq {entry.get('seq')!r}, its segment says {number}")
        if entry is None or problems:
            raise LedgerError(
                f"evidence ledger {self.lake.uri(self.prefix)}: its last entry {key} is damaged "
                f"({'; '.join(problems)}); nothing is appended after it. Run `synthgov evidence verify`."
            )
        return number, str(entry["entry_sha256"])

    def _retention(self) -> Retention | None:
        if not self.lake.object_lock_enabled():
            return None
        days = self.retention_days if self.retention_days is not None else settings.evidence_retention_days()
        mode = self.lock_mode or settings.evidence_lock_mode()
        return Retention(mode, datetime.now(UTC).replace(microsecond=0) + timedelta(days=days))

    def _rewritten_segments(self) -> list[LedgerProblem]:
        """On a versioned store: segments written more than once, or deleted (delete markers)."""
        by_key: dict[str, list[bool]] = {}
        for version in self.lake.list_versions(self.prefix + "/"):
            by_key.setdefault(version.key, []).append(version.is_delete_marker)
        problems = []
        for key, markers in sorted(by_key.items()):
            stored = markers.count(False)
            if markers[0]:
                problems.append(
                    LedgerProblem(
                        key, None, f"segment was deleted: a delete marker hides it ({stored} version(s) kept)"
                    )
                )
            elif len(markers) > 1:
                problems.append(
                    LedgerProblem(
                        key,
                        None,
                        f"segment was rewritten: {stored} versions and {len(markers) - stored} delete markers",
                    )
                )
        return problems


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _checked_body(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's fields as plain JSON, after the rules that keep content and secrets out."""
    if not isinstance(entry, Mapping):
        raise LedgerError(f"an evidence entry is a mapping of fields, got {type(entry).__name__}")
    reserved = sorted(set(entry) & _RESERVED)
    if reserved:
        raise LedgerError(f"evidence entry sets {', '.join(reserved)}: the ledger writes these fields itself")
    kind = entry.get("kind")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise LedgerError(f"evidence entry needs a kind (lower-case, e.g. 'retention.apply'), got {kind!r}")
    outcomes = entry.get("outcomes")
    if outcomes is not None:
        if not isinstance(outcomes, list):
            raise LedgerError("evidence entry: outcomes must be a list of {id_sha256, object, outcome, code} items")
        for i, item in enumerate(outcomes):
            _check_outcome(i, item)
    try:
        body = json.loads(canonical_json(dict(entry)))
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"evidence entry is not plain JSON (strings, numbers, lists, mappings): {exc}") from None
    return cast(dict[str, Any], body)


def _check_outcome(i: int, item: Any) -> None:
    where = f"evidence entry: outcomes[{i}]"
    if not isinstance(item, Mapping):
        raise LedgerError(f"{where}: expected a mapping, got {type(item).__name__}")
    extra = sorted(str(k) for k in set(item) - OUTCOME_KEYS)
    if extra:
        raise LedgerError(
            f"{where}: unexpected key(s) {', '.join(extra)}; an outcome holds only "
            f"{', '.join(sorted(OUTCOME_KEYS))}: never record content, messages or plain ids"
        )
    if not isinstance(item.get("id_sha256"), str) or not _SHA256.fullmatch(item["id_sha256"]):
        raise LedgerError(f"{where}: id_sha256 must be hash_record_id(record id), 64 lower-case hex digits")
    if not isinstance(item.get("outcome"), str) or not _OUTCOME.fullmatch(item["outcome"]):
        raise LedgerError(
            f"{where}: outcome must be a short lower-case word (e.g. 'deleted'), got {item.get('outcome')!r}"
        )
    obj = item.get("object")
    if obj is not None and (not isinstance(obj, str) or not _OBJECT.fullmatch(obj)):
        raise LedgerError(f"{where}: object must be an sObject API name, got {obj!r}")
    code = item.get("code")
    if code is not None and (not isinstance(code, str) or not _CODE.fullmatch(code)):
        raise LedgerError(f"{where}: code must be a status code such as UNABLE_TO_LOCK_ROW, got {code!r}")


__all__ = [
    "GENESIS_SHA256",
    "OUTCOME_KEYS",
    "AppendedEntry",
    "EvidenceLedger",
    "LakeError",
    "LedgerError",
    "LedgerProblem",
    "VerifyReport",
    "canonical_json",
]
