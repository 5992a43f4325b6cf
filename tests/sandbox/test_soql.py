"""The SOQL compiler against a plain-Python reference (soql_reference) over the same in-memory dataset.

Each supported statement is a Case whose meaning is written by hand as a predicate and ORDER BY keys;
the Ids the compiled SQL returns from SQLite must match what the reference computes from the record dicts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import pytest

from synthgov_sandbox.engine import ddl, values
from synthgov_sandbox.engine.ids import make_id
from synthgov_sandbox.engine.schema import SObject, catalogue
from synthgov_sandbox.engine.soql import SoqlError, compile_soql
from tests.sandbox.soql_reference import (
    Case,
    Dataset,
    Record,
    asc,
    desc,
    eq,
    everything,
    ge,
    gt,
    isin,
    le,
    like,
    lt,
    ne,
    reference_ids,
    within,
)

pytestmark = pytest.mark.unit

# =========================================================================================================
# The dataset

NOW = datetime(2024, 6, 15, 13, 30, 0, tzinfo=UTC)
TODAY = NOW.date()
BASE = "/services/data/v59.0"


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def midnight(days_from_today: int) -> datetime:
    return datetime.combine(TODAY + timedelta(days=days_from_today), dtime(), UTC)


def at(days_from_today: int, h: int = 0, m: int = 0, s: int = 0, ms: int = 0) -> datetime:
    return midnight(days_from_today) + timedelta(hours=h, minutes=m, seconds=s, milliseconds=ms)


def day(days_from_today: int) -> date:
    return TODAY + timedelta(days=days_from_today)


def uid(n: int) -> str:
    return make_id("005", n)


def aid(n: int) -> str:
    return make_id("001", n)


def cid(n: int) -> str:
    return make_id("003", n)


def lid(n: int) -> str:
    return make_id("00Q", n)


def oid(n: int) -> str:
    return make_id("006", n)


MISSING_USER = uid(99)  # referenced, never inserted: a dangling lookup yields a null parent

USERS: list[Record] = [
    {
        "Id": uid(1),
        "FirstName": "Alice",
        "LastName": "Admin",
        "Username": "alice@example.com",
        "Email": "alice@example.com",
        "IsActive": True,
        "LastLoginDate": at(0, 9),
    },
    {
        "Id": uid(2),
        "FirstName": "bob",
        "LastName": "builder",
        "Username": "bob@example.com",
        "IsActive": True,
        "ManagerId": uid(1),
    },
    {
        "Id": uid(3),
        "FirstName": "Carol",
        "LastName": "O'Neil",
        "Username": "carol@example.com",
        "IsActive": False,
        "ManagerId": uid(1),
        "LastLoginDate": dt("2024-01-02T03:04:05.678Z"),
    },
    {
        "Id": uid(4),
        "FirstName": "Dan",
        "LastName": "Zed",
        "Username": "dan@example.com",
        "IsActive": True,
        "ManagerId": uid(2),
        "LastLoginDate": at(-1, 1),
    },
]

ACCOUNTS: list[Record] = [
    {"Id": aid(1), "Name": "Acme", "Industry": "Technology", "AnnualRevenue": 1_000_000.0, "OwnerId": uid(1)},
    {"Id": aid(2), "Name": "acme corp", "AnnualRevenue": 250_000.5, "OwnerId": uid(2)},
    {"Id": aid(3), "Name": "Globex", "Industry": "Manufacturing", "OwnerId": uid(3), "ParentId": aid(1)},
    {"Id": aid(4), "Name": "Initech 50% Off", "Industry": "Technology", "AnnualRevenue": 50.0, "OwnerId": uid(4)},
    {"Id": aid(5), "Name": "Under_Score Ltd", "OwnerId": uid(2), "IsDeleted": True, "ParentId": aid(2)},
    {"Id": aid(6), "Name": "O'Reilly Media", "Industry": "Media", "OwnerId": MISSING_USER},
]

CONTACTS: list[Record] = [
    {
        "Id": cid(1),
        "AccountId": aid(1),
        "FirstName": "Zoe",
        "LastName": "Zimmer",
        "Email": "zoe@acme.com",
        "OwnerId": uid(1),
    },
    {"Id": cid(2), "FirstName": "Yann", "LastName": "Young", "OwnerId": uid(2), "HasOptedOutOfEmail": True},
    {
        "Id": cid(3),
        "AccountId": aid(3),
        "FirstName": "Xavier",
        "LastName": "xu",
        "Email": "x@globex.com",
        "OwnerId": uid(3),
        "HasOptedOutOfEmail": True,
    },
    {"Id": cid(4), "AccountId": aid(5), "FirstName": "Wendy", "LastName": "Wu", "OwnerId": uid(4)},
    {"Id": cid(5), "AccountId": aid(2), "FirstName": "Vera", "LastName": "Vance", "OwnerId": uid(2), "IsDeleted": True},
    {
        "Id": cid(6),
        "AccountId": aid(6),
        "FirstName": "Uma",
        "LastName": "Ulm",
        "Email": "uma@oreilly.com",
        "OwnerId": uid(1),
    },
    {"Id": cid(7), "AccountId": aid(2), "FirstName": "Tom", "LastName": "Tate", "OwnerId": uid(4)},
]

_O, _W, _CC, _CN = "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"
# fmt: off
_LEAD_COLUMNS = (
    "FirstName", "LastName", "Company", "Email", "Status", "LeadSource", "AnnualRevenue", "NumberOfEmployees",
    "OwnerId", "IsConverted", "AI_Generated__c", "AI_Generated_At__c", "CreatedDate", "IsDeleted", "Lead_Score__c",
)
_LEAD_ROWS: list[tuple[object, ...]] = [
    ("Ann", "Smith", "Acme", "ann@acme.com", _O, "Web", 100_000.0, 50, uid(1), False, True,
     dt("2024-05-31T23:59:59.999Z"), at(0), False, 0.5),
    ("ben", "SMITH", "ACME", "ben@example.org", _W, None, None, 5, uid(2), False, False,
     None, at(0, 13, 29, 59, 999), False, 0.9),
    ("Cleo", "Brown", "acme inc", None, _CC, "Phone Inquiry", 500_000.5, 200, uid(1), True, True,
     dt("2024-06-01T00:00:00Z"), at(-1, 23, 59, 59, 999), False, None),
    ("Dev", "O'Brien", "O'Brien & Sons", "dev@obrien.ie", _CN, "Web", 750_000.0, None, uid(3), True, False,
     None, dt("2024-05-01T08:00:00Z"), False, 0.1),
    ("Eve", "Stone", "Initech 50% Off", "eve@initech.com", _O, "Partner Referral", 50_000.0, 10, uid(4), False, True,
     dt("2024-06-16T10:00:00Z"), at(-7), False, 0.5),
    ("Finn", "Black", "50 Percent Corp", None, _W, "Web", 1000.0, 1, uid(2), False, False,
     None, at(-8, 23, 59, 59, 999), False, None),
    ("Gus", "under_score", "Under_Score Ltd", "gus@u.com", _O, None, None, None, uid(1), False, True,
     dt("2024-06-20T00:00:00Z"), dt("2024-05-01T07:59:59.999Z"), False, 0.7),
    ("Hana", "Underxscore", "UnderXScore Inc", "hana@u.com", _CC, "Web", 300_000.0, 30, uid(4), True, False,
     None, dt("2024-05-01T08:00:00.001Z"), False, 0.3),
    ("Ivy", "Back\\slash", "Back\\slash Co", None, _O, "Other", 20_000.0, 2, MISSING_USER, False, False,
     None, dt("2023-12-31T23:00:00Z"), False, None),
    ("Kim", "Smith", "Acme", "kim@acme.com", _O, "Web", 100.0, 1, uid(1), False, True,
     at(0, 1), at(0, 10), True, 0.2),
    ("Lou", "Brown", "Globex", None, _CC, None, 5000.0, 3, uid(3), True, False,
     None, dt("2024-05-01T08:00:00Z"), True, None),
    ("Mia", "Green", "Globex", "mia@globex.com", _W, "Web", 100_000.0, 50, uid(3), False, True,
     dt("2024-06-14T12:00:00Z"), at(-2, 12), False, 0.8),
    ("Ned", "Stark", "Winterfell", "NED@Winterfell.org", _O, "Phone Inquiry", 0.0, 0, uid(2), False, False,
     None, at(-30, 6), False, 0.0),
    ("ola", "lower", "lowercase llc", "ola@lower.com", _O, "web", None, 3, uid(4), False, False,
     None, at(-1), False, None),
    ("Pat", "Null", "Nullable Inc", None, _W, None, None, None, uid(1), False, False,
     None, dt("2024-01-15T12:00:00Z"), False, None),
    ("Quinn", "Tab", "Tab\tCompany", "quinn@tab.co", _CN, "Other", 42.0, 4, uid(2), False, True,
     at(1, 5), at(-3, 8), False, 0.4),
    ("Ray", "Percent", "Percent%Literal", "ray@pct.com", _O, "Web", 1e7, 10_000, uid(4), False, False,
     None, at(-5, 22), False, 1.0),
    ("Sam", "Lee", "acme", "sam@acme.com", _W, "Web", 100_000.0, 50, uid(1), False, True,
     at(0, 12), at(0, 12), False, 0.5),
    ("Tia", "zed", "Zeta Ltd", "tia@zeta.com", _CN, "Partner Referral", 75_000.0, 12, MISSING_USER, True, False,
     None, at(-6, 23), False, 0.6),
]
# fmt: on
LEADS: list[Record] = [
    {"Id": lid(i), **dict(zip(_LEAD_COLUMNS, row, strict=True))} for i, row in enumerate(_LEAD_ROWS, start=1)
]
for _lead in LEADS:
    _lead["Name"] = f"{_lead['FirstName']} {_lead['LastName']}"

OPPORTUNITIES: list[Record] = [
    {"Id": oid(1), "Name": "Today", "StageName": "Prospecting", "CloseDate": day(0), "AccountId": aid(1)},
    {"Id": oid(2), "Name": "Yesterday", "StageName": "Prospecting", "CloseDate": day(-1), "AccountId": aid(1)},
    {"Id": oid(3), "Name": "Thirty days ago", "StageName": "Closed Won", "CloseDate": day(-30)},
    {"Id": oid(4), "Name": "Tomorrow", "StageName": "Qualification", "CloseDate": day(1), "AccountId": aid(3)},
    {"Id": oid(5), "Name": "End of May", "StageName": "Closed Lost", "CloseDate": date(2024, 5, 31)},
    {"Id": oid(6), "Name": "Thirty-one days ago", "StageName": "Closed Won", "CloseDate": day(-31)},
    {"Id": oid(7), "Name": "Deleted today", "StageName": "Prospecting", "CloseDate": day(0), "IsDeleted": True},
    {"Id": oid(8), "Name": "Next week", "StageName": "Negotiation/Review", "CloseDate": day(5)},
]
for _opp in OPPORTUNITIES:
    _opp.setdefault("OwnerId", uid(1))

CONTENT_VERSIONS: list[Record] = [
    {"Id": make_id("068", 1), "Title": "Logo", "VersionData": b"\x89PNG...", "IsLatest": True, "OwnerId": uid(1)},
    {"Id": make_id("068", 2), "Title": "Empty", "IsLatest": False, "OwnerId": uid(2)},
]

SUBSCRIBER_PACKAGES: list[Record] = [{"Id": make_id("033", 1), "Name": "Einstein Helper", "NamespacePrefix": "ein"}]
SUBSCRIBER_PACKAGE_VERSIONS: list[Record] = [
    {
        "Id": make_id("04t", 1),
        "Name": "Winter 24",
        "SubscriberPackageId": make_id("033", 1),
        "MajorVersion": 2,
        "MinorVersion": 3,
        "PatchVersion": 0,
        "BuildNumber": 7,
        "IsManaged": True,
    },
]
INSTALLED_PACKAGES: list[Record] = [
    {
        "Id": make_id("0A3", 1),
        "SubscriberPackageId": make_id("033", 1),
        "SubscriberPackageVersionId": make_id("04t", 1),
    },
    {"Id": make_id("0A3", 2), "SubscriberPackageId": make_id("033", 1)},
]

_DEFAULT_CREATED = dt("2024-01-01T00:00:00Z")


def _complete(obj: SObject, rec: Record) -> Record:
    """Every field present (booleans default to false), so reference and store agree on every value."""
    out: Record = {}
    for f in obj.fields:
        if f.name in rec:
            out[f.name] = rec[f.name]
        elif f.type == "boolean":
            out[f.name] = False
        elif f.name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            out[f.name] = rec.get("CreatedDate", _DEFAULT_CREATED)
        elif f.name in ("CreatedById", "LastModifiedById"):
            out[f.name] = uid(1)
        else:
            out[f.name] = None
    if obj.name == "User" and out["Name"] is None:
        out["Name"] = f"{out['FirstName']} {out['LastName']}"
    if obj.name == "Contact":
        out["Name"] = f"{out['FirstName']} {out['LastName']}"
    return out


def _build_dataset() -> Dataset:
    raw = {
        "User": USERS,
        "Account": ACCOUNTS,
        "Contact": CONTACTS,
        "Lead": LEADS,
        "Opportunity": OPPORTUNITIES,
        "ContentVersion": CONTENT_VERSIONS,
        "SubscriberPackage": SUBSCRIBER_PACKAGES,
        "SubscriberPackageVersion": SUBSCRIBER_PACKAGE_VERSIONS,
        "InstalledSubscriberPackage": INSTALLED_PACKAGES,
    }
    return {name: [_complete(catalogue()[name.lower()], r) for r in recs] for name, recs in raw.items()}


DATA = _build_dataset()


def _api_value(value: object) -> object:
    """A Python value as the API would send it, for values.to_db."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def load(conn: sqlite3.Connection, data: Dataset) -> None:
    ddl.create_tables(conn)
    for name, recs in data.items():
        obj = catalogue()[name.lower()]
        cols = ", ".join(ddl.quote(f.name) for f in obj.fields)
        marks = ", ".join("?" for _ in obj.fields)
        conn.executemany(
            f"INSERT INTO {ddl.quote(obj.name)} ({cols}) VALUES ({marks})",
            [[values.to_db(f, _api_value(rec[f.name])) for f in obj.fields] for rec in recs],
        )


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    load(conn, DATA)
    yield conn
    conn.close()


