"""The purge registry: hashes of purged record ids, which extraction leaves out of every new part.

``state/purged/<Object>/<run_id>.sha256`` keeps the SHA-256 (``salesforce.ids.hash_record_id``) of
every id a retention run deleted: a delete changes a record's SystemModstamp and queryAll returns
soft-deleted records for 15 days, so the next incremental window would bring the rows back. Hashes,
not ids, so that after a purge no purged id is stored anywhere in the lake.

Retention registers (``record_purged``) as soon as the org has deleted the records, before purging
the lake, so an extraction in between cannot bring them back; extraction reads the registry
(``purged_id_hashes``) and drops those rows (``drop_purged``).

Some rows only describe another record: a file's versions and links name its ContentDocument
(``DESCRIBING``). Purging the document takes them too, and extraction also drops a row whose
reference names a purged record (``purged_filters``, ``drop_purged_rows``), so a version the lake
never saw cannot bring the file back either.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from synthgov.lake import layout
from synthgov.lake.storage import Lake, LakeError, LakeNotFound
from synthgov.salesforce.ids import hash_id18, hash_record_id

RAW_ID_COLUMN = "Id"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Reference:
    """Rows of ``object`` whose ``column`` names a record of ``parent`` describe only that record: they go with it."""

    object: str
    column: str
    parent: str


#: Salesforce deletes a file by its ContentDocument, and with it every version and every link (a link
#: shares the file, it is not a record of its own). Media findings are kept per ContentVersion id in
#: their own zone (``record_id``), and go with the version.
DESCRIBING: tuple[Reference, ...] = (
    Reference("ContentVersion", "ContentDocumentId", "ContentDocument"),
    Reference("ContentDocumentLink", "ContentDocumentId", "ContentDocument"),
)


def references_of(obj: str) -> tuple[Reference, ...]:
    """The references whose parent is ``obj``: the rows that go when a record of ``obj`` is purged."""
    return tuple(r for r in DESCRIBING if r.parent == obj)


class PurgeRegistryError(LakeError):
    """A registry file that is not a list of hashes: extraction and purges stop rather than guess."""


def record_purged(lake: Lake, obj: str, ids: Iterable[str], run_id: str) -> str:
    """Add the ids' hashes to the purge registry of ``obj`` for this retention run; returns the registry key.

    Repeating a run adds to its file rather than replacing it, so a resumed run keeps what it listed before.
    """
    key = layout.purge_registry_key(obj, run_id)
    hashes = {hash_record_id(record_id) for record_id in ids}
    with contextlib.suppress(LakeNotFound):
        hashes |= _read_registry(lake, key)
    lake.put_bytes(key, "".join(f"{h}\n" for h in sorted(hashes)).encode("ascii"))
    return key


def purged_id_hashes(lake: Lake, obj: str) -> frozenset[str]:
    """The hashes (``hash_record_id``) of every id of ``obj`` ever purged; extraction leaves these rows out."""
    hashes: set[str] = set()
    for key in lake.list(layout.purge_registry_prefix(obj)):
        hashes |= _read_registry(lake, key)
    return frozenset(hashes)


def drop_purged(table: pa.Table, hashes: frozenset[str], id_column: str = RAW_ID_COLUMN) -> pa.Table:
    """``table`` without the rows whose id hashes to one of ``hashes`` (ids as the API returns them: 18 characters)."""
    if not hashes or table.num_rows == 0 or id_column not in table.column_names:
        return table
    keep = [value is None or hash_id18(value) not in hashes for value in table[id_column].to_pylist()]
    return table if all(keep) else table.filter(pa.array(keep, pa.bool_()))


def purged_filters(lake: Lake, obj: str) -> dict[str, frozenset[str]]:
    """Column -> hashes of purged ids it must not hold, for ``obj``'s extracted rows: its own ids and its references."""
    filters = {RAW_ID_COLUMN: purged_id_hashes(lake, obj)}
    for ref in DESCRIBING:
        if ref.object == obj:
            filters[ref.column] = purged_id_hashes(lake, ref.parent)
    return {column: hashes for column, hashes in filters.items() if hashes}


def drop_purged_rows(table: pa.Table, filters: Mapping[str, frozenset[str]]) -> pa.Table:
    """``table`` without a row whose id, or whose reference to a purged record, is in ``filters``."""
    for column, hashes in filters.items():
        table = drop_purged(table, hashes, column)
    return table


def _read_registry(lake: Lake, key: str) -> set[str]:
    lines = lake.get_bytes(key).decode("ascii", "replace").splitlines()
    for number, line in enumerate(lines, start=1):
        if not _SHA256.fullmatch(line):
            # Failing closed: an unreadable registry could let purged records back into the lake.
            raise PurgeRegistryError(
                f"purge registry {lake.uri(key)} line {number} is not a SHA-256 hash; extraction and purges stop "
                "rather than risk bringing purged records back: restore the file from its previous version"
            )
    return set(lines)
