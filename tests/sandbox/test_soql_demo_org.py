"""SOQL against the seeded demo org over HTTPS, checked against the plain-Python reference (soql_reference).

A module-scoped fixture reseeds the demo org once and reads every record of the objects used through the API
(queryAll, so the Recycle Bin too); nothing is written after that. Each supported statement is a Case whose
meaning is written by hand; the Ids the org returns through REST (and, for a few, Bulk API 2.0) must be exactly
the Ids the reference computes from the loaded records, and the selected values must match them too. Each
unsupported statement must be refused with Salesforce's error code, never answered with a looser query.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from synthgov_sandbox.demo.seed import ANCHOR
from synthgov_sandbox.engine.schema import catalogue
from synthgov_sandbox.process import SandboxProcess
from tests.sandbox.soql_reference import (
    Case,
    Dataset,
    Record,
    View,
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

pytestmark = pytest.mark.integration

# Every object a statement below reads, directly or through a parent relationship.
OBJECTS = (
    "User",
    "PermissionSet",
    "PermissionSetAssignment",
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Task",
    "EmailMessage",
    "ContentVersion",
    "AI_Content_Provenance__c",
)
DOMAIN = "demo-org.sandbox"
AI_BOTS = (f"genai-outreach@{DOMAIN}", f"einstein-bot@{DOMAIN}")
APPROVED_AI_USERS = (f"compliance.officer@{DOMAIN}", f"marketing.lead@{DOMAIN}", f"admin@{DOMAIN}")
AI_PERMISSION_SETS = ("Einstein_Generative_AI", "Synthetic_Data_Generator", "DeepStudio_Media_Generation")
PAGE_200 = {"Sforce-Query-Options": "batchSize=200"}
# Fields besides Id whose values are unique per object, so that ORDER BY ending in one fixes the order.
UNIQUE_KEYS = {"User": "Username", "ContentVersion": "Title", "AI_Content_Provenance__c": "Name"}


# =========================================================================================================
# The org clock: date literals (TODAY, LAST_N_DAYS:n, ...) are evaluated against its UTC date.


@dataclass
class OrgClock:
    today: date


CLOCK = OrgClock(ANCHOR.date())  # the fixture sets it from GET /__sandbox__/clock before any statement runs


def day(offset: int) -> date:
    """The date `offset` days from the org's today (for date fields)."""
    return CLOCK.today + timedelta(days=offset)


def midnight(offset: int) -> datetime:
    """Midnight UTC starting the day `offset` days from the org's today (for dateTime fields)."""
    return datetime.combine(day(offset), dtime(), UTC)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# =========================================================================================================
# Loading the seeded data through the API


@dataclass(frozen=True)
class Demo:
    sf: Any  # simple-salesforce: its `sf.<Object>` attributes are dynamic
    data: Dataset
    now: datetime


def to_python(field_type: str, value: object) -> object:
    """A REST JSON value as the reference's Dataset holds it."""
    if value is None:
        return None
    if field_type == "datetime":
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%f%z")
    if field_type == "date":
        return date.fromisoformat(str(value))
    return value


def load(sf: Any, obj: str) -> list[Record]:
    """Every record of `obj`, deleted ones included, in Id order (the seeded org's insertion order)."""
    types = {f["name"]: f["type"] for f in getattr(sf, obj).describe()["fields"] if f["type"] != "base64"}
    expected = {f.name for f in catalogue()[obj.lower()].fields if f.type != "base64"}
    assert set(types) == expected, f"describe of {obj} disagrees with the catalogue"
    result = sf.query_all(f"SELECT {', '.join(types)} FROM {obj} ORDER BY Id", include_deleted=True)
    records = [{name: to_python(t, rec[name]) for name, t in types.items()} for rec in result["records"]]
    assert records, f"the demo org has no {obj} records"
    return records


@pytest.fixture(scope="module")
def demo(demo_org: SandboxProcess) -> Iterator[Demo]:
    """The demo org reseeded once for this module, then only read; its records as the reference's Dataset."""
    demo_org.control("DELETE", "faults")
    demo_org.control("POST", "seed", {"profile": "demo", "scale": 1, "seed": 42})
    token = demo_org.token(fresh=True)  # a reseed ends every session
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
        sf = Salesforce(instance_url=demo_org.instance_url, session_id=token, version="59.0")
        data = {obj: load(sf, obj) for obj in OBJECTS}
        now = datetime.strptime(demo_org.control("GET", "clock")["now"], "%Y-%m-%dT%H:%M:%S.%f%z")
        # The windows below were chosen for the seed's clock; the org clock runs from it in real time.
        assert timedelta(0) <= now - ANCHOR < timedelta(hours=1), now
        CLOCK.today = now.astimezone(UTC).date()
        yield Demo(sf, data, now)


# =========================================================================================================
# Comparing a statement with the reference


def is_count(case: Case) -> bool:
    return re.match(r"\s*SELECT\s+COUNT\(\s*\)", case.soql, re.IGNORECASE) is not None


def fully_ordered(case: Case) -> bool:
    """Whether ORDER BY alone fixes the order (its last key is unique); otherwise Ids are compared as sets."""
    if not case.order:
        return False
    last = case.order[-1][0]
    return last.lower() == "id" or last == UNIQUE_KEYS.get(case.obj)


def visible(data: Dataset, case: Case) -> int:
    """How many rows the statement's object has for query (live rows) or queryAll (all rows)."""
    recs = data[catalogue()[case.obj.lower()].name]
    return sum(1 for r in recs if case.include_deleted or not r.get("IsDeleted"))


def selected_paths(soql: str) -> list[str]:
    """The field paths of the SELECT list, with a FROM alias stripped ("l.Owner.Name" -> "Owner.Name")."""
    m = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s+\w+(?:\s+(?!(?:WHERE|ORDER|LIMIT|OFFSET)\b)(\w+))?", soql, re.I | re.S)
    assert m, soql
    alias = (m.group(2) or "").lower()
    paths = []
    for item in m.group(1).split(","):
        parts = item.strip().split(".")
        if alias and len(parts) > 1 and parts[0].lower() == alias:
            parts = parts[1:]
        paths.append(".".join(parts))
    return paths