def run(conn: sqlite3.Connection, soql: str, **kw: object) -> list[dict[str, object]]:
    cq = compile_soql(soql, now=NOW, **kw)  # type: ignore[arg-type]
    sql, params = cq.sql()
    return [cq.to_record(row, BASE) for row in conn.execute(sql, params)]


# =========================================================================================================
# Supported statements


L3_ID15 = lid(3)[:15]

CASES: list[Case] = [
    # -- basics, case-insensitive keywords, names and text
    Case("SELECT Id FROM Lead"),
    Case("select id from lead where company = 'ACME'", lambda r: eq(r("Company"), "acme")),
    Case("SeLeCt ID fRoM LEAD wHeRe COMPANY != 'acme'", lambda r: ne(r("Company"), "Acme")),
    Case("SELECT Id FROM Lead WHERE Email = 'ned@WINTERFELL.org'", lambda r: eq(r("Email"), "ned@winterfell.org")),
    Case("SELECT Id\nFROM Lead\nWHERE\tStatus = 'Working - Contacted'\n", lambda r: eq(r("Status"), _W)),
    Case("SELECT l.Id, l.Name FROM Lead l WHERE l.Company = 'Globex'", lambda r: eq(r("Company"), "Globex")),
    Case("SELECT Lead.Id FROM Lead WHERE Lead.Status = 'open - not contacted'", lambda r: eq(r("Status"), _O)),
    # -- null, !=, <> (two-valued: != includes nulls)
    Case("SELECT Id FROM Lead WHERE Email = null", lambda r: r("Email") is None),
    Case("SELECT Id FROM Lead WHERE Email != null", lambda r: r("Email") is not None),
    Case("SELECT Id FROM Lead WHERE LeadSource <> 'Web'", lambda r: ne(r("LeadSource"), "Web")),
    Case("SELECT Id FROM Lead WHERE Lead_Score__c != 0.5", lambda r: ne(r("Lead_Score__c"), 0.5)),
    Case("SELECT Id FROM Lead WHERE Email = ''", lambda r: r("Email") is None),
    # -- string escapes
    Case(r"SELECT Id FROM Lead WHERE LastName = 'O\'Brien'", lambda r: eq(r("LastName"), "O'Brien")),
    Case(r"SELECT Id FROM Lead WHERE Company = 'Back\\slash Co'", lambda r: eq(r("Company"), "Back\\slash Co")),
    Case(r"SELECT Id FROM Lead WHERE Company = 'Tab\tCompany'", lambda r: eq(r("Company"), "Tab\tCompany")),
    # -- LIKE: case-insensitive, wildcards, escapes
    Case("SELECT Id FROM Lead WHERE Name LIKE '%SMITH'", lambda r: like(r("Name"), "%smith")),
    Case("SELECT Id FROM Lead WHERE Company LIKE 'a_me%'", lambda r: like(r("Company"), "a_me%")),
    Case(r"SELECT Id FROM Lead WHERE Company LIKE '%50\%%'", lambda r: like(r("Company"), r"%50\%%")),
    Case(r"SELECT Id FROM Lead WHERE Company LIKE '%\%%'", lambda r: like(r("Company"), r"%\%%")),
    Case(r"SELECT Id FROM Lead WHERE Company LIKE 'under\_%'", lambda r: like(r("Company"), r"under\_%")),
    Case("SELECT Id FROM Lead WHERE Company LIKE 'under_score%'", lambda r: like(r("Company"), "under_score%")),
    Case(r"SELECT Id FROM Lead WHERE Company LIKE 'O\'%'", lambda r: like(r("Company"), "O'%")),
    Case(r"SELECT Id FROM Lead WHERE Company LIKE '%\\%'", lambda r: like(r("Company"), r"%\\%")),
    # -- IN / NOT IN
    Case(
        "SELECT Id FROM Lead WHERE Status IN ('Open - Not Contacted', 'working - contacted')",
        lambda r: isin(r("Status"), _O, _W),
    ),
    Case(
        "SELECT Id FROM Lead WHERE LeadSource NOT IN ('Web', 'Phone Inquiry')",
        lambda r: not isin(r("LeadSource"), "Web", "Phone Inquiry"),
    ),
    Case("SELECT Id FROM Lead WHERE LeadSource IN ('Other', null)", lambda r: isin(r("LeadSource"), "Other", None)),
    Case("SELECT Id FROM Lead WHERE NumberOfEmployees IN (1, 50)", lambda r: isin(r("NumberOfEmployees"), 1, 50)),
    Case(
        f"SELECT Id FROM Lead WHERE OwnerId IN ('{uid(3)}', '{MISSING_USER}')",
        lambda r: isin(r("OwnerId"), uid(3), MISSING_USER),
    ),
    Case(f"SELECT Id FROM Lead WHERE Id = '{L3_ID15}'", lambda r: r("Id") == lid(3)),
    # -- NOT, AND, OR, nested parentheses
    Case("SELECT Id FROM Lead WHERE NOT Status = 'Closed - Converted'", lambda r: not eq(r("Status"), _CC)),
    Case(
        "SELECT Id FROM Lead WHERE NOT (LeadSource = 'Web' OR LeadSource = null)",
        lambda r: not (eq(r("LeadSource"), "Web") or r("LeadSource") is None),
    ),
    Case(
        "SELECT Id FROM Lead WHERE (IsConverted = true AND AnnualRevenue > 50000) OR "
        "(Email LIKE '%.org' AND NOT (NumberOfEmployees < 10))",
        lambda r: (
            (r("IsConverted") is True and gt(r("AnnualRevenue"), 50000))
            or (like(r("Email"), "%.org") and not lt(r("NumberOfEmployees"), 10))
        ),
    ),
    Case(
        "SELECT Id FROM Lead WHERE ((Status = 'Open - Not Contacted' OR Status = 'Working - Contacted') AND "
        "(LeadSource = 'Web' OR (AnnualRevenue >= 100000 AND AnnualRevenue <= 500000.5)))",
        lambda r: (
            isin(r("Status"), _O, _W)
            and (eq(r("LeadSource"), "Web") or (ge(r("AnnualRevenue"), 100000) and le(r("AnnualRevenue"), 500000.5)))
        ),
    ),
    Case(
        "SELECT Id FROM Lead WHERE NOT (NOT (Company = 'Acme'))",
        lambda r: eq(r("Company"), "Acme"),
    ),
    # -- numbers and booleans
    Case(
        "SELECT Id FROM Lead WHERE NumberOfEmployees >= 10 AND NumberOfEmployees < 200",
        lambda r: ge(r("NumberOfEmployees"), 10) and lt(r("NumberOfEmployees"), 200),
    ),
    Case("SELECT Id FROM Lead WHERE AnnualRevenue > -1.5", lambda r: gt(r("AnnualRevenue"), -1.5)),
    Case("SELECT Id FROM Lead WHERE IsConverted = false", lambda r: r("IsConverted") is False),
    Case("SELECT Id FROM Lead WHERE IsConverted = null", lambda r: not r("IsConverted")),
    Case("SELECT Id FROM Lead WHERE IsConverted != null", lambda r: r("IsConverted") is True),
    # -- text ordering comparisons are case-insensitive too
    Case("SELECT Id FROM Lead WHERE Company > 'm'", lambda r: gt(r("Company"), "m")),
    Case(
        "SELECT Id FROM Lead WHERE Company < 'B' AND Company >= 'ACME'",
        lambda r: lt(r("Company"), "b") and ge(r("Company"), "acme"),
    ),
    # -- dateTime literals, normalized to UTC
    Case(
        "SELECT Id FROM Lead WHERE AI_Generated__c = true AND AI_Generated_At__c < 2024-06-01T00:00:00Z",
        lambda r: r("AI_Generated__c") is True and lt(r("AI_Generated_At__c"), dt("2024-06-01T00:00:00Z")),
    ),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate = 2024-05-01T10:00:00+02:00",
        lambda r: eq(r("CreatedDate"), dt("2024-05-01T08:00:00Z")),
    ),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate > 2024-05-01T08:00:00.000+0000 AND CreatedDate < 2024-06-01T00:00:00Z",
        lambda r: gt(r("CreatedDate"), dt("2024-05-01T08:00:00Z")) and lt(r("CreatedDate"), dt("2024-06-01T00:00:00Z")),
    ),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate <= 2024-05-01T03:00:00-05:00",
        lambda r: le(r("CreatedDate"), dt("2024-05-01T08:00:00Z")),
    ),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate < 2024-05-01T08:00:00.001Z",
        lambda r: lt(r("CreatedDate"), dt("2024-05-01T08:00:00.001Z")),
    ),
    # -- date literals on dateTime fields (UTC day ranges around NOW)
    Case("SELECT Id FROM Lead WHERE CreatedDate = TODAY", lambda r: within(r("CreatedDate"), midnight(0), midnight(1))),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate != TODAY",
        lambda r: not within(r("CreatedDate"), midnight(0), midnight(1)),
    ),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate = YESTERDAY",
        lambda r: within(r("CreatedDate"), midnight(-1), midnight(0)),
    ),
    Case("SELECT Id FROM Lead WHERE CreatedDate <= YESTERDAY", lambda r: lt(r("CreatedDate"), midnight(0))),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS:7",
        lambda r: within(r("CreatedDate"), midnight(-7), midnight(1)),
    ),
    Case("SELECT Id FROM Lead WHERE CreatedDate < LAST_N_DAYS:7", lambda r: lt(r("CreatedDate"), midnight(-7))),
    Case("SELECT Id FROM Lead WHERE AI_Generated_At__c > TODAY", lambda r: ge(r("AI_Generated_At__c"), midnight(1))),
    Case("SELECT Id FROM Lead WHERE AI_Generated_At__c >= TODAY", lambda r: ge(r("AI_Generated_At__c"), midnight(0))),
    Case(
        "SELECT Id FROM Lead WHERE AI_Generated_At__c = NEXT_N_DAYS:3",
        lambda r: within(r("AI_Generated_At__c"), midnight(1), midnight(4)),
    ),
    Case(
        "SELECT Id FROM Lead WHERE AI_Generated_At__c != NEXT_N_DAYS:3",
        lambda r: not within(r("AI_Generated_At__c"), midnight(1), midnight(4)),
    ),
    # -- parent fields
    Case(
        "SELECT Id, Owner.Name FROM Lead WHERE Owner.Name = 'ALICE ADMIN'", lambda r: eq(r("Owner.Name"), "alice admin")
    ),
    Case("SELECT Id FROM Lead WHERE Owner.IsActive = false", lambda r: not r("Owner.IsActive")),
    Case(
        "SELECT Id FROM Lead WHERE Owner.Manager.Name = 'Alice Admin'",
        lambda r: eq(r("Owner.Manager.Name"), "Alice Admin"),
    ),
    Case("SELECT Id FROM Lead WHERE Owner.Name = null", lambda r: r("Owner.Name") is None),
    # -- query vs queryAll
    Case("SELECT Id FROM Lead WHERE IsDeleted = true", lambda r: r("IsDeleted") is True, empty_ok=True),
    Case("SELECT Id FROM Lead WHERE IsDeleted = true", lambda r: r("IsDeleted") is True, include_deleted=True),
    Case("SELECT Id FROM Lead", include_deleted=True),
    Case(
        "SELECT Id FROM Lead WHERE CreatedDate = TODAY",
        lambda r: within(r("CreatedDate"), midnight(0), midnight(1)),
        include_deleted=True,
    ),
    # -- ORDER BY, NULLS, LIMIT, OFFSET
    Case("SELECT Id FROM Lead ORDER BY LastName", order=(asc("LastName"),)),
    Case("SELECT Id FROM Lead ORDER BY Email DESC", order=(desc("Email"),)),
    Case(
        "SELECT Id FROM Lead ORDER BY Email ASC NULLS LAST, LastName DESC",
        order=(asc("Email", False), desc("LastName")),
    ),
    Case(
        "SELECT Id FROM Lead ORDER BY Owner.Name DESC NULLS FIRST, CreatedDate",
        order=(desc("Owner.Name", True), asc("CreatedDate")),
    ),
    Case("SELECT Id FROM Lead ORDER BY CreatedDate DESC LIMIT 5", order=(desc("CreatedDate"),), limit=5),
    Case(
        "SELECT Id FROM Lead ORDER BY CreatedDate, Id LIMIT 4 OFFSET 3",
        order=(asc("CreatedDate"), asc("Id")),
        limit=4,
        offset=3,
    ),
    Case(
        "SELECT Id FROM Lead WHERE AnnualRevenue != null ORDER BY AnnualRevenue DESC, NumberOfEmployees NULLS LAST",
        lambda r: r("AnnualRevenue") is not None,
        order=(desc("AnnualRevenue"), asc("NumberOfEmployees", False)),
    ),
    Case(
        "SELECT Id FROM Lead ORDER BY IsConverted DESC, Lead_Score__c ASC NULLS LAST, Company",
        order=(desc("IsConverted"), asc("Lead_Score__c", False), asc("Company")),
    ),
    Case("SELECT Id FROM Lead ORDER BY Status LIMIT 100 OFFSET 14", order=(asc("Status"),), limit=100, offset=14),
    Case("SELECT Id FROM Lead ORDER BY Name OFFSET 5", order=(asc("Name"),), offset=5),
    Case("SELECT Id FROM Lead ORDER BY Company DESC", order=(desc("Company"),), include_deleted=True),
    # -- other objects
    Case("SELECT Id FROM Contact WHERE Account.Name = 'ACME'", lambda r: eq(r("Account.Name"), "acme")),
    Case("SELECT Id FROM Contact WHERE Account.Name = null", lambda r: r("Account.Name") is None),
    Case(
        "SELECT Id FROM Contact WHERE Account.Owner.Name LIKE 'bob%'", lambda r: like(r("Account.Owner.Name"), "bob%")
    ),
    Case(
        "SELECT Id FROM Contact WHERE HasOptedOutOfEmail = true OR Account.Industry = 'Technology'",
        lambda r: r("HasOptedOutOfEmail") is True or eq(r("Account.Industry"), "Technology"),
    ),
    Case(
        "SELECT Id FROM Contact ORDER BY Account.Name NULLS LAST, LastName",
        order=(asc("Account.Name", False), asc("LastName")),
        include_deleted=True,
    ),
    Case("SELECT Id FROM Account WHERE Parent.Name = 'acme'", lambda r: eq(r("Parent.Name"), "acme")),
    Case(
        "SELECT Id FROM Account WHERE Industry NOT IN ('Technology')",
        lambda r: not isin(r("Industry"), "Technology"),
    ),
    Case("SELECT Id FROM Account WHERE Owner.Name != null", lambda r: r("Owner.Name") is not None),
    Case("SELECT Id FROM Opportunity WHERE CloseDate = TODAY", lambda r: r("CloseDate") == day(0)),
    Case(
        "SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30",
        lambda r: within(r("CloseDate"), day(-30), day(1)),
    ),
    Case("SELECT Id FROM Opportunity WHERE CloseDate = N_DAYS_AGO:30", lambda r: r("CloseDate") == day(-30)),
    Case("SELECT Id FROM Opportunity WHERE CloseDate < 2024-06-01", lambda r: lt(r("CloseDate"), date(2024, 6, 1))),
    Case("SELECT Id FROM Opportunity WHERE CloseDate > TOMORROW", lambda r: ge(r("CloseDate"), day(2))),
    Case(
        "SELECT Id FROM Opportunity WHERE CloseDate >= YESTERDAY AND CloseDate <= TOMORROW",
        lambda r: within(r("CloseDate"), day(-1), day(2)),
    ),
    Case(
        "SELECT Id FROM User WHERE IsActive = true ORDER BY LastName DESC",
        lambda r: r("IsActive") is True,
        order=(desc("LastName"),),
    ),
    Case(
        "SELECT Id FROM User WHERE Manager.Manager.Name = 'Alice Admin'",
        lambda r: eq(r("Manager.Manager.Name"), "Alice Admin"),
    ),
    Case("SELECT Id FROM User WHERE LastLoginDate = null", lambda r: r("LastLoginDate") is None),
    # -- COUNT()
    Case("SELECT COUNT() FROM Lead"),
    Case("SELECT COUNT() FROM Lead WHERE Company = 'acme'", lambda r: eq(r("Company"), "acme")),
    Case("SELECT COUNT() FROM Lead", include_deleted=True),
    Case("SELECT COUNT() FROM Lead WHERE Email != null LIMIT 3", lambda r: r("Email") is not None, limit=3),
    Case("select count() from Contact where Account.Name = null", lambda r: r("Account.Name") is None),
]


