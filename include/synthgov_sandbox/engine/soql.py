"""SOQL for the sandbox org: a strict tokenizer, recursive-descent parser and compiler to parameterized SQLite.

Strictness is the point. A purge tool whose WHERE clause is silently ignored deletes every row, so
anything outside the supported subset raises MALFORMED_QUERY instead of being skipped.

Supported: ``SELECT f, Rel.f, ... | COUNT() FROM Object [alias] [WHERE ...] [ORDER BY ...] [LIMIT n]
[OFFSET n]`` with ``= != <> < <= > >= LIKE IN NOT IN AND OR NOT``, parentheses, and the literals
``'text'``, numbers, ``true``/``false``/``null``, unquoted dateTimes and dates, and the date literals
TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, N_DAYS_AGO:n.

Semantics (where the emulator has to choose, it follows Salesforce):
- Comparisons are two-valued, as in SOQL: ``F != 'x'``, ``F NOT IN (...)`` and ``NOT F = 'x'`` include
  rows where F is null; ``<``, ``>``, ``LIKE`` and ``IN`` never match null. Every leaf compiles to an
  expression that is 0 or 1 (never NULL), so SQL's three-valued NOT cannot lose rows.
- On boolean fields ``= null`` means false and ``!= null`` means true (Salesforce documents this).
- On text fields ``''`` means null: Salesforce stores no empty strings, and neither does the store.
- In ``IN`` lists, ``null`` matches null values.
- Text comparison and ORDER BY are case-insensitive through the columns' ``COLLATE NOCASE``, which folds
  ASCII letters only (Salesforce folds all of Unicode).
- 15-character ids in filters on id/reference fields are widened to 18 characters; strings that cannot
  be ids raise INVALID_QUERY_FILTER_OPERATOR ("invalid ID field"), as Salesforce does.
- Date literals are evaluated in UTC (the sandbox org's time zone) as half-open day ranges relative to
  ``now``'s date d: TODAY [d, d+1), YESTERDAY [d-1, d), TOMORROW [d+1, d+2), LAST_N_DAYS:n [d-n, d+1),
  NEXT_N_DAYS:n [d+1, d+1+n), N_DAYS_AGO:n [d-n, d-n+1). For a range [s, e): ``=`` means s <= F < e,
  ``!=`` its negation (including null), ``<`` F < s, ``<=`` F < e, ``>`` F >= e, ``>=`` F >= s.
- ORDER BY defaults to ASC NULLS FIRST / DESC NULLS LAST; ties are broken by rowid (insertion order) so
  results and pages are deterministic. Without ORDER BY, order_sql is empty and the order is SQLite's.
- COUNT() may be combined with WHERE, LIMIT and OFFSET (count_sql honours them); OFFSET is not capped at 2,000.
- Statements longer than 100,000 characters and conditions nested more than 100 deep are MALFORMED_QUERY.
- base64 fields come back as their blob URL in records; Bulk CSV (csv_header) refuses them, as Bulk API does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial

from synthgov_sandbox.engine import ids, values
from synthgov_sandbox.engine.ddl import quote
from synthgov_sandbox.engine.schema import NUMBER_TYPES, TEXT_TYPES, Field, SObject, catalogue, get_object

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"

# Salesforce allows at most five child-to-parent hops in one field path.
MAX_PARENT_DEPTH = 5
# Salesforce's default limit on the statement length; it also keeps IN lists below SQLite's variable limit.
MAX_QUERY_LENGTH = 100_000
# Deeper NOT/parenthesis nesting is refused rather than risking a RecursionError in the parser.
MAX_NESTING = 100


class SoqlError(Exception):
    """A query Salesforce would reject; `code` is the errorCode, `message` the Salesforce-like text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------------------
