"""A plain-Python reference for the SOQL subset the sandbox org implements; no SQL involved.

A table test states each statement's meaning as a Case: a predicate over a View of one record, ORDER BY
keys, LIMIT and OFFSET. reference_ids evaluates it over a Dataset (object name -> record dicts in
insertion order, keyed by canonical field name, holding str, bool, int/float, aware datetime, date, bytes
or None) and gives the Ids the query must return, in order. The helpers mirror the emulator's documented
semantics (see synthgov_sandbox.engine.soql): two-valued comparisons, ASCII case folding, null placement, and
ties kept in insertion order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from synthgov_sandbox.engine.schema import SObject, catalogue

Record = dict[str, object]
Dataset = dict[str, list[Record]]  # object name -> records in insertion (rowid) order


def fold(text: str) -> str:
    """Case folding as the emulator does it (SQLite NOCASE folds ASCII letters only)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _norm(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


def eq(value: object, literal: object) -> bool:
    if literal is None or value is None:
        return value is literal
    return _norm(value) == _norm(literal)


def ne(value: object, literal: object) -> bool:
    # SOQL is two-valued: a null field is "not equal" to any non-null literal.
    return not eq(value, literal)


def _ordered(value: object, literal: object, op: Callable[[object, object], bool]) -> bool:
    return value is not None and op(_norm(value), _norm(literal))


def lt(value: object, literal: object) -> bool:
    return _ordered(value, literal, lambda a, b: a < b)  # type: ignore[operator]


def le(value: object, literal: object) -> bool:
    return _ordered(value, literal, lambda a, b: a <= b)  # type: ignore[operator]


def gt(value: object, literal: object) -> bool:
    return _ordered(value, literal, lambda a, b: a > b)  # type: ignore[operator]


def ge(value: object, literal: object) -> bool:
    return _ordered(value, literal, lambda a, b: a >= b)  # type: ignore[operator]


def isin(value: object, *literals: object) -> bool:
    return any(eq(value, lit) for lit in literals)


def within(value: object, start: object, end: object) -> bool:
    """start <= value < end: how a date literal such as TODAY matches."""
    return ge(value, start) and lt(value, end)


def like(value: object, pattern: str) -> bool:
    """SOQL LIKE; `pattern` is written as between the quotes in SOQL (\\% \\_ \\\\ \\' escapes)."""
    if value is None:
        return False
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            parts.append(re.escape(fold(pattern[i + 1])))
            i += 2
            continue
        parts.append(".*" if c == "%" else "." if c == "_" else re.escape(fold(c)))
        i += 1
    return re.fullmatch("".join(parts), fold(str(value)), re.DOTALL) is not None


class View:
    """One record as SOQL field paths see it: view("Owner.Manager.Name"), None past a missing parent."""

    def __init__(self, index: dict[str, dict[str, Record]], obj: SObject, record: Record) -> None:
        self.index = index
        self.obj = obj
        self.record = record

    def __call__(self, path: str) -> object:
        obj, rec = self.obj, self.record
        *rels, name = path.split(".")
        for rel in rels:
            ref = obj.relationships[rel.lower()]
            obj = catalogue()[ref.reference_to[0].lower()]
            parent = self.index[obj.name].get(str(rec[ref.name]))
            if parent is None:
                return None
            rec = parent
        field = obj.field(name)
        assert field is not None, f"{path} is not a field path of {self.obj.name}"
        return rec[field.name]


def asc(path: str, nulls_first: bool = True) -> tuple[str, bool, bool]:
    return (path, False, nulls_first)


def desc(path: str, nulls_first: bool = False) -> tuple[str, bool, bool]:
    return (path, True, nulls_first)


def everything(_: View) -> bool:
    return True


@dataclass(frozen=True)
class Case:
    """One SOQL statement and what it means: a predicate, ORDER BY keys, LIMIT and OFFSET."""

    soql: str
    where: Callable[[View], bool] = everything
    order: tuple[tuple[str, bool, bool], ...] = ()  # (path, descending, nulls first)
    limit: int | None = None
    offset: int | None = None
    include_deleted: bool = False  # queryAll
    empty_ok: bool = False  # the reference may legitimately select nothing

    @property
    def obj(self) -> str:
        m = re.search(r"\bFROM\s+(\w+)", self.soql, re.IGNORECASE)
        assert m, self.soql
        return m.group(1)


def _leaf_type(obj: SObject, path: str) -> str:
    *rels, name = path.split(".")
    for rel in rels:
        obj = catalogue()[obj.relationships[rel.lower()].reference_to[0].lower()]
    field = obj.field(name)
    assert field is not None, path
    return field.type


def _sort_value(value: object, binary: bool = False) -> object:
    # Ids sort by their bytes (they are case-sensitive keys); other text sorts case-insensitively.
    if isinstance(value, str):
        return value if binary else fold(value)
    if isinstance(value, bool):
        return int(value)
    return value


def reference_ids(data: Dataset, case: Case) -> list[str]:
    """The Ids `case` selects from `data`, in result order (ties keep insertion order, like rowid)."""
    index = {name: {str(r["Id"]): r for r in recs} for name, recs in data.items()}
    obj = catalogue()[case.obj.lower()]
    rows = [
        View(index, obj, rec)
        for rec in data.get(obj.name, [])
        if (case.include_deleted or not rec.get("IsDeleted")) and case.where(View(index, obj, rec))
    ]
    # Python's sort is stable, so sorting by the last key first yields the multi-key order.
    for path, descending, nulls_first in reversed(case.order):
        binary = _leaf_type(obj, path) in ("id", "reference")
        keyed = [(v(path), v) for v in rows]
        present = [(k, v) for k, v in keyed if k is not None]
        present.sort(key=lambda kv: _sort_value(kv[0], binary), reverse=descending)  # type: ignore[arg-type,return-value]
        missing = [v for k, v in keyed if k is None]
        ordered = [v for _, v in present]
        rows = missing + ordered if nulls_first else ordered + missing
    start = case.offset or 0
    end = None if case.limit is None else start + case.limit
    return [str(v.record["Id"]) for v in rows[start:end]]