def test_table_is_big_and_varied() -> None:
    assert len(CASES) >= 40
    sizes = {len(reference_ids(DATA, c)) for c in CASES}
    assert len(sizes) > 10


@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_query_matches_reference(db: sqlite3.Connection, case: Case) -> None:
    expected = reference_ids(DATA, case)
    unfiltered = reference_ids(DATA, Case(f"SELECT Id FROM {case.obj}", include_deleted=case.include_deleted))
    if not case.empty_ok:
        assert expected, f"reference selects nothing: {case.soql}"
    if case.where is not everything and not case.empty_ok:
        assert len(expected) < len(unfiltered), f"filter selects everything: {case.soql}"

    cq = compile_soql(case.soql, include_deleted=case.include_deleted, now=NOW)
    count_sql, count_params = cq.count_sql()
    assert db.execute(count_sql, count_params).fetchone()[0] == len(expected)
    if cq.count_only:
        assert cq.columns == []
        return
    sql, params = cq.sql()
    got = [str(cq.to_record(row, BASE)["Id"]) for row in db.execute(sql, params)]
    if case.order:
        assert got == expected
    else:
        assert sorted(got) == sorted(expected)


def test_compiled_shape() -> None:
    cq = compile_soql("SELECT Name, Owner.Name FROM Lead WHERE Email = 'a@b.c' ORDER BY Name", now=NOW)
    assert cq.select_sql.startswith("t0.rowid")
    assert cq.where_sql.startswith('t0."IsDeleted" = 0')
    assert cq.params == ["a@b.c"]
    assert cq.from_sql == 'FROM "Lead" AS t0 LEFT JOIN "User" AS t1 ON t1."Id" = t0."OwnerId"'
    assert cq.order_sql == 'ORDER BY t0."Name" ASC NULLS FIRST, t0.rowid'
    assert [c.path for c in cq.columns] == [("Name",), ("Owner", "Name")]
    assert (cq.limit, cq.offset) == (None, None)
    assert "IsDeleted" not in compile_soql("SELECT Id FROM Lead", include_deleted=True, now=NOW).where_sql
    assert compile_soql("SELECT Id FROM User", now=NOW).where_sql == "1"
    assert compile_soql("SELECT Id FROM Lead", now=NOW).order_sql == ""