# Tokenizer

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})(?![\w.:+-]))
    |(?P<baddatetime>\d{4}-\d{2}-\d{2}T[\w.:+-]*)
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\w.:+-]))
    |(?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),:])
    |(?P<string>')
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # name | string | number | datetime | date | op | punct | eof
    text: str
    pos: int
    value: object = None  # decoded string, int/float, normalized dateTime/date
    like: str = ""  # for strings: the SQLite LIKE pattern (ESCAPE '\')

    def is_kw(self, *words: str) -> bool:
        return self.kind == "name" and self.text.upper() in words


def _like_literal(ch: str) -> str:
    return "\\" + ch if ch in "\\%_" else ch


def _scan_string(text: str, start: int) -> tuple[str, str, int]:
    """The decoded value, the LIKE pattern and the end offset of the string literal at `start`."""
    out: list[str] = []
    like: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            return "".join(out), "".join(like), i + 1
        if c != "\\":
            out.append(c)
            like.append(c)  # unescaped % and _ stay wildcards
            i += 1
            continue
        e = text[i + 1] if i + 1 < n else ""
        if e in _ESCAPES and e:
            ch = _ESCAPES[e]
            out.append(ch)
            like.append(_like_literal(ch))
            i += 2
        elif e in ("%", "_") and e:
            # Outside LIKE, \% and \_ can only mean the character itself.
            out.append(e)
            like.append("\\" + e)
            i += 2
        elif e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
            ch = chr(int(text[i + 2 : i + 6], 16))
            out.append(ch)
            like.append(_like_literal(ch))
            i += 6
        else:
            raise _malformed(
                text, i, f"Invalid string literal '{text[start : i + 2]}'. Illegal escape sequence '\\{e}'"
            )
    raise _malformed(text, start, "unterminated string literal: missing closing quote")


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise _malformed(text, pos, f"unexpected token: '{text[pos]}'")
        kind = m.lastgroup or ""
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "string":
            decoded, like, end = _scan_string(text, pos)
            toks.append(_Tok("string", text[pos:end], pos, decoded, like))
            pos = end
            continue
        lexeme = m.group()
        if kind == "baddatetime":
            raise _malformed(text, pos, f"invalid dateTime literal '{lexeme}' (expected YYYY-MM-DDThh:mm:ssZ)")
        value: object = None
        try:
            if kind == "datetime":
                value = values.db_datetime(values.parse_datetime(lexeme))
            elif kind == "date":
                value = values.parse_date(lexeme).isoformat()
        except ValueError as exc:
            raise _malformed(text, pos, str(exc)) from None
        if kind == "number":
            value = float(lexeme) if "." in lexeme else int(lexeme)
        toks.append(_Tok(kind, lexeme, pos, value))
        pos = m.end()
    toks.append(_Tok("eof", "<EOF>", n))
    return toks


# ---------------------------------------------------------------------------------------------------------
# Errors with Salesforce's caret header


def _located(text: str, pos: int, message: str) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return f"\n{text[line_start:line_end]}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


def _malformed(text: str, pos: int, message: str) -> SoqlError:
    return SoqlError(MALFORMED_QUERY, _located(text, pos, message))


# ---------------------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True, slots=True)
class _FieldRef:
    name: str  # as written, possibly dotted
    pos: int


@dataclass(frozen=True, slots=True)
class _Lit:
    kind: str  # string | number | datetime | date | bool | null | range
    value: object
    pos: int
    like: str = ""
    n: int = 0  # the N of LAST_N_DAYS:N


@dataclass(frozen=True, slots=True)
class _Cmp:
    ref: _FieldRef
    op: str  # = != < <= > >= LIKE
    lit: _Lit
    op_pos: int


@dataclass(frozen=True, slots=True)
class _In:
    ref: _FieldRef
    negated: bool
    lits: tuple[_Lit, ...]


@dataclass(frozen=True, slots=True)
class _Not:
    inner: _Node


@dataclass(frozen=True, slots=True)
class _BoolOp:
    op: str  # AND | OR
    items: tuple[_Node, ...]


_Node = _Cmp | _In | _Not | _BoolOp


@dataclass(frozen=True, slots=True)
class _Order:
    ref: _FieldRef
    desc: bool
    nulls_first: bool


@dataclass(slots=True)
class _Query:
    count: bool
    fields: list[_FieldRef]
    obj: str
    obj_pos: int
    alias: str | None
    where: _Node | None
    order: list[_Order]
    limit: int | None
    offset: int | None


# Words that end a field list or a FROM clause, so they can never be a field name or an alias.
# fmt: off
_RESERVED = frozenset(
    {
        "AND", "ASC", "BY", "CUBE", "DESC", "ELSE", "END", "EXCLUDES", "FALSE", "FIRST", "FOR", "FROM", "GROUP",
        "HAVING", "IN", "INCLUDES", "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OFFSET", "OR", "ORDER",
        "REFERENCE", "ROLLUP", "SCOPE", "SELECT", "THEN", "TRACKING", "TRUE", "TYPEOF", "UPDATE", "USING", "VIEW",
        "VIEWSTAT", "WHEN", "WHERE", "WITH",
    }
)
# fmt: on
_RANGE_LITERALS = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})
_N_RANGE_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})
# Real SOQL date literals the sandbox does not evaluate; named so the error says why.
_UNSUPPORTED_DATE_LITERAL = re.compile(
    r"^(LAST|THIS|NEXT)_(WEEK|MONTH|QUARTER|YEAR|FISCAL_QUARTER|FISCAL_YEAR|90_DAYS)$"
    r"|^(LAST|NEXT)_N_(HOURS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)$"
    r"|^N_(WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)_AGO$",
    re.IGNORECASE,
)
_CMP_OPS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_QUERY_LENGTH:
            raise _malformed(text[:200], 0, f"SOQL statements cannot exceed {MAX_QUERY_LENGTH:,} characters")
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    # -- helpers

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def advance(self) -> _Tok:
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def error(self, tok: _Tok | None = None, message: str | None = None) -> SoqlError:
        tok = tok or self.tok
        return _malformed(self.text, tok.pos, message or f"unexpected token: '{tok.text}'")

    def expect_kw(self, word: str) -> _Tok:
        if not self.tok.is_kw(word):
            raise self.error()
        return self.advance()

    def expect_punct(self, ch: str) -> _Tok:
        if not (self.tok.kind == "punct" and self.tok.text == ch):
            raise self.error()
        return self.advance()

    def at_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == ch

    # -- grammar

    def query(self) -> _Query:
        self.expect_kw("SELECT")
        count = False
        fields: list[_FieldRef] = []
        if self.tok.is_kw("COUNT") and self.peek().kind == "punct" and self.peek().text == "(":
            self.advance()
            self.advance()
            if not self.at_punct(")"):
                raise self.error(message="only COUNT() is supported; aggregate functions are not")
            self.advance()
            count = True
        else:
            fields.append(self.field_ref(select=True))
            while self.at_punct(","):
                self.advance()
                fields.append(self.field_ref(select=True))
        self.expect_kw("FROM")
        obj_tok = self.tok
        if obj_tok.kind != "name" or "." in obj_tok.text or obj_tok.text.upper() in _RESERVED:
            raise self.error()
        self.advance()
        alias = None
        if self.tok.kind == "name" and "." not in self.tok.text and self.tok.text.upper() not in _RESERVED:
            alias = self.advance().text
        if self.at_punct(","):
            raise self.error(message="only one object is supported in FROM")
        where = None
        if self.tok.is_kw("WHERE"):
            self.advance()
            where = self.condition()
        order: list[_Order] = []
        if self.tok.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            order.append(self.order_key())
            while self.at_punct(","):
                self.advance()
                order.append(self.order_key())
        limit = offset = None
        if self.tok.is_kw("LIMIT"):
            self.advance()
            limit = self.count_value()
        if self.tok.is_kw("OFFSET"):
            self.advance()
            offset = self.count_value()
        if self.tok.kind != "eof":
            raise self.error()
        return _Query(count, fields, obj_tok.text, obj_tok.pos, alias, where, order, limit, offset)

    def field_ref(self, *, select: bool = False) -> _FieldRef:
        t = self.tok
        if t.kind == "punct" and t.text == "(":
            nxt = self.peek()
            what = "subqueries are" if nxt.is_kw("SELECT") else "expressions are"
            raise self.error(message=f"unexpected token: '('; {what} not supported")
        if t.kind != "name" or t.text.upper() in _RESERVED:
            raise self.error()
        if self.peek().kind == "punct" and self.peek().text == "(":
            raise self.error(message=f"unexpected token: '('; function {t.text}() is not supported")
        self.advance()
        return _FieldRef(t.text, t.pos)

    def count_value(self) -> int:
        t = self.tok
        if t.kind != "number" or not isinstance(t.value, int) or t.text[0] in "+-":
            raise self.error()
        self.advance()
        return t.value

    def order_key(self) -> _Order:
        ref = self.field_ref()
        desc = False
        if self.tok.is_kw("ASC", "DESC"):
            desc = self.advance().text.upper() == "DESC"
        nulls_first = not desc
        if self.tok.is_kw("NULLS"):
            self.advance()
            if not self.tok.is_kw("FIRST", "LAST"):
                raise self.error()
            nulls_first = self.advance().text.upper() == "FIRST"
        return _Order(ref, desc, nulls_first)

    def condition(self) -> _Node:
        items = [self.term()]
        op = None
        while self.tok.is_kw("AND", "OR"):
            word = self.tok.text.upper()
            if op is None:
                op = word
            elif word != op:
                # SOQL has no precedence between AND and OR: mixing them needs parentheses.
                raise self.error(message=f"unexpected token: '{self.tok.text}'; use parentheses to mix AND and OR")
            self.advance()
            items.append(self.term())
        if op is None:
            return items[0]
        return _BoolOp(op, tuple(items))

    def term(self) -> _Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(message=f"conditions are nested more than {MAX_NESTING} levels deep")
        try:
            if self.tok.is_kw("NOT"):
                self.advance()
                return _Not(self.term())
            if self.at_punct("("):
                if self.peek().is_kw("SELECT"):
                    raise self.error(message="unexpected token: '('; subqueries are not supported")
                self.advance()
                inner = self.condition()
                self.expect_punct(")")
                return inner
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> _Node:
        ref = self.field_ref()
        t = self.tok
        if t.kind == "op":
            self.advance()
            return _Cmp(ref, _CMP_OPS[t.text], self.literal(), t.pos)
        if t.is_kw("LIKE"):
            self.advance()
            lit = self.literal()
            if lit.kind != "string":
                raise _malformed(self.text, lit.pos, "LIKE needs a quoted string pattern")
            return _Cmp(ref, "LIKE", lit, t.pos)
        if t.is_kw("IN"):
            self.advance()
            return _In(ref, False, self.literal_list())
        if t.is_kw("NOT") and self.peek().is_kw("IN"):
            self.advance()
            self.advance()
            return _In(ref, True, self.literal_list())
        if t.is_kw("INCLUDES", "EXCLUDES"):
            raise self.error(message=f"unexpected token: '{t.text}'; INCLUDES/EXCLUDES are not supported")
        raise self.error()

    def literal_list(self) -> tuple[_Lit, ...]:
        self.expect_punct("(")
        if self.tok.is_kw("SELECT"):
            raise self.error(message="unexpected token: 'SELECT'; semi-join and anti-join subqueries are not supported")
        lits = [self.literal()]
        while self.at_punct(","):
            self.advance()
            lits.append(self.literal())
        self.expect_punct(")")
        return tuple(lits)

    def literal(self) -> _Lit:
        t = self.tok
        if t.kind == "string":
            self.advance()
            return _Lit("string", t.value, t.pos, t.like)
        if t.kind in ("number", "datetime", "date"):
            self.advance()
            return _Lit(t.kind, t.value, t.pos)
        if t.kind == "punct" and t.text == ":":
            raise self.error(message="unexpected token: ':'; bind variables are not supported")
        if t.kind != "name" or "." in t.text:
            raise self.error()
        word = t.text.upper()
        if word in ("TRUE", "FALSE"):
            self.advance()
            return _Lit("bool", word == "TRUE", t.pos)
        if word == "NULL":
            self.advance()
            return _Lit("null", None, t.pos)
        if word in _RANGE_LITERALS:
            self.advance()
            return _Lit("range", word, t.pos)
        if word in _N_RANGE_LITERALS:
            self.advance()
            self.expect_punct(":")
            n = self.count_value()
            return _Lit("range", word, t.pos, n=n)
        if _UNSUPPORTED_DATE_LITERAL.match(word):
            raise self.error(message=f"date literal {word} is not supported by the sandbox org")
        raise self.error()


