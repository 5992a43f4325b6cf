"""How field values travel between the API (JSON, CSV, SOQL literals) and SQLite.

Storage conventions, relied on by the SOQL compiler and the store alike:
- booleans are INTEGER 0/1;
- datetimes are UTC text `YYYY-MM-DDTHH:MM:SS.sssZ`, which sorts chronologically;
- dates are `YYYY-MM-DD`; numbers are INTEGER or REAL; text is TEXT COLLATE NOCASE;
- base64 fields hold raw bytes (the API serves them from their own URL).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from synthgov_sandbox.engine.schema import NUMBER_TYPES, TEXT_TYPES, Field

_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class ValueProblem(ValueError):
    """A value that does not fit its field; `code` is the Salesforce status code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 dateTime as Salesforce accepts it (Z, ±hh:mm or ±hhmm, optional fraction)."""
    m = _DATETIME_RE.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a valid dateTime (expected YYYY-MM-DDThh:mm:ssZ)")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or ".0")[1:7].ljust(6, "0"))
    if tz == "Z":
        tzinfo = UTC
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tzinfo)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid dateTime: {exc}") from None
    return dt.astimezone(UTC)


def parse_date(text: str) -> date:
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a valid date (expected YYYY-MM-DD)")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date: {exc}") from None


def db_datetime(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def api_datetime(stored: str) -> str:
    """Stored `...sssZ` to the API's `...sss+0000`."""
    return stored[:-1] + "+0000"


def to_db(f: Field, value: object) -> object:
    """A JSON or CSV value for field `f`, checked and converted for storage."""
    if value is None or value == "":
        if f.type == "boolean":
            return 0
        return None
    t = f.type
    if t == "boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        raise ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: {value!r}")
    if t in NUMBER_TYPES:
        if isinstance(value, bool):
            raise ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: {value!r}")
        try:
            number = float(value) if t != "int" else int(value)  # type: ignore[arg-type,call-overload]
        except (TypeError, ValueError):
            raise ValueProblem(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: {value!r}"
            ) from None
        return number
    if t == "datetime":
        if not isinstance(value, str):
            raise ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: {value!r}")
        try:
            return db_datetime(parse_datetime(value))
        except ValueError as exc:
            raise ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: {exc}") from None
    if t == "date":
        if not isinstance(value, str):
            raise ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: value not of required type: {value!r}")
        try:
            return parse_date(value[:10] if "T" in value else value).isoformat()
        except ValueError as exc:
            raise ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.name}: {exc}") from None
    if t == "base64":
        return value
    if t in TEXT_TYPES:
        text = value if isinstance(value, str) else str(value)
        if f.length and len(text) > f.length:
            raise ValueProblem(
                "STRING_TOO_LONG", f"{f.label or f.name}: data value too large: {text[:40]}... (max length={f.length})"
            )
        return text
    raise ValueProblem("INVALID_FIELD", f"unsupported field type {t}")


def from_db(f: Field, raw: object) -> object:
    """A stored value as the REST API shows it in JSON."""
    if raw is None:
        return None
    t = f.type
    if t == "boolean":
        return bool(raw)
    if t == "datetime":
        return api_datetime(str(raw))
    if t == "int":
        return int(raw)  # type: ignore[call-overload]
    if t in NUMBER_TYPES:
        return float(raw)  # type: ignore[arg-type]
    return raw


def to_csv(f: Field, raw: object) -> str:
    """A stored value as Bulk API 2.0 writes it in CSV (null and empty look the same)."""
    if raw is None:
        return ""
    t = f.type
    if t == "boolean":
        return "true" if raw else "false"
    if t == "datetime":
        return str(raw)
    if t in NUMBER_TYPES and t != "int":
        number = float(raw)  # type: ignore[arg-type]
        return repr(number) if not number.is_integer() else str(int(number)) + ".0"
    return str(raw)