def test_compile_is_cheap() -> None:
    soql = (
        "SELECT Id, Name, Owner.Name, Email, CreatedDate FROM Lead WHERE AI_Generated__c = true AND "
        "CreatedDate < 2025-01-01T00:00:00Z AND Status IN ('a', 'b') ORDER BY SystemModstamp, Id LIMIT 2000"
    )
    start = time.perf_counter()
    for _ in range(100):
        compile_soql(soql, now=NOW)
    assert (time.perf_counter() - start) / 100 < 0.005  # generous: typically well under 1 ms


# =========================================================================================================
# Record and CSV shapes


def test_to_record_shape(db: sqlite3.Connection) -> None:
    soql = (
        f"select name, ID, owner.NAME, IsConverted, createddate, AnnualRevenue, NumberOfEmployees, "
        f"Owner.Manager.Name, AI_Generated_At__c from LEAD where id = '{lid(3)}'"
    )
    (rec,) = run(db, soql)
    assert rec == {
        "attributes": {"type": "Lead", "url": f"{BASE}/sobjects/Lead/{lid(3)}"},
        "Name": "Cleo Brown",
        "Id": lid(3),
        "Owner": {
            "attributes": {"type": "User", "url": f"{BASE}/sobjects/User/{uid(1)}"},
            "Name": "Alice Admin",
            "Manager": None,
        },
        "IsConverted": True,
        "CreatedDate": "2024-06-14T23:59:59.999+0000",
        "AnnualRevenue": 500000.5,
        "NumberOfEmployees": 200,
        "AI_Generated_At__c": "2024-06-01T00:00:00.000+0000",
    }
    assert list(rec) == [
        "attributes",
        "Name",
        "Id",
        "Owner",
        "IsConverted",
        "CreatedDate",
        "AnnualRevenue",
        "NumberOfEmployees",
        "AI_Generated_At__c",
    ]
    assert isinstance(rec["NumberOfEmployees"], int)