# ---------------------------------------------------------------------------------------------------------
# Compilation


@dataclass
class OutputColumn:
    path: tuple[str, ...]  # canonical names, e.g. ("Owner", "Name")
    field: Field  # the leaf field
    index: int  # position of the value in a row of CompiledQuery.sql()


@dataclass(slots=True)
class _RecordNode:
    """How to build one (possibly nested) JSON record from a flat result row."""

    type_name: str
    id_index: int
    # (key, row index, converter, child): child set for a parent relationship, converter None for
    # values that need none, and the _BLOB marker for base64 fields (served from their own URL).
    items: list[tuple[str, int, Callable[[object], object] | None, _RecordNode | None]]


def _blob_marker(raw: object) -> object:
    # Never called: _build recognises it by identity and serves the blob's URL instead of its bytes.
    return raw


_BLOB = _blob_marker
_REL_CACHE: dict[str, dict[str, Field]] = {}


def _relationships(obj: SObject) -> dict[str, Field]:
    rels = _REL_CACHE.get(obj.name)
    if rels is None:
        rels = _REL_CACHE[obj.name] = obj.relationships
    return rels


def _converter(f: Field) -> Callable[[object], object] | None:
    if f.type in TEXT_TYPES or f.type == "date":
        return None
    if f.type == "base64":
        return _BLOB
    return partial(values.from_db, f)


