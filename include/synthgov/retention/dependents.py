"""What a purge removes beyond the planned records: the rows that only describe a purged file.

A plan lists ContentVersions, but Salesforce deletes a file by its ContentDocument (the plan's
``target_id``), and the document takes every version and link with it. So a purge of a file removes
from the lake and the warehouse the document's rows, every version's rows (also versions no plan
listed, found by their ``ContentDocumentId``), the links and the versions' media findings, and
registers them all so extraction leaves them out (``lake.purged.DESCRIBING`` says which references).

The ids found are journalled next to the plan (``removed_with_files``), as the apply journals its
outcomes: after the purge the lake no longer shows which versions a document had, and verification
must still look for every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from synthgov.lake import Lake, plan_journal_prefix
from synthgov.lake.purged import references_of
from synthgov.retention.apply import ApplyResult
from synthgov.retention.lake_purge import referencing_ids
from synthgov.retention.plan import Plan
from synthgov.retention.salesforce_ops import Journal
from synthgov.warehouse import Warehouse, raw_loader

JOURNAL_NAME = "removed_with_files"
_DELETED = ("purged", "already_deleted")


def file_targets(plan: Plan, result: ApplyResult) -> dict[str, set[str]]:
    """The records the deletes went to that are not the planned records themselves: a file's ContentDocument."""
    rows = {r["record_id"]: r for r in plan.rows}
    out: dict[str, set[str]] = {}
    for record_id, outcome in result.outcomes.items():
        row = rows.get(record_id)
        if outcome["outcome"] not in _DELETED or outcome["action"] == "mask" or row is None:
            continue
        if row["target_object"] != row["object_name"] and row["target_id"]:
            out.setdefault(str(row["target_object"]), set()).add(str(row["target_id"]))
    return out


def with_describing_rows(
    lake: Lake, warehouse: Warehouse | None, deleted: Mapping[str, Iterable[str]]
) -> dict[str, set[str]]:
    """``deleted`` and every record whose rows only describe one of them, in the lake (any version) or the warehouse."""
    out = {obj: set(ids) for obj, ids in deleted.items()}
    pending = list(out)
    while pending:  # a reference's rows may have references of their own
        parent = pending.pop()
        for ref in references_of(parent):
            parents = sorted(out[parent])
            found = referencing_ids(lake, ref.object, ref.column, parents)
            if warehouse is not None:
                found |= raw_loader.referencing_ids(warehouse, ref.object, ref.column, parents)
            if found - out.get(ref.object, set()):
                out.setdefault(ref.object, set()).update(found)
                pending.append(ref.object)
    return {obj: ids for obj, ids in out.items() if ids}


def extra(everything: Mapping[str, set[str]], planned: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Object -> records removed beyond the planned ones (the receipt's "removed with the files")."""
    counts = {obj: len(ids - set(planned.get(obj, ()))) for obj, ids in everything.items()}
    return {obj: n for obj, n in sorted(counts.items()) if n}


def remember(lake: Lake, plan_id: str, ids_by_object: Mapping[str, set[str]]) -> None:
    """Journal the records a purge removed with the files, before it removes them (a retry reads them back)."""
    journal = Journal(lake, plan_journal_prefix(plan_id))
    known = remembered(lake, plan_id)
    for obj, ids in ids_by_object.items():
        known.setdefault(obj, set()).update(ids)
    journal.put(JOURNAL_NAME, {obj: sorted(ids) for obj, ids in sorted(known.items())})


def remembered(lake: Lake, plan_id: str) -> dict[str, set[str]]:
    """What ``remember`` journalled for the plan; empty before its purge ran."""
    stored = Journal(lake, plan_journal_prefix(plan_id)).get(JOURNAL_NAME) or {}
    return {str(obj): {str(i) for i in ids} for obj, ids in stored.items()}


def merged(*parts: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for part in parts:
        for obj, ids in part.items():
            out.setdefault(obj, set()).update(ids)
    return {obj: ids for obj, ids in out.items() if ids}