def test_hidden_id_for_attributes_url(db: sqlite3.Connection) -> None:
    (rec,) = run(db, f"SELECT Email FROM Lead WHERE Id = '{lid(1)}'")
    assert rec == {"attributes": {"type": "Lead", "url": f"{BASE}/sobjects/Lead/{lid(1)}"}, "Email": "ann@acme.com"}


def test_null_parents_in_records(db: sqlite3.Connection) -> None:
    recs = run(db, "SELECT Id, Account.Name, Account.Owner.Name, Account.Owner.IsActive FROM Contact ORDER BY LastName")
    by_id = {r["Id"]: r for r in recs}
    assert by_id[cid(2)]["Account"] is None  # no account
    orphan = by_id[cid(6)]["Account"]  # account whose owner does not exist
    assert orphan == {
        "attributes": {"type": "Account", "url": f"{BASE}/sobjects/Account/{aid(6)}"},
        "Name": "O'Reilly Media",
        "Owner": None,
    }
    assert by_id[cid(3)]["Account"]["Owner"] == {  # type: ignore[index]
        "attributes": {"type": "User", "url": f"{BASE}/sobjects/User/{uid(3)}"},
        "Name": "Carol O'Neil",
        "IsActive": False,
    }


def test_blob_fields_are_urls(db: sqlite3.Connection) -> None:
    recs = run(db, "SELECT Id, Title, VersionData, IsLatest FROM ContentVersion ORDER BY Title DESC")
    cv1, cv2 = make_id("068", 1), make_id("068", 2)
    assert recs == [
        {
            "attributes": {"type": "ContentVersion", "url": f"{BASE}/sobjects/ContentVersion/{cv1}"},
            "Id": cv1,
            "Title": "Logo",
            "VersionData": f"{BASE}/sobjects/ContentVersion/{cv1}/VersionData",
            "IsLatest": True,
        },
        {
            "attributes": {"type": "ContentVersion", "url": f"{BASE}/sobjects/ContentVersion/{cv2}"},
            "Id": cv2,
            "Title": "Empty",
            "VersionData": None,
            "IsLatest": False,
        },
    ]
    cq = compile_soql("SELECT Id, VersionData FROM ContentVersion", now=NOW)
    with pytest.raises(SoqlError) as err:
        cq.csv_header()
    assert err.value.code == "INVALID_FIELD"