def leaf_type(obj_name: str, path: str) -> str:
    obj = catalogue()[obj_name.lower()]
    *rels, name = path.split(".")
    for rel in rels:
        obj = catalogue()[obj.relationships[rel.lower()].reference_to[0].lower()]
    f = obj.field(name)
    assert f is not None, path
    return f.type


def json_value(record: dict[str, Any], path: str) -> object:
    """The value at `path` in a REST record; a missing parent must be present as null."""
    node: object = record
    for part in path.split("."):
        if node is None:
            return None
        assert isinstance(node, dict), (path, node)
        keys = [k for k in node if k.lower() == part.lower()]
        assert len(keys) == 1, f"{path}: no key {part!r} in {sorted(node)}"
        node = node[keys[0]]
    return node


def assert_values(data: Dataset, case: Case, records: list[dict[str, Any]]) -> None:
    """Each selected value (parents included) is the seeded record's, and null past a missing parent."""
    obj = catalogue()[case.obj.lower()]
    index = {name: {str(r["Id"]): r for r in recs} for name, recs in data.items()}
    paths = selected_paths(case.soql)
    for rec in records:
        view = View(index, obj, index[obj.name][rec["Id"]])
        for path in paths:
            got = to_python(leaf_type(obj.name, path), json_value(rec, path))
            assert got == view(path), f"{rec['Id']}.{path}: {got!r} != {view(path)!r}"


def assert_ids(case: Case, got: list[str], expected: list[str]) -> None:
    assert len(got) == len(set(got)), "a row came back twice"
    if fully_ordered(case):
        assert got == expected
    else:
        assert sorted(got) == sorted(expected)