def _build(node: _RecordNode, row: Sequence[object], base_url: str) -> dict[str, object] | None:
    rid = row[node.id_index]
    if rid is None:
        return None
    rec: dict[str, object] = {
        "attributes": {"type": node.type_name, "url": f"{base_url}/sobjects/{node.type_name}/{rid}"}
    }
    for key, idx, conv, child in node.items:
        if child is not None:
            rec[key] = _build(child, row, base_url)
            continue
        raw = row[idx]
        if raw is None or conv is None:
            rec[key] = raw
        elif conv is _BLOB:
            rec[key] = f"{base_url}/sobjects/{node.type_name}/{rid}/{key}" if raw else None
        else:
            rec[key] = conv(raw)
    return rec


@dataclass
class CompiledQuery:
    obj: SObject
    count_only: bool
    columns: list[OutputColumn]
    select_sql: str
    from_sql: str
    where_sql: str
    params: list[object]
    order_sql: str
    limit: int | None
    offset: int | None
    _plan: _RecordNode | None = field(default=None, repr=False)
    _csv: list[Callable[[object], str]] = field(default_factory=list, repr=False)

    def _tail(self) -> str:
        if self.limit is None and self.offset is None:
            return ""
        tail = f" LIMIT {self.limit if self.limit is not None else -1}"
        return tail + (f" OFFSET {self.offset}" if self.offset else "")

    def sql(self) -> tuple[str, list[object]]:
        order = f" {self.order_sql}" if self.order_sql else ""
        text = f"SELECT {self.select_sql} {self.from_sql} WHERE {self.where_sql}{order}{self._tail()}"
        return text, list(self.params)

    def count_sql(self) -> tuple[str, list[object]]:
        """The number of rows sql() returns (COUNT() honours LIMIT/OFFSET in Salesforce too)."""
        if self.limit is None and self.offset is None:
            return f"SELECT COUNT(*) {self.from_sql} WHERE {self.where_sql}", list(self.params)
        inner = f"SELECT 1 {self.from_sql} WHERE {self.where_sql}{self._tail()}"
        return f"SELECT COUNT(*) FROM ({inner})", list(self.params)

    def to_record(self, row: Sequence[object], base_url: str) -> dict[str, object]:
        """The REST JSON record for one row of sql(); `base_url` is a path like /services/data/v59.0."""
        if self._plan is None:
            raise ValueError("COUNT() queries have no records")
        rec = _build(self._plan, row, base_url)
        assert rec is not None  # the root row always has an Id
        return rec

    def csv_header(self) -> list[str]:
        self._check_csv()
        return [".".join(c.path) for c in self.columns]

    def to_csv_row(self, row: Sequence[object]) -> list[str]:
        return [conv(row[c.index]) for c, conv in zip(self.columns, self._csv, strict=True)]

    def _check_csv(self) -> None:
        for c in self.columns:
            if c.field.type == "base64":
                # Bulk API query jobs reject binary fields; their data only comes from the blob URL.
                raise SoqlError(INVALID_FIELD, f"Bulk API does not support base64 fields in query: {'.'.join(c.path)}")