def test_tooling_query(db: sqlite3.Connection) -> None:
    soql = (
        "SELECT Id, SubscriberPackageId, SubscriberPackage.NamespacePrefix, SubscriberPackageVersion.Id, "
        "SubscriberPackageVersion.Name, SubscriberPackageVersion.MajorVersion FROM InstalledSubscriberPackage"
    )
    base = f"{BASE}/tooling"
    cq = compile_soql(soql, tooling=True, now=NOW)
    rows = db.execute(*cq.sql()).fetchall()
    recs = [cq.to_record(r, base) for r in rows]
    assert recs[0]["SubscriberPackageVersion"] == {
        "attributes": {
            "type": "SubscriberPackageVersion",
            "url": f"{base}/sobjects/SubscriberPackageVersion/{make_id('04t', 1)}",
        },
        "Id": make_id("04t", 1),
        "Name": "Winter 24",
        "MajorVersion": 2,
    }
    assert recs[0]["SubscriberPackage"]["NamespacePrefix"] == "ein"  # type: ignore[index]
    assert recs[1]["SubscriberPackageVersion"] is None
    with pytest.raises(SoqlError) as err:
        compile_soql(soql, now=NOW)
    assert err.value.code == "INVALID_TYPE"
    with pytest.raises(SoqlError) as err:
        compile_soql("SELECT Id FROM Lead", tooling=True, now=NOW)
    assert err.value.code == "INVALID_TYPE"