def error_code(err: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> str:
    content: Any = err.value.content
    return str(content[0]["errorCode"])


# =========================================================================================================
# Supported statements: what each one means over the seeded records

_MKT, _REP2 = f"marketing.lead@{DOMAIN}", f"rep2@{DOMAIN}"
_OPEN, _WORKING, _CLOSED = "Open - Not Contacted", "Working - Contacted", "Closed - Not Converted"


def _unapproved_ai_grant(v: View) -> bool:
    return isin(v("PermissionSet.Name"), *AI_PERMISSION_SETS) and not isin(v("Assignee.Username"), *APPROVED_AI_USERS)


CASES: dict[str, Case] = {
    # -- Lead: provenance flags, synthetic personas and retention
    "lead-ai-generated": Case(
        "SELECT Id, Name, AI_Tool__c, AI_Generated_At__c FROM Lead WHERE AI_Generated__c = true",
        where=lambda v: eq(v("AI_Generated__c"), True),
    ),
    "lead-generated-before-datetime": Case(
        "SELECT Id, AI_Generated_At__c FROM Lead WHERE AI_Generated_At__c < 2026-06-01T00:00:00Z "
        "ORDER BY AI_Generated_At__c, Id",
        where=lambda v: lt(v("AI_Generated_At__c"), dt("2026-06-01T00:00:00Z")),
        order=(asc("AI_Generated_At__c"), asc("Id")),
    ),
    "lead-generated-between-offset-datetimes": Case(
        "SELECT Id FROM Lead WHERE AI_Generated_At__c >= 2026-03-01T12:00:00.500+02:00 "
        "AND AI_Generated_At__c <= 2026-08-15T18:30:00-0400",
        where=lambda v: (
            ge(v("AI_Generated_At__c"), dt("2026-03-01T10:00:00.500Z"))
            and le(v("AI_Generated_At__c"), dt("2026-08-15T22:30:00Z"))
        ),
    ),
    "lead-synthetic-retention-90d": Case(
        "SELECT Id, Name, AI_Generated_At__c FROM Lead WHERE Synthetic_Persona__c = true "
        "AND AI_Generated_At__c < LAST_N_DAYS:90 AND Legal_Hold__c = false",
        where=lambda v: (
            eq(v("Synthetic_Persona__c"), True)
            and lt(v("AI_Generated_At__c"), midnight(-90))
            and eq(v("Legal_Hold__c"), False)
        ),
    ),
    "lead-synthetic-in-open-pipeline": Case(
        "SELECT Id, Status, Owner.Username FROM Lead WHERE Synthetic_Persona__c = true "
        "AND Status IN ('Open - Not Contacted', 'Working - Contacted')",
        where=lambda v: eq(v("Synthetic_Persona__c"), True) and isin(v("Status"), _OPEN, _WORKING),
    ),
    "lead-created-last-30-days": Case(
        "SELECT Id, CreatedDate FROM Lead WHERE CreatedDate = LAST_N_DAYS:30 ORDER BY CreatedDate DESC, Id",
        where=lambda v: within(v("CreatedDate"), midnight(-30), midnight(1)),
        order=(desc("CreatedDate"), asc("Id")),
    ),
    "lead-created-after-45-days-ago": Case(
        "SELECT Id FROM Lead WHERE CreatedDate > N_DAYS_AGO:45 AND AI_Generated__c = false",
        where=lambda v: ge(v("CreatedDate"), midnight(-44)) and eq(v("AI_Generated__c"), False),
    ),
    "lead-created-outside-last-400-days": Case(
        "SELECT Id FROM Lead WHERE CreatedDate != LAST_N_DAYS:400",
        where=lambda v: not within(v("CreatedDate"), midnight(-400), midnight(1)),
    ),
    "lead-modified-today": Case(
        "SELECT Id, LastModifiedDate FROM Lead WHERE LastModifiedDate = TODAY",
        where=lambda v: within(v("LastModifiedDate"), midnight(0), midnight(1)),
    ),
    # -- Lead: scores and automated decisions (GDPR Art. 22)
    "lead-score-range": Case(
        "SELECT Id, Lead_Score__c FROM Lead WHERE Lead_Score__c >= 70 AND Lead_Score__c < 80.5 "
        "ORDER BY Lead_Score__c DESC, Id",
        where=lambda v: ge(v("Lead_Score__c"), 70) and lt(v("Lead_Score__c"), 80.5),
        order=(desc("Lead_Score__c"), asc("Id")),
    ),
    "lead-score-in-list": Case(
        "SELECT Id, Lead_Score__c FROM Lead WHERE Lead_Score__c IN (53.2, 59.9, 44.1, 74, null) "
        "AND Industry != 'Retail'",
        where=lambda v: isin(v("Lead_Score__c"), 53.2, 59.9, 44.1, 74, None) and ne(v("Industry"), "Retail"),
    ),
    "lead-automated-decision-unreviewed": Case(
        "SELECT Id, Status, Lead_Score__c FROM Lead WHERE Score_Automated_Decision__c = true "
        "AND Human_Reviewed__c = false",
        where=lambda v: eq(v("Score_Automated_Decision__c"), True) and eq(v("Human_Reviewed__c"), False),
    ),
    "lead-automated-decision-nested": Case(
        "SELECT Id FROM Lead WHERE Score_Automated_Decision__c = TRUE AND "
        "(Human_Reviewed__c = true OR (Status != 'Closed - Not Converted' AND Lead_Score__c > 40))",
        where=lambda v: (
            eq(v("Score_Automated_Decision__c"), True)
            and (eq(v("Human_Reviewed__c"), True) or (ne(v("Status"), _CLOSED) and gt(v("Lead_Score__c"), 40)))
        ),
    ),
    "lead-unscored": Case(
        "SELECT Id, Lead_Score__c, Score_Model__c FROM Lead WHERE Lead_Score__c = null AND Score_Model__c = null",
        where=lambda v: eq(v("Lead_Score__c"), None) and eq(v("Score_Model__c"), None),
    ),
    "lead-score-model-not-empty-string": Case(
        # '' means null on text fields: != '' keeps only rows with a value.
        "SELECT Id FROM Lead WHERE Score_Model__c != '' AND Industry = 'Energy'",
        where=lambda v: ne(v("Score_Model__c"), None) and eq(v("Industry"), "Energy"),
    ),
    "lead-generated-at-not-null": Case(
        "SELECT Id FROM Lead WHERE AI_Generated_At__c != null AND Owner.Username = 'rep2@demo-org.sandbox'",
        where=lambda v: ne(v("AI_Generated_At__c"), None) and eq(v("Owner.Username"), _REP2),
    ),
    # -- Lead: text matching, quotes and escapes
    "lead-obrien-equals-escaped-quote": Case(
        "SELECT Id, Name, LastName FROM Lead WHERE LastName = 'O\\'Brien'",
        where=lambda v: eq(v("LastName"), "O'Brien"),
    ),
    "lead-obrien-unicode-escape-case-insensitive": Case(
        "SELECT Id FROM Lead WHERE LastName = 'o\\u0027BRIEN' AND Status = 'closed - not converted'",
        where=lambda v: eq(v("LastName"), "O'Brien") and eq(v("Status"), _CLOSED),
    ),
    "lead-name-like-quote-and-underscore": Case(
        "SELECT Id, Name FROM Lead WHERE Name LIKE '%O\\'Bri_n' AND FirstName LIKE '_a%'",
        where=lambda v: like(v("Name"), "%O\\'Bri_n") and like(v("FirstName"), "_a%"),
    ),
    "lead-lastname-like-wildcard-for-quote": Case(
        "SELECT Id FROM Lead WHERE LastName LIKE 'o_brien' ORDER BY FirstName, Id",
        where=lambda v: like(v("LastName"), "o_brien"),
        order=(asc("FirstName"), asc("Id")),
    ),
    # -- Lead: picklists, NOT, IN / NOT IN
    "lead-status-in-case-insensitive": Case(
        "SELECT Id FROM Lead WHERE Status IN ('open - not contacted', 'WORKING - CONTACTED') AND LeadSource = 'web'",
        where=lambda v: isin(v("Status"), _OPEN, _WORKING) and eq(v("LeadSource"), "Web"),
    ),
    "lead-source-not-in": Case(
        "SELECT Id, LeadSource FROM Lead WHERE LeadSource NOT IN ('Web', 'Phone Inquiry', 'Synthetic Demo')",
        where=lambda v: not isin(v("LeadSource"), "Web", "Phone Inquiry", "Synthetic Demo"),
    ),
    "lead-not-of-or": Case(
        "SELECT Id FROM Lead WHERE NOT (Status = 'Closed - Not Converted' OR LeadSource = 'Web') "
        "AND Country <> 'Germany'",
        where=lambda v: not (eq(v("Status"), _CLOSED) or eq(v("LeadSource"), "Web")) and ne(v("Country"), "Germany"),
    ),
    "lead-owner-15-char-id": Case(
        # rep2@demo-org.sandbox, written as a 15-character id (the org widens it to 18).
        "SELECT Id, OwnerId, Owner.Username FROM Lead WHERE OwnerId = '0055g0000000007' AND Industry = 'Retail'",
        where=lambda v: eq(v("Owner.Username"), _REP2) and eq(v("Industry"), "Retail"),
    ),
    # -- Lead: parents, ORDER BY, LIMIT / OFFSET
    "lead-owner-username-in-ordered": Case(
        "SELECT Id, Owner.Username, Owner.Name FROM Lead WHERE Owner.Username IN "
        "('marketing.lead@demo-org.sandbox', 'REP2@demo-org.sandbox') AND Synthetic_Persona__c = true "
        "ORDER BY Owner.Username DESC, Lead_Score__c DESC, Id",
        where=lambda v: isin(v("Owner.Username"), _MKT, _REP2) and eq(v("Synthetic_Persona__c"), True),
        order=(desc("Owner.Username"), desc("Lead_Score__c"), asc("Id")),
    ),
    "lead-owner-title-multi-key": Case(
        "SELECT Id, Name, Owner.Name FROM Lead WHERE Owner.Title = 'Head of Marketing' "
        "ORDER BY Owner.Name, LastName DESC, FirstName, Id",
        where=lambda v: eq(v("Owner.Title"), "Head of Marketing"),
        order=(asc("Owner.Name"), desc("LastName"), asc("FirstName"), asc("Id")),
    ),
    "lead-score-nulls-last": Case(
        "SELECT Id, Lead_Score__c FROM Lead WHERE Industry = 'Technology' ORDER BY Lead_Score__c ASC NULLS LAST, Id",
        where=lambda v: eq(v("Industry"), "Technology"),
        order=(asc("Lead_Score__c", nulls_first=False), asc("Id")),
    ),
    "lead-score-desc-nulls-first": Case(
        "SELECT Id, Lead_Score__c FROM Lead WHERE Country = 'Ireland' ORDER BY Lead_Score__c DESC NULLS FIRST, Id",
        where=lambda v: eq(v("Country"), "Ireland"),
        order=(desc("Lead_Score__c", nulls_first=True), asc("Id")),
    ),
    "lead-generated-at-default-nulls-limit": Case(
        "SELECT Id, AI_Generated_At__c FROM Lead ORDER BY AI_Generated_At__c DESC, Id LIMIT 50",
        order=(desc("AI_Generated_At__c"), asc("Id")),
        limit=50,
    ),
    "lead-top-scores-limit-offset": Case(
        "SELECT Id, Name, Lead_Score__c FROM Lead WHERE Synthetic_Persona__c = false "
        "ORDER BY Lead_Score__c DESC NULLS LAST, Id LIMIT 10 OFFSET 5",
        where=lambda v: eq(v("Synthetic_Persona__c"), False),
        order=(desc("Lead_Score__c", nulls_first=False), asc("Id")),
        limit=10,
        offset=5,
    ),
    "lead-id-order-offset": Case(
        "SELECT Id FROM Lead ORDER BY Id LIMIT 40 OFFSET 590",
        order=(asc("Id"),),
        limit=40,
        offset=590,
    ),
    "lead-keywords-and-fields-any-case": Case(
        "select ID, name, OWNER.username from LEAD where status = 'WORKING - contacted' "
        "and ai_generated__C = TRUE order by NAME desc, id asc",
        where=lambda v: eq(v("Status"), _WORKING) and eq(v("AI_Generated__c"), True),
        order=(desc("Name"), asc("Id")),
    ),
    "lead-alias": Case(
        "SELECT l.Id, l.Owner.Username FROM Lead l WHERE l.Synthetic_Persona__c = true "
        "AND l.Status <> 'Closed - Not Converted'",
        where=lambda v: eq(v("Synthetic_Persona__c"), True) and ne(v("Status"), _CLOSED),
    ),
    "lead-multi-page-ordered": Case(
        "SELECT Id, Lead_Score__c, Owner.Username FROM Lead WHERE Synthetic_Persona__c = false "
        "ORDER BY Owner.Username, Lead_Score__c DESC NULLS LAST, Id",
        where=lambda v: eq(v("Synthetic_Persona__c"), False),
        order=(asc("Owner.Username"), desc("Lead_Score__c", nulls_first=False), asc("Id")),
    ),
    "lead-multi-line-statement": Case(
        "SELECT\n  Id,\n\tName\nFROM Lead\nWHERE Synthetic_Persona__c = true\n  AND Legal_Hold__c = true\n",
        where=lambda v: eq(v("Synthetic_Persona__c"), True) and eq(v("Legal_Hold__c"), True),
    ),
    # -- Lead: COUNT() and the Recycle Bin
    "lead-count-synthetic": Case(
        "SELECT COUNT() FROM Lead WHERE Synthetic_Persona__c = true",
        where=lambda v: eq(v("Synthetic_Persona__c"), True),
    ),
    "lead-count-working-ai-limit": Case(
        "SELECT COUNT() FROM Lead WHERE Status = 'Working - Contacted' AND AI_Generated__c = true LIMIT 12",
        where=lambda v: eq(v("Status"), _WORKING) and eq(v("AI_Generated__c"), True),
        limit=12,
    ),
    "lead-count-deleted-query-all": Case(
        "SELECT COUNT() FROM Lead WHERE IsDeleted = true",
        where=lambda v: eq(v("IsDeleted"), True),
        include_deleted=True,
    ),
    "lead-deleted-query-all": Case(
        "SELECT Id, IsDeleted, LastModifiedDate FROM Lead WHERE IsDeleted = true ORDER BY LastModifiedDate, Id",
        where=lambda v: eq(v("IsDeleted"), True),
        order=(asc("LastModifiedDate"), asc("Id")),
        include_deleted=True,
    ),
    "lead-deleted-query-sees-none": Case(
        "SELECT Id FROM Lead WHERE IsDeleted = true",
        where=lambda v: eq(v("IsDeleted"), True),
        empty_ok=True,
    ),
    "lead-modified-last-10-days-query-all": Case(
        "SELECT Id, IsDeleted FROM Lead WHERE LastModifiedDate = LAST_N_DAYS:10",
        where=lambda v: within(v("LastModifiedDate"), midnight(-10), midnight(1)),
        include_deleted=True,
    ),
    "lead-modified-last-10-days-query": Case(
        "SELECT Id, IsDeleted FROM Lead WHERE LastModifiedDate = LAST_N_DAYS:10",
        where=lambda v: within(v("LastModifiedDate"), midnight(-10), midnight(1)),
    ),
    # -- Contact
    "contact-personas-with-account": Case(
        "SELECT Id, Name, Account.Name, Account.Industry FROM Contact WHERE Synthetic_Persona__c = true "
        "AND Legal_Hold__c = false ORDER BY Account.Name, Id",
        where=lambda v: eq(v("Synthetic_Persona__c"), True) and eq(v("Legal_Hold__c"), False),
        order=(asc("Account.Name"), asc("Id")),
    ),
    "contact-account-industry-grandparent": Case(
        "SELECT Id, Account.Name, Account.Owner.Username FROM Contact "
        "WHERE Account.Industry IN ('Technology', 'banking') AND HasOptedOutOfEmail = false",
        where=lambda v: isin(v("Account.Industry"), "Technology", "Banking") and eq(v("HasOptedOutOfEmail"), False),
    ),
    "contact-account-name-like": Case(
        "SELECT Id, Account.Name FROM Contact WHERE Account.Name LIKE 'acme%' OR Account.Name LIKE '%wonka%'",
        where=lambda v: like(v("Account.Name"), "acme%") or like(v("Account.Name"), "%wonka%"),
    ),
    "contact-no-phone": Case(
        "SELECT Id, Phone, Title FROM Contact WHERE Phone = null",
        where=lambda v: eq(v("Phone"), None),
    ),
    "contact-deleted-query-all": Case(
        "SELECT Id, Name FROM Contact WHERE IsDeleted = true",
        where=lambda v: eq(v("IsDeleted"), True),
        include_deleted=True,
    ),
    # -- Opportunity
    "opp-synthetic-contact-open": Case(
        "SELECT Id, Name, Contact.Name, Contact.Synthetic_Persona__c FROM Opportunity "
        "WHERE Contact.Synthetic_Persona__c = true AND IsClosed = false",
        where=lambda v: eq(v("Contact.Synthetic_Persona__c"), True) and eq(v("IsClosed"), False),
    ),
    "opp-close-next-60-days": Case(
        "SELECT Id, CloseDate, Amount FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:60 "
        "ORDER BY CloseDate, Amount DESC, Id",
        where=lambda v: within(v("CloseDate"), day(1), day(61)),
        order=(asc("CloseDate"), desc("Amount"), asc("Id")),
    ),
    "opp-open-after-date": Case(
        "SELECT Id, StageName FROM Opportunity WHERE CloseDate >= 2026-12-01 "
        "AND StageName NOT IN ('Closed Won', 'Closed Lost')",
        where=lambda v: ge(v("CloseDate"), date(2026, 12, 1)) and not isin(v("StageName"), "Closed Won", "Closed Lost"),
    ),
    "opp-nested-stage-amount": Case(
        "SELECT Id, Amount, Probability FROM Opportunity WHERE Amount > 250000 AND "
        "(StageName = 'Negotiation/Review' OR (StageName = 'Closed Won' AND Probability >= 90))",
        where=lambda v: (
            gt(v("Amount"), 250000)
            and (
                eq(v("StageName"), "Negotiation/Review")
                or (eq(v("StageName"), "Closed Won") and ge(v("Probability"), 90))
            )
        ),
    ),
    "opp-account-owner-like": Case(
        "SELECT Id, Account.Owner.Username FROM Opportunity WHERE Account.Owner.Username LIKE 'rep1@%' "
        "ORDER BY Account.Name DESC, Id",
        where=lambda v: like(v("Account.Owner.Username"), "rep1@%"),
        order=(desc("Account.Name"), asc("Id")),
    ),
    # -- Task
    "task-ai-retention-90d": Case(
        "SELECT Id, AI_Generated_At__c FROM Task WHERE AI_Generated__c = true "
        "AND AI_Generated_At__c < LAST_N_DAYS:90 AND Legal_Hold__c = false AND Human_Reviewed__c = false",
        where=lambda v: (
            eq(v("AI_Generated__c"), True)
            and lt(v("AI_Generated_At__c"), midnight(-90))
            and eq(v("Legal_Hold__c"), False)
            and eq(v("Human_Reviewed__c"), False)
        ),
    ),
    "task-untagged-by-ai-bots": Case(
        "SELECT Id, Owner.Username, Subject FROM Task WHERE AI_Generated__c = false "
        "AND Owner.Username IN ('genai-outreach@demo-org.sandbox', 'einstein-bot@demo-org.sandbox')",
        where=lambda v: eq(v("AI_Generated__c"), False) and isin(v("Owner.Username"), *AI_BOTS),
    ),
    "task-call-summary-by-activity-date": Case(
        "SELECT Id, ActivityDate FROM Task WHERE Subject LIKE 'call s%' AND ActivityDate >= 2026-06-01 "
        "ORDER BY ActivityDate DESC, Id",
        where=lambda v: like(v("Subject"), "call s%") and ge(v("ActivityDate"), date(2026, 6, 1)),
        order=(desc("ActivityDate"), asc("Id")),
    ),
    "task-activity-last-60-days": Case(
        "SELECT Id, Account.Name FROM Task WHERE ActivityDate = LAST_N_DAYS:60",
        where=lambda v: within(v("ActivityDate"), day(-60), day(1)),
    ),
    # -- EmailMessage
    "email-undisclosed-ai": Case(
        "SELECT Id, Subject FROM EmailMessage WHERE AI_Generated__c = true "
        "AND AI_Disclosure_Shown__c = false AND Status = '3'",
        where=lambda v: (
            eq(v("AI_Generated__c"), True) and eq(v("AI_Disclosure_Shown__c"), False) and eq(v("Status"), "3")
        ),
    ),
    "email-ai-retention-180d": Case(
        "SELECT Id, AI_Generated_At__c FROM EmailMessage WHERE AI_Generated__c = true "
        "AND AI_Generated_At__c < LAST_N_DAYS:180 AND Legal_Hold__c = false AND Human_Reviewed__c = false",
        where=lambda v: (
            eq(v("AI_Generated__c"), True)
            and lt(v("AI_Generated_At__c"), midnight(-180))
            and eq(v("Legal_Hold__c"), False)
            and eq(v("Human_Reviewed__c"), False)
        ),
    ),
    "email-subject-obrien": Case(
        "SELECT Id, Subject FROM EmailMessage WHERE Subject LIKE '%for O\\'%' OR Subject LIKE 'quick question'",
        where=lambda v: like(v("Subject"), "%for O\\'%") or like(v("Subject"), "quick question"),
    ),
    "email-subject-underscore-wildcard": Case(
        "SELECT Id, Subject, CreatedBy.Username FROM EmailMessage WHERE Subject LIKE '%three ideas for Q_' "
        "AND CreatedBy.Username LIKE 'genai-%'",
        where=lambda v: like(v("Subject"), "%three ideas for Q_") and like(v("CreatedBy.Username"), "genai-%"),
    ),
    "email-from-reps-recent": Case(
        "SELECT Id, FromAddress, MessageDate FROM EmailMessage WHERE FromAddress IN "
        "('rep1@demo-org.sandbox', 'rep2@demo-org.sandbox') AND MessageDate = LAST_N_DAYS:120 "
        "ORDER BY MessageDate DESC NULLS LAST, Id",
        where=lambda v: (
            isin(v("FromAddress"), f"rep1@{DOMAIN}", _REP2) and within(v("MessageDate"), midnight(-120), midnight(1))
        ),
        order=(desc("MessageDate"), asc("Id")),
    ),
    "email-null-activity-parent": Case(
        "SELECT Id, Activity.Subject, AI_Tool__c FROM EmailMessage WHERE Activity.Subject = null "
        "AND AI_Tool__c = 'copy.ai'",
        where=lambda v: eq(v("Activity.Subject"), None) and eq(v("AI_Tool__c"), "Copy.ai"),
    ),
    # -- ContentVersion
    "file-ai-retention-365d": Case(
        "SELECT Id, Title FROM ContentVersion WHERE AI_Generated__c = true "
        "AND AI_Generated_At__c < LAST_N_DAYS:365 AND Legal_Hold__c = false",
        where=lambda v: (
            eq(v("AI_Generated__c"), True)
            and lt(v("AI_Generated_At__c"), midnight(-365))
            and eq(v("Legal_Hold__c"), False)
        ),
    ),
    "file-title-like-ordered": Case(
        "SELECT Id, Title, FileType FROM ContentVersion WHERE Title LIKE 'campaign-visual-00_' "
        "AND FileType = 'png' ORDER BY Title DESC",
        where=lambda v: like(v("Title"), "campaign-visual-00_") and eq(v("FileType"), "PNG"),
        order=(desc("Title"),),
    ),
    "file-tagged-tool-not-null": Case(
        "SELECT Id, AI_Tool__c, ContentSize FROM ContentVersion WHERE AI_Tool__c != null AND ContentSize > 50000",
        where=lambda v: ne(v("AI_Tool__c"), None) and gt(v("ContentSize"), 50000),
    ),
    # -- AI_Content_Provenance__c: null parents
    "provenance-reviewer-nulls-last": Case(
        "SELECT Id, Name, Reviewed_By__r.Username FROM AI_Content_Provenance__c WHERE Disclosure__c = 'Not Shown' "
        "ORDER BY Reviewed_By__r.Username NULLS LAST, Name",
        where=lambda v: eq(v("Disclosure__c"), "Not Shown"),
        order=(asc("Reviewed_By__r.Username", nulls_first=False), asc("Name")),
    ),
    "provenance-boolean-of-missing-parent": Case(
        # A boolean past a missing parent is false (soql.py: Salesforce treats a null boolean as false).
        "SELECT Id, Reviewed_By__r.IsActive FROM AI_Content_Provenance__c WHERE Reviewed_By__r.IsActive = false",
        where=lambda v: v("Reviewed_By__r.IsActive") in (False, None),
    ),
    "provenance-reviewed-by-compliance": Case(
        "SELECT Id, Reviewed_By__r.Username FROM AI_Content_Provenance__c "
        "WHERE Reviewed_By__r.Username LIKE 'compliance%'",
        where=lambda v: like(v("Reviewed_By__r.Username"), "compliance%"),
    ),
    "provenance-reviewer-not-compliance": Case(
        # Two-valued: a missing parent's field is null, and null != 'x'.
        "SELECT Id, Reviewed_By__r.Name FROM AI_Content_Provenance__c "
        "WHERE Reviewed_By__r.Username != 'compliance.officer@demo-org.sandbox'",
        where=lambda v: ne(v("Reviewed_By__r.Username"), f"compliance.officer@{DOMAIN}"),
    ),
    "provenance-unreviewed-recent": Case(
        "SELECT Id, Generated_At__c FROM AI_Content_Provenance__c WHERE Reviewed_By__c = null "
        "AND Generated_At__c = LAST_N_DAYS:365 ORDER BY Generated_At__c DESC, Id",
        where=lambda v: eq(v("Reviewed_By__c"), None) and within(v("Generated_At__c"), midnight(-365), midnight(1)),
        order=(desc("Generated_At__c"), asc("Id")),
    ),
    # -- PermissionSetAssignment
    "psa-unapproved-ai-access": Case(
        "SELECT Id, Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment "
        "WHERE PermissionSet.Name IN ('Einstein_Generative_AI', 'Synthetic_Data_Generator', "
        "'DeepStudio_Media_Generation') AND Assignee.Username NOT IN ('compliance.officer@demo-org.sandbox', "
        "'marketing.lead@demo-org.sandbox', 'admin@demo-org.sandbox') ORDER BY Assignee.Username, Id",
        where=_unapproved_ai_grant,
        order=(asc("Assignee.Username"), asc("Id")),
    ),
    "psa-escaped-underscore": Case(
        "SELECT Id, PermissionSet.Name FROM PermissionSetAssignment WHERE PermissionSet.Name LIKE '%\\_AI' "
        "AND Assignee.Username LIKE 'rep_@%'",
        where=lambda v: like(v("PermissionSet.Name"), "%\\_AI") and like(v("Assignee.Username"), "rep_@%"),
    ),
    "psa-namespaced-sets": Case(
        "SELECT Id, PermissionSet.NamespacePrefix FROM PermissionSetAssignment "
        "WHERE PermissionSet.NamespacePrefix != null AND IsActive = true",
        where=lambda v: ne(v("PermissionSet.NamespacePrefix"), None) and eq(v("IsActive"), True),
    ),
    # -- User
    "user-logged-in-last-2-days": Case(
        "SELECT Id, Username, Manager.Username, LastLoginDate FROM User WHERE LastLoginDate = LAST_N_DAYS:2 "
        "ORDER BY LastLoginDate DESC, Username",
        where=lambda v: within(v("LastLoginDate"), midnight(-2), midnight(1)),
        order=(desc("LastLoginDate"), asc("Username")),
    ),
    "user-logged-in-today-or-yesterday": Case(
        "SELECT Id, Username FROM User WHERE LastLoginDate = TODAY OR LastLoginDate = YESTERDAY",
        where=lambda v: within(v("LastLoginDate"), midnight(-1), midnight(1)),
    ),
    "user-integrations": Case(
        "SELECT Id, Username, UserType FROM User WHERE (UserType = 'CloudIntegrationUser' OR Title LIKE "
        "'Integration%') AND IsActive = true ORDER BY Username DESC",
        where=lambda v: (
            (eq(v("UserType"), "CloudIntegrationUser") or like(v("Title"), "Integration%")) and eq(v("IsActive"), True)
        ),
        order=(desc("Username"),),
    ),
    # -- Account
    "account-revenue-limit-offset": Case(
        "SELECT Id, Name, AnnualRevenue FROM Account WHERE AnnualRevenue >= 20000000 "
        "AND Industry NOT IN ('Banking', 'Insurance') ORDER BY AnnualRevenue DESC, Name, Id LIMIT 8 OFFSET 2",
        where=lambda v: ge(v("AnnualRevenue"), 20_000_000) and not isin(v("Industry"), "Banking", "Insurance"),
        order=(desc("AnnualRevenue"), asc("Name"), asc("Id")),
        limit=8,
        offset=2,
    ),
    "account-no-parent-partner": Case(
        "SELECT Id, Parent.Name, Owner.Username FROM Account WHERE Parent.Name = null AND Type = 'Partner'",
        where=lambda v: eq(v("Parent.Name"), None) and eq(v("Type"), "Partner"),
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_supported_statement_returns_the_reference_rows(demo: Demo, case: Case) -> None:
    expected = reference_ids(demo.data, case)
    size = visible(demo.data, case)
    if not case.empty_ok:
        assert expected, "the reference selects nothing: the statement proves little"
    assert len(expected) < size, "the reference selects the whole table: a dropped WHERE would go unnoticed"
    if case.where is not everything:
        assert reference_ids(demo.data, replace(case, where=everything)) != expected
    # query_all replaces the org's totalSize with the number of records it collected, so the first page of
    # sf.query is where the org's own count (all COUNT() returns) is read.
    first = demo.sf.query(case.soql, include_deleted=case.include_deleted)
    assert first["totalSize"] == len(expected)
    if is_count(case):
        assert first["records"] == []
        assert first["done"] is True
        return
    records = demo.sf.query_all(case.soql, include_deleted=case.include_deleted)["records"]
    got = [r["Id"] for r in records]
    assert_ids(case, got, expected)
    assert_values(demo.data, case, records)


def test_pages_of_200_give_the_reference_rows(demo: Demo) -> None:
    """Statements selecting more than one page of 200 rows: query_more continues the same ordered cursor."""
    large = [c for c in CASES.values() if not is_count(c) and len(reference_ids(demo.data, c)) > 200]
    assert any(fully_ordered(c) for c in large)
    for case in large:
        pages = 0
        got: list[str] = []
        page = demo.sf.query(case.soql, include_deleted=case.include_deleted, headers=PAGE_200)
        while True:
            pages += 1
            assert len(page["records"]) <= 200
            got += [r["Id"] for r in page["records"]]
            if page["done"]:
                break
            page = demo.sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=PAGE_200)
        assert pages >= 2, case.soql
        assert_ids(case, got, reference_ids(demo.data, case))


def test_statement_table_is_large_enough() -> None:
    assert len(CASES) >= 45
    assert len(UNSUPPORTED) >= 15
    assert {c.obj for c in CASES.values()} >= set(OBJECTS) - {"PermissionSet"}


BULK_CASES = (
    "lead-synthetic-retention-90d",
    "lead-automated-decision-nested",
    "lead-name-like-quote-and-underscore",
    "lead-owner-username-in-ordered",
    "lead-top-scores-limit-offset",
    "lead-created-last-30-days",
    "lead-deleted-query-all",
    "lead-multi-page-ordered",
)


def bulk_ids(sf: Any, case: Case) -> list[str]:
    """The Ids a Bulk API 2.0 query (or queryAll) job returns for `case`, over all its CSV pages."""
    run = sf.bulk2.Lead.query_all if case.include_deleted else sf.bulk2.Lead.query
    ids: list[str] = []
    for page in run(case.soql, max_records=100, wait=0):  # several CSV pages for the larger results
        ids += [row["Id"] for row in csv.DictReader(io.StringIO(page))]
    return ids


def test_bulk2_query_jobs_return_the_same_ids_as_rest(demo: Demo) -> None:
    for name in BULK_CASES:
        case = CASES[name]
        rest = [r["Id"] for r in demo.sf.query_all(case.soql, include_deleted=case.include_deleted)["records"]]
        bulk = bulk_ids(demo.sf, case)
        assert rest, name
        assert_ids(case, bulk, rest)
        assert_ids(case, bulk, reference_ids(demo.data, case))
    with pytest.raises(SalesforceMalformedRequest) as err:
        list(demo.sf.bulk2.Lead.query("SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource", wait=0))
    assert error_code(err) == "MALFORMED_QUERY"


# =========================================================================================================
# Unsupported statements: refused, never answered with a looser query

UNSUPPORTED: dict[str, str] = {
    "group-by": "SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource",
    "group-by-plain": "SELECT LeadSource FROM Lead WHERE AI_Generated__c = true GROUP BY LeadSource",
    "having": "SELECT Id FROM Lead HAVING COUNT(Id) > 1",
    "count-field": "SELECT COUNT(Id) FROM Lead WHERE Synthetic_Persona__c = true",
    "sum": "SELECT SUM(Amount) FROM Opportunity",
    "subquery-in-select": "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
    "semi-join": "SELECT Id FROM Contact WHERE AccountId IN (SELECT Id FROM Account WHERE Industry = 'Technology')",
    "anti-join": "SELECT Id FROM Lead WHERE Id NOT IN (SELECT WhoId FROM Task)",
    "subquery-as-condition": "SELECT Id FROM Lead WHERE (SELECT Id FROM Task) = null",
    "typeof": "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
    "for-update": "SELECT Id FROM Lead WHERE AI_Generated__c = true LIMIT 10 FOR UPDATE",
    "for-view": "SELECT Id FROM Lead FOR VIEW",
    "with-security-enforced": "SELECT Id FROM Lead WHERE Synthetic_Persona__c = true WITH SECURITY_ENFORCED",
    "with-data-category": "SELECT Id FROM Lead WITH DATA CATEGORY Geography__c AT europe__c",
    "using-scope": "SELECT Id FROM Lead USING SCOPE mine",
    "fields-all": "SELECT FIELDS(ALL) FROM Lead LIMIT 200",
    "includes": "SELECT Id FROM Lead WHERE Status INCLUDES ('Working - Contacted')",
    "calendar-year": "SELECT Id FROM Lead WHERE CALENDAR_YEAR(CreatedDate) = 2026",
    "and-or-without-parentheses": (
        "SELECT Id FROM Lead WHERE AI_Generated__c = true AND Synthetic_Persona__c = true OR Legal_Hold__c = true"
    ),
    "or-and-without-parentheses": "SELECT Id FROM Lead WHERE Legal_Hold__c = true OR AI_Generated__c = true AND "
    "Human_Reviewed__c = false",
    "trailing-garbage": "SELECT Id FROM Lead WHERE AI_Generated__c = true LIMIT 5 please",
    "semicolon": "SELECT Id FROM Lead WHERE AI_Generated__c = true;",
    "unsupported-date-literal": "SELECT Id FROM Lead WHERE CreatedDate = LAST_WEEK",
    "bind-variable": "SELECT Id FROM Lead WHERE OwnerId = :ownerId",
    "two-objects": "SELECT Id FROM Lead, Contact",
    "double-quotes": 'SELECT Id FROM Lead WHERE LastName = "O\'Brien"',
    "unescaped-quote": "SELECT Id FROM Lead WHERE LastName = 'O'Brien'",
    "bad-escape": "SELECT Id FROM Lead WHERE LastName = 'O\\qBrien'",
    "compare-null-with-lt": "SELECT Id FROM Lead WHERE Lead_Score__c > null",
    "like-number": "SELECT Id FROM Lead WHERE Name LIKE 5",
    "negative-limit": "SELECT Id FROM Lead ORDER BY Id LIMIT -1",
    "dangling-nulls": "SELECT Id FROM Lead ORDER BY Lead_Score__c DESC NULLS",
    "unbalanced-parenthesis": "SELECT Id FROM Lead WHERE (AI_Generated__c = true AND Legal_Hold__c = false",
    "datetime-without-zone": "SELECT Id FROM Lead WHERE AI_Generated_At__c < 2026-06-01T00:00:00",
    "datetime-out-of-range": "SELECT Id FROM Lead WHERE AI_Generated_At__c < 2026-13-01T00:00:00Z",
    "duplicate-field": "SELECT Id, Name, name FROM Lead",
    "empty-select": "SELECT FROM Lead",
}

INVALID_FIELD: dict[str, str] = {
    "quoted-datetime": "SELECT Id FROM Lead WHERE AI_Generated_At__c < '2026-06-01T00:00:00Z'",
    "quoted-boolean": "SELECT Id FROM Lead WHERE AI_Generated__c = 'true'",
    "quoted-number": "SELECT Id FROM Lead WHERE Lead_Score__c > '50'",
    "date-on-datetime": "SELECT Id FROM Lead WHERE CreatedDate = 2026-11-02",
    "datetime-on-date": "SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-01T00:00:00Z",
    "like-on-boolean": "SELECT Id FROM Lead WHERE AI_Generated__c LIKE 't%'",
    "lt-on-boolean": "SELECT Id FROM Lead WHERE AI_Generated__c > false",
    "unknown-field": "SELECT Id, Bogus__c FROM Lead",
    "unknown-parent-field": "SELECT Id FROM Lead WHERE Owner.Bogus = 'x'",
    "unknown-relationship": "SELECT Id, Nope__r.Name FROM Lead",
    "long-textarea-filter": "SELECT Id FROM Task WHERE Description = 'Summary: next step is a pricing review.'",
    "long-textarea-order": "SELECT Id FROM Task ORDER BY Description",
}

OTHER_CODES: dict[str, tuple[str, str]] = {
    "unknown-object": ("SELECT Id FROM Bogus__c", "INVALID_TYPE"),
    "invalid-id": ("SELECT Id FROM Lead WHERE OwnerId = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
}


@pytest.mark.parametrize("soql", list(UNSUPPORTED.values()), ids=list(UNSUPPORTED))
def test_unsupported_statement_is_malformed_query(demo: Demo, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        demo.sf.query_all(soql)
    assert error_code(err) == "MALFORMED_QUERY"


@pytest.mark.parametrize("soql", list(INVALID_FIELD.values()), ids=list(INVALID_FIELD))
def test_wrong_field_use_is_invalid_field(demo: Demo, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        demo.sf.query_all(soql)
    assert error_code(err) == "INVALID_FIELD"


@pytest.mark.parametrize(("soql", "code"), list(OTHER_CODES.values()), ids=list(OTHER_CODES))
def test_other_refusals_carry_their_salesforce_code(demo: Demo, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        demo.sf.query_all(soql)
    assert error_code(err) == code