class _Compiler:
    def __init__(self, q: _Query, text: str, *, tooling: bool, include_deleted: bool, now: datetime) -> None:
        self.q = q
        self.text = text
        self.include_deleted = include_deleted
        self.now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        obj = get_object(q.obj, tooling=tooling)
        if obj is None:
            raise SoqlError(
                INVALID_TYPE,
                _located(
                    text,
                    q.obj_pos,
                    f"sObject type '{q.obj}' is not supported. If you are attempting to use a custom object, be "
                    "sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                ),
            )
        self.obj = obj
        self.qualifiers = {obj.name.lower()} | ({q.alias.lower()} if q.alias else set())
        self.joins: dict[tuple[str, ...], str] = {}
        self.join_sql: list[str] = []
        self.params: list[object] = []

    # -- field paths

    def resolve(self, ref: _FieldRef) -> tuple[str, Field, tuple[str, ...], tuple[str, ...], list[SObject]]:
        """(SQL expression, leaf field, canonical path, join key, objects along the path)."""
        parts = ref.name.split(".")
        if len(parts) > 1 and parts[0].lower() in self.qualifiers and parts[0].lower() not in _relationships(self.obj):
            parts = parts[1:]
        if len(parts) - 1 > MAX_PARENT_DEPTH:
            raise _malformed(
                self.text, ref.pos, f"field path '{ref.name}' has more than {MAX_PARENT_DEPTH} relationships"
            )
        obj = self.obj
        alias = "t0"
        key: tuple[str, ...] = ()
        canon: list[str] = []
        chain = [obj]
        for part in parts[:-1]:
            ref_field = _relationships(obj).get(part.lower())
            parent = catalogue().get(ref_field.reference_to[0].lower()) if ref_field else None
            if ref_field is None or parent is None:
                raise SoqlError(
                    INVALID_FIELD,
                    _located(
                        self.text,
                        ref.pos,
                        f"Didn't understand relationship '{part}' in field path. If you are attempting to use a "
                        "custom relationship, be sure to append the '__r' after the custom relationship name. "
                        "Please reference your WSDL or the describe call for the appropriate names.",
                    ),
                )
            key += (part.lower(),)
            alias = self.join(key, alias, ref_field, parent)
            canon.append(ref_field.relationship_name or part)
            obj = parent
            chain.append(obj)
        leaf = obj.field(parts[-1])
        if leaf is None:
            raise SoqlError(
                INVALID_FIELD,
                _located(
                    self.text,
                    ref.pos,
                    f"No such column '{parts[-1]}' on entity '{obj.name}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name. Please reference your WSDL "
                    "or the describe call for the appropriate names.",
                ),
            )
        canon.append(leaf.name)
        return f"{alias}.{quote(leaf.name)}", leaf, tuple(canon), key, chain

    def join(self, key: tuple[str, ...], child_alias: str, ref_field: Field, parent: SObject) -> str:
        alias = self.joins.get(key)
        if alias is None:
            alias = self.joins[key] = f"t{len(self.joins) + 1}"
            self.join_sql.append(
                f'LEFT JOIN {quote(parent.name)} AS {alias} ON {alias}."Id" = {child_alias}.{quote(ref_field.name)}'
            )
        return alias

    def field_error(self, pos: int, message: str) -> SoqlError:
        return SoqlError(INVALID_FIELD, _located(self.text, pos, message))

    # -- WHERE

    def where(self, node: _Node) -> str:
        if isinstance(node, _BoolOp):
            return "(" + f" {node.op} ".join(self.where(i) for i in node.items) + ")"
        if isinstance(node, _Not):
            return f"(NOT {self.where(node.inner)})"
        if isinstance(node, _In):
            return self.in_list(node)
        return self.comparison(node)

    def filterable(self, ref: _FieldRef) -> tuple[str, Field]:
        col, f, _, _, _ = self.resolve(ref)
        if f.type == "base64" or (f.type == "textarea" and f.length > 255):
            raise self.field_error(ref.pos, f"field '{f.name}' can not be filtered in a query call")
        if f.type == "boolean":
            # Salesforce treats a null boolean (here: a missing parent) as false.
            col = f"IFNULL({col}, 0)"
        return col, f

    def comparison(self, node: _Cmp) -> str:
        col, f = self.filterable(node.ref)
        op, lit = node.op, node.lit
        if op == "LIKE":
            if f.type not in TEXT_TYPES:
                raise self.field_error(node.op_pos, f"invalid operator on field '{f.name}': LIKE needs a text field")
            self.params.append(lit.like)
            return f"({col} IS NOT NULL AND {col} LIKE ? ESCAPE '\\')"
        if f.type == "boolean" and op not in ("=", "!="):
            raise self.field_error(node.op_pos, f"invalid operator '{op}' on boolean field '{f.name}'")
        return self.compare(col, f, op, lit)

    def compare(self, col: str, f: Field, op: str, lit: _Lit) -> str:
        if lit.kind == "null" or (lit.kind == "string" and lit.value == "" and f.type in TEXT_TYPES):
            if op not in ("=", "!="):
                raise _malformed(self.text, lit.pos, f"null can only be compared with = or !=, not {op}")
            if f.type == "boolean":
                return f"({col} IS 0)" if op == "=" else f"({col} IS 1)"
            return f"({col} IS NULL)" if op == "=" else f"({col} IS NOT NULL)"
        value = self.value(f, lit)
        if isinstance(value, tuple):
            start, end = value
            inside = f"({col} IS NOT NULL AND {col} >= ? AND {col} < ?)"
            bounds = {
                "=": (inside, [start, end]),
                "!=": (f"(NOT {inside})", [start, end]),
                "<": (f"({col} IS NOT NULL AND {col} < ?)", [start]),
                "<=": (f"({col} IS NOT NULL AND {col} < ?)", [end]),
                ">": (f"({col} IS NOT NULL AND {col} >= ?)", [end]),
                ">=": (f"({col} IS NOT NULL AND {col} >= ?)", [start]),
            }
            sql, params = bounds[op]
            self.params.extend(params)
            return sql
        self.params.append(value)
        if op == "=":
            return f"({col} IS ?)"
        if op == "!=":
            return f"({col} IS NOT ?)"
        return f"({col} IS NOT NULL AND {col} {op} ?)"

    def in_list(self, node: _In) -> str:
        col, f = self.filterable(node.ref)
        simple = all(lit.kind not in ("null", "range") and lit.value != "" for lit in node.lits)
        if simple:
            vals = [self.value(f, lit) for lit in node.lits]
            self.params.extend(vals)
            sql = f"({col} IS NOT NULL AND {col} IN ({', '.join('?' * len(vals))}))"
        else:
            sql = "(" + " OR ".join(self.compare(col, f, "=", lit) for lit in node.lits) + ")"
        return f"(NOT {sql})" if node.negated else sql

    def value(self, f: Field, lit: _Lit) -> object:
        """The storage value (or a (start, end) range) of `lit` for field `f`, after Salesforce's type checks."""
        t = f.type
        if t in TEXT_TYPES:
            if lit.kind != "string":
                raise self.type_error(f, lit, "id" if t in ("id", "reference") else "string", quoted=True)
            text = str(lit.value)
            if t in ("id", "reference"):
                return self.id_value(text, lit)
            return text
        if lit.kind == "string":
            expected = {"boolean": "boolean", "int": "integer", "datetime": "dateTime", "date": "date"}
            raise self.field_error(
                lit.pos,
                f"value of filter criterion for field '{f.name}' must be of type "
                f"{expected.get(t, 'double')} and should not be enclosed in quotes",
            )
        if t == "boolean":
            if lit.kind != "bool":
                raise self.type_error(f, lit, "boolean")
            return 1 if lit.value else 0
        if t in NUMBER_TYPES:
            if lit.kind != "number":
                raise self.type_error(f, lit, "integer" if t == "int" else "double")
            return lit.value
        if t == "datetime":
            if lit.kind == "datetime":
                return lit.value
            if lit.kind == "range":
                start, end = self.day_range(lit)
                midnight = datetime.min.time()
                return (
                    values.db_datetime(datetime.combine(start, midnight, UTC)),
                    values.db_datetime(datetime.combine(end, midnight, UTC)),
                )
            raise self.type_error(f, lit, "dateTime")
        if t == "date":
            if lit.kind == "date":
                return lit.value
            if lit.kind == "range":
                start, end = self.day_range(lit)
                return start.isoformat(), end.isoformat()
            raise self.type_error(f, lit, "date")
        raise self.field_error(lit.pos, f"field '{f.name}' can not be filtered in a query call")

    def type_error(self, f: Field, lit: _Lit, expected: str, *, quoted: bool = False) -> SoqlError:
        hint = " and should be enclosed in quotes" if quoted else ""
        return self.field_error(
            lit.pos, f"value of filter criterion for field '{f.name}' must be of type {expected}{hint}"
        )

    def id_value(self, text: str, lit: _Lit) -> str:
        if len(text) == 15 and text.isalnum():
            return ids.to18(text)
        if len(text) == 18 and text.isalnum():
            return text
        raise SoqlError(INVALID_QUERY_FILTER_OPERATOR, _located(self.text, lit.pos, f"invalid ID field: {text}"))

    def day_range(self, lit: _Lit) -> tuple[date, date]:
        today = self.now.date()
        day = timedelta(days=1)
        word, n = lit.value, lit.n
        if word == "TODAY":
            return today, today + day
        if word == "YESTERDAY":
            return today - day, today
        if word == "TOMORROW":
            return today + day, today + 2 * day
        if word == "LAST_N_DAYS":
            return today - n * day, today + day
        if word == "NEXT_N_DAYS":
            return today + day, today + (n + 1) * day
        return today - n * day, today - (n - 1) * day  # N_DAYS_AGO

    # -- whole query

    def compile(self) -> CompiledQuery:
        q = self.q
        exprs: list[str] = ["t0.rowid"]
        positions: dict[str, int] = {}

        def add(expr: str) -> int:
            idx = positions.get(expr)
            if idx is None:
                idx = positions[expr] = len(exprs)
                exprs.append(expr)
            return idx

        columns: list[OutputColumn] = []
        csv: list[Callable[[object], str]] = []
        plan: _RecordNode | None = None
        if not q.count:
            plan = _RecordNode(self.obj.name, add('t0."Id"'), [])
            nodes: dict[tuple[str, ...], _RecordNode] = {(): plan}
            seen: set[tuple[str, ...]] = set()
            for ref in q.fields:
                col, f, path, key, chain = self.resolve(ref)
                lowered = tuple(p.lower() for p in path)
                if lowered in seen:
                    raise _malformed(self.text, ref.pos, f"duplicate field selected: {'.'.join(path)}")
                seen.add(lowered)
                # A base64 column would drag every blob through the query; only whether it is set matters.
                idx = add(f"({col} IS NOT NULL)" if f.type == "base64" else col)
                columns.append(OutputColumn(path, f, idx))
                csv.append(partial(values.to_csv, f))
                node = plan
                for depth in range(1, len(key) + 1):
                    child = nodes.get(key[:depth])
                    if child is None:
                        child = _RecordNode(chain[depth].name, add(f'{self.joins[key[:depth]]}."Id"'), [])
                        nodes[key[:depth]] = child
                        node.items.append((path[depth - 1], -1, None, child))
                    node = child
                node.items.append((f.name, idx, _converter(f), None))

        conditions: list[str] = []
        if not self.include_deleted and self.obj.has_is_deleted:
            conditions.append('t0."IsDeleted" = 0')
        if q.where is not None:
            conditions.append(self.where(q.where))

        order_terms: list[str] = []
        for key_ in q.order:
            col, f, _, _, _ = self.resolve(key_.ref)
            if f.type in ("textarea", "base64"):
                raise self.field_error(key_.ref.pos, f"field '{f.name}' can not be sorted in a query call")
            direction = "DESC" if key_.desc else "ASC"
            order_terms.append(f"{col} {direction} NULLS {'FIRST' if key_.nulls_first else 'LAST'}")
        if order_terms:
            order_terms.append("t0.rowid")

        return CompiledQuery(
            obj=self.obj,
            count_only=q.count,
            columns=columns,
            select_sql=", ".join(exprs),
            from_sql=" ".join([f"FROM {quote(self.obj.name)} AS t0", *self.join_sql]),
            where_sql=" AND ".join(conditions) if conditions else "1",
            params=self.params,
            order_sql=("ORDER BY " + ", ".join(order_terms)) if order_terms else "",
            limit=q.limit,
            offset=q.offset,
            _plan=plan,
            _csv=csv,
        )


def compile_soql(text: str, *, tooling: bool = False, include_deleted: bool = False, now: datetime) -> CompiledQuery:
    """Parse, check and compile one SOQL statement; raises SoqlError as Salesforce would reject it.

    `tooling` resolves only Tooling API objects; `include_deleted` is queryAll; `now` is the sandbox
    clock that date literals such as TODAY are evaluated against.
    """
    query = _Parser(text).query()
    return _Compiler(query, text, tooling=tooling, include_deleted=include_deleted, now=now).compile()