def test_csv_header_and_rows(db: sqlite3.Connection) -> None:
    cq = compile_soql(
        "SELECT Id, Account.Name, Account.Owner.Name, HasOptedOutOfEmail, CreatedDate, Account.AnnualRevenue "
        "FROM Contact ORDER BY FirstName",
        now=NOW,
    )
    assert cq.csv_header() == [
        "Id",
        "Account.Name",
        "Account.Owner.Name",
        "HasOptedOutOfEmail",
        "CreatedDate",
        "Account.AnnualRevenue",
    ]
    rows = {r[0]: r for r in (cq.to_csv_row(row) for row in db.execute(*cq.sql()))}
    assert rows[cid(2)] == [cid(2), "", "", "true", "2024-01-01T00:00:00.000Z", ""]
    assert rows[cid(6)] == [cid(6), "O'Reilly Media", "", "false", "2024-01-01T00:00:00.000Z", ""]
    assert rows[cid(7)] == [cid(7), "acme corp", "bob builder", "false", "2024-01-01T00:00:00.000Z", "250000.5"]
    assert rows[cid(1)][-1] == "1000000.0"


def test_to_record_is_fast_enough(db: sqlite3.Connection) -> None:
    cq = compile_soql(
        "SELECT Id, Name, Email, IsConverted, CreatedDate, AnnualRevenue, NumberOfEmployees, Owner.Name, "
        "Owner.Manager.Name FROM Lead",
        now=NOW,
    )
    rows = db.execute(*cq.sql()).fetchall() * (2000 // len(LEADS) + 1)
    start = time.perf_counter()
    for row in rows[:2000]:
        cq.to_record(row, BASE)
    assert time.perf_counter() - start < 0.25  # the budget is 50 ms per page; this leaves room for slow CI


# =========================================================================================================
# Rejected statements


MALFORMED = [
    "SELECT Id FROM Lead GROUP BY Status",
    "SELECT Status, COUNT(Id) FROM Lead GROUP BY Status",
    "SELECT COUNT(Id) FROM Lead",
    "SELECT MAX(AnnualRevenue) FROM Lead",
    "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
    "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)",
    "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
    "SELECT Id FROM Lead FOR UPDATE",
    "SELECT Id FROM Lead FOR VIEW",
    "SELECT Id FROM Lead FOR REFERENCE",
    "SELECT Id FROM Lead WITH SECURITY_ENFORCED",
    "SELECT Id FROM Lead WITH DATA CATEGORY Geography__c AT asia__c",
    "SELECT Id FROM Lead USING SCOPE mine",
    "SELECT FIELDS(ALL) FROM Lead LIMIT 200",
    "SELECT Id FROM Lead WHERE Status INCLUDES ('a')",
    "SELECT Id FROM Lead WHERE Status EXCLUDES ('a')",
    "SELECT Id FROM Lead WHERE CALENDAR_YEAR(CreatedDate) = 2024",
    "SELECT Id FROM Lead WHERE Status = 'x' AND Company = 'y' OR Email = null",
    "SELECT Id FROM Lead WHERE Status = 'x' OR Company = 'y' AND Email = null",
    "SELECT Id FROM Lead HAVING COUNT(Id) > 1",
    "SELECT Id FROM Lead LIMIT 5 garbage",
    "SELECT Id FROM Lead WHERE Status = 'x' garbage",
    "SELECT Id Lead",
    "SELECT Id",
    "SELECT FROM Lead",
    "SELECT Id, FROM Lead",
    "SELECT Id FROM",
    "SELECT Id FROM Lead, Contact",
    "SELECT Id FROM Lead WHERE",
    "SELECT Id FROM Lead WHERE Name ~ 'x'",
    "SELECT Id FROM Lead WHERE Name == 'x'",
    "SELECT Id FROM Lead WHERE Name = 'unterminated",
    r"SELECT Id FROM Lead WHERE Name = 'bad \q escape'",
    'SELECT Id FROM Lead WHERE Name = "double quoted"',
    "SELECT Id FROM Lead WHERE Name = :name",
    "SELECT Id FROM Lead WHERE Name = x",
    "SELECT Id FROM Lead WHERE Name NOT LIKE 'x%'",
    "SELECT Id FROM Lead WHERE Name LIKE 5",
    "SELECT Id FROM Lead WHERE Name IN ()",
    "SELECT Id FROM Lead WHERE (Name = 'x'",
    "SELECT Id FROM Lead WHERE Name = 'x')",
    "SELECT Id FROM Lead ORDER BY",
    "SELECT Id FROM Lead ORDER BY Name NULLS",
    "SELECT Id FROM Lead ORDER BY Name LIMIT 5 OFFSET",
    "SELECT Id FROM Lead OFFSET 5 LIMIT 2",
    "SELECT Id FROM Lead LIMIT -1",
    "SELECT Id FROM Lead LIMIT 1.5",
    "SELECT Id FROM Lead WHERE NumberOfEmployees > 5 + 1",
    "SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01T00:00:00",
    "SELECT Id FROM Lead WHERE CreatedDate > 2024-13-01T00:00:00Z",
    "SELECT Id FROM Lead WHERE CreatedDate > LAST_WEEK",
    "SELECT Id FROM Lead WHERE CreatedDate > LAST_N_DAYS",
    "SELECT Id FROM Lead WHERE CreatedDate > LAST_N_DAYS:-3",
    "SELECT Id FROM Lead WHERE Email < null",
    "SELECT Id, Id FROM Lead",
    "SELECT Name, owner.name, Owner.Name FROM Lead",
    "SELECT Id FROM Lead ORDER BY Name, MAX(Id)",
    "SELECT Id FROM Lead WHERE Owner.Manager.Manager.Manager.Manager.Manager.Name = 'x'",
    "",
    "   ",
    "DELETE FROM Lead",
    "SELECT Id FROM Lead;",
    "SELECT Id FROM Lead WHERE " + "NOT " * 500 + "Name = 'x'",
    "SELECT Id FROM Lead WHERE " + "(" * 500 + "Name = 'x'" + ")" * 500,
    "SELECT Id FROM Lead WHERE Id IN (" + ", ".join(["'00Q5g0000000003'"] * 6000) + ")",
]


@pytest.mark.parametrize("soql", MALFORMED, ids=[s[:60] for s in MALFORMED])
def test_malformed(soql: str) -> None:
    with pytest.raises(SoqlError) as err:
        compile_soql(soql, now=NOW)
    assert err.value.code == "MALFORMED_QUERY", err.value.message
    assert "ERROR at Row:1:Column:" in err.value.message


INVALID = [
    ("SELECT Id, Foo__c FROM Lead", "INVALID_FIELD", "No such column 'Foo__c' on entity 'Lead'"),
    ("SELECT Id FROM Lead WHERE Foo = 'x'", "INVALID_FIELD", "No such column 'Foo'"),
    ("SELECT Id FROM Lead ORDER BY Foo", "INVALID_FIELD", "No such column 'Foo'"),
    ("SELECT Owner FROM Lead", "INVALID_FIELD", "No such column 'Owner'"),
    ("SELECT Owner.Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'User'"),
    ("SELECT Foo.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Foo'"),
    ("SELECT Name.First FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Name'"),
    ("SELECT Who.Name FROM Task", "INVALID_FIELD", "Didn't understand relationship 'Who'"),
    (
        "SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01T00:00:00Z'",
        "INVALID_FIELD",
        "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in "
        "quotes",
    ),
    ("SELECT Id FROM Lead WHERE Company = 2024-01-01T00:00:00Z", "INVALID_FIELD", "must be of type string"),
    ("SELECT Id FROM Lead WHERE Company = 5", "INVALID_FIELD", "should be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE Company IN ('a', 5)", "INVALID_FIELD", "must be of type string"),
    ("SELECT Id FROM Lead WHERE IsConverted = 1", "INVALID_FIELD", "must be of type boolean"),
    ("SELECT Id FROM Lead WHERE IsConverted = 'true'", "INVALID_FIELD", "must be of type boolean"),
    ("SELECT Id FROM Lead WHERE IsConverted > false", "INVALID_FIELD", "invalid operator"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees LIKE '1%'", "INVALID_FIELD", "LIKE"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees = '1'", "INVALID_FIELD", "must be of type integer"),
    ("SELECT Id FROM Lead WHERE AnnualRevenue = true", "INVALID_FIELD", "must be of type double"),
    ("SELECT Id FROM Lead WHERE CreatedDate = 2024-01-01", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Lead WHERE CreatedDate = 5", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = 2024-01-01T00:00:00Z", "INVALID_FIELD", "must be of type date"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-01'", "INVALID_FIELD", "should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE Company = TODAY", "INVALID_FIELD", "must be of type string"),
    ("SELECT Id FROM Task WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
    ("SELECT Id FROM Task ORDER BY Description", "INVALID_FIELD", "can not be sorted"),
    ("SELECT Id FROM ContentVersion WHERE VersionData != null", "INVALID_FIELD", "can not be filtered"),
    ("SELECT Id FROM Lead WHERE OwnerId = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field"),
    ("SELECT Id FROM Foo__c", "INVALID_TYPE", "sObject type 'Foo__c' is not supported"),
    ("SELECT Id FROM InstalledSubscriberPackage", "INVALID_TYPE", "sObject type"),
]


@pytest.mark.parametrize(("soql", "code", "fragment"), INVALID)
def test_invalid(soql: str, code: str, fragment: str) -> None:
    with pytest.raises(SoqlError) as err:
        compile_soql(soql, now=NOW)
    assert err.value.code == code
    assert fragment in err.value.message


def test_invalid_field_message_matches_salesforce() -> None:
    with pytest.raises(SoqlError) as err:
        compile_soql("SELECT Id, Foo__c FROM Lead", now=NOW)
    assert err.value.message == (
        "\nSELECT Id, Foo__c FROM Lead\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo__c' on entity 'Lead'. If you are attempting to use a custom field, be sure to append "
        "the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )


def test_error_position_on_later_lines() -> None:
    with pytest.raises(SoqlError) as err:
        compile_soql("SELECT Id\nFROM Lead\nWHERE  Bogus = 1", now=NOW)
    assert err.value.message.startswith("\nWHERE  Bogus = 1\n       ^\nERROR at Row:3:Column:8\n")


def test_syntax_errors_win_over_unknown_names() -> None:
    # Salesforce parses the whole statement before it resolves names.
    with pytest.raises(SoqlError) as err:
        compile_soql("SELECT Foo FROM Nope GROUP BY Foo", now=NOW)
    assert err.value.code == "MALFORMED_QUERY"
