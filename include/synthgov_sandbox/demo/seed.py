"""Seeded orgs: `empty` (users only) and `demo`, a small sales org with planted governance cases.

The demo org is deterministic for a seed. Its clock is set to `ANCHOR`, and every date is
placed relative to it. Planted cases carry ground-truth labels (see `truth.py`), one per
failure pattern of the seed guidance in docs/reference/regulations.md:

- AI content tagged explicitly (provenance fields) or only through an `AI_Content_Provenance__c` record;
- AI content without tags: made by an AI integration user (an API that dropped the flags), carrying
  a C2PA manifest, or (heuristic only) with a tell-tale text marker;
- deepfake media: images C2PA-signed as `trainedAlgorithmicMedia`, beside composites, signed
  camera captures and plain photos; one named like a camera file without an extension (FileType UNKNOWN);
- files C2PA inspection cannot look into (a format c2pa does not read, a damaged image), to be reported;
- AI e-mails sent without disclosure; synthetic personas in the open pipeline;
- lead scores that decided automatically without human review, with a score gap between leads
  scored on synthetic inputs and the others;
- AI generation permission sets given to users not on the approved list; AI-capable packages
  not approved; legal holds; AI content spread over two years so some is past retention;
- training-data manifests with authentic records used without consent and mislabelled provenance
  (see `training.py`; consent is derived from ids, after every random draw).

`--scale N` multiplies the authentic background (about 940 records per unit); the planted
cases stay the same in kind and number at every scale.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgov_sandbox.demo.training import META_KEY as TRAINING_META_KEY
from synthgov_sandbox.demo.training import plant_training_data
from synthgov_sandbox.engine import ids
from synthgov_sandbox.engine.files import FILE_TYPES, UNKNOWN, extension_of
from synthgov_sandbox.engine.schema import catalogue
from synthgov_sandbox.engine.store import Store
from synthgov_sandbox.engine.values import db_datetime

if TYPE_CHECKING:  # media pulls in Pillow and c2pa: imported only when files are made
    from synthgov_sandbox.demo.media import SigningIdentity

ANCHOR = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
ORG_DOMAIN = "demo-org.sandbox"
PROFILES = ("demo", "empty")
MAX_SCALE = 5000

# The "reasonable default policy" the ground truth is computed with. The product's default
# policy files (include/policies/) describe the same org; truth.py evaluates this one.
DEMO_POLICY: dict[str, Any] = {
    "ai_integration_usernames": [f"genai-outreach@{ORG_DOMAIN}", f"einstein-bot@{ORG_DOMAIN}"],
    "ai_permission_sets": ["Einstein_Generative_AI", "Synthetic_Data_Generator", "DeepStudio_Media_Generation"],
    "approved_ai_users": [f"compliance.officer@{ORG_DOMAIN}", f"marketing.lead@{ORG_DOMAIN}", f"admin@{ORG_DOMAIN}"],
    "ai_capable_packages": ["copyai", "synthpersona", "deepstudio"],
    "approved_packages": ["copyai"],
    "retention": [
        {
            "id": "ai-email-180d",
            "object": "EmailMessage",
            "days": 180,
            "exempt": ["Legal_Hold__c", "Human_Reviewed__c"],
        },
        {"id": "ai-task-90d", "object": "Task", "days": 90, "exempt": ["Legal_Hold__c", "Human_Reviewed__c"]},
        {"id": "ai-media-365d", "object": "ContentVersion", "days": 365, "exempt": ["Legal_Hold__c"]},
        {"id": "synthetic-lead-90d", "object": "Lead", "days": 90, "exempt": ["Legal_Hold__c"]},
        {"id": "synthetic-contact-90d", "object": "Contact", "days": 90, "exempt": ["Legal_Hold__c"]},
    ],
    "retention_clock": "AI_Generated_At__c, else CreatedDate",
}

FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Maya",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yara",
    "Zoe",
]
LAST = [
    "Andersen",
    "Bauer",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "O'Brien",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Prestige",
    "Sirius",
    "Virtucon",
]
SUFFIX = ["GmbH", "Ltd", "Inc", "SA", "AB", "BV", "Oy", "SpA"]
INDUSTRIES = ["Banking", "Retail", "Healthcare", "Manufacturing", "Technology", "Energy", "Insurance"]
COUNTRIES = ["Germany", "France", "Sweden", "Netherlands", "Italy", "Spain", "Ireland", "Austria"]
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Purchased List"]
AI_TOOLS = [
    ("Einstein GPT", "gpt-4o-2024-08"),
    ("Copy.ai", "copyai-workflows-3"),
    ("SynthPersona Studio", "persona-gen-2"),
]
MEDIA_TOOLS = [("DeepStudio", "deepstudio-faces-4"), ("Midjourney", "v7"), ("Firefly", "image-3")]
TEXT_MARKERS = ["As an AI language model, I", "[Generated with ChatGPT]", "Drafted by AI assistant - please review"]
TRAPS = ["We discussed your AI roadmap and the data platform.", "Your team asked about our AI governance offering."]


class SeedError(ValueError):
    """A seed request that cannot be served (unknown profile, scale out of range)."""


@dataclass
class Plan:
    """Rows to load per object and the ground truth they carry."""

    rng: random.Random
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    truth: list[tuple[str, str, str, str]] = field(default_factory=list)
    serials: dict[str, int] = field(default_factory=dict)
    deletions: list[tuple[str, str, str]] = field(default_factory=list)

    def new_id(self, obj: str) -> str:
        prefix = catalogue()[obj.lower()].key_prefix
        self.serials[obj] = self.serials.get(obj, 0) + 1
        return ids.make_id(prefix, self.serials[obj])

    def add(self, obj: str, row: dict[str, Any]) -> dict[str, Any]:
        if "Id" not in row:
            row["Id"] = self.new_id(obj)
        self.rows.setdefault(obj, []).append(row)
        return row

    def label(self, obj: str, row: dict[str, Any], label: str, evidence: str) -> None:
        self.truth.append((obj, row["Id"], label, evidence))


def _ts(dt: datetime) -> str:
    return db_datetime(dt)


def _audit(plan: Plan, created: datetime, by: str, *, modified_days: float = 0.0) -> dict[str, Any]:
    modified = min(created + timedelta(days=modified_days), ANCHOR - timedelta(minutes=5))
    modified = max(modified, created)
    return {
        "IsDeleted": 0,
        "CreatedDate": _ts(created),
        "CreatedById": by,
        "LastModifiedDate": _ts(modified),
        "LastModifiedById": by,
        "SystemModstamp": _ts(modified),
    }


def _ago(rng: random.Random, low_days: float, high_days: float) -> datetime:
    return ANCHOR - timedelta(days=rng.uniform(low_days, high_days), seconds=rng.randrange(86400))


def seed_org(
    store: Store, *, profile: str = "demo", scale: int = 1, seed: int = 42, media_dir: Path | None = None
) -> dict[str, Any]:
    """Reset the org and seed it; returns a summary (counts, planted cases, clock)."""
    if profile not in PROFILES:
        raise SeedError(f"unknown seed profile {profile!r}; use one of {', '.join(PROFILES)}")
    if not 1 <= scale <= MAX_SCALE:
        raise SeedError(f"scale must be between 1 and {MAX_SCALE} (about 940 background records each)")
    store.reset()
    store.set_clock(ANCHOR)
    plan = Plan(random.Random(seed))
    users = _users(plan)
    manifests: list[dict[str, Any]] = []
    if profile == "demo":
        identity_dir = media_dir or store.path.parent
        _permissions(plan, users)
        _packages(plan, users)
        accounts, contacts, leads, opps = _sales(plan, users, scale)
        _activities(plan, users, accounts, contacts, leads, opps, scale)
        _files(plan, users, identity_dir)
        _audit_trail(plan, users)
        # Last, and without the random stream: every value drawn above stays as it was.
        manifests = plant_training_data(plan.rows["Contact"], plan.rows["Lead"], ANCHOR)
    for obj_name, rows in plan.rows.items():
        store.bulk_load(catalogue()[obj_name.lower()], rows)
    with store._write() as c:
        for obj_name, n in plan.serials.items():
            c.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)", ("serial:" + obj_name, str(n)))
        c.executemany(
            "INSERT OR REPLACE INTO _deleted (object, id, deleted_date, hard) VALUES (?, ?, ?, 0)", plan.deletions
        )
    store.add_ground_truth(plan.truth)
    store.set_meta(TRAINING_META_KEY, json.dumps(manifests))
    store.set_meta("seed", f"{profile}:{scale}:{seed}")
    store.set_meta("api_user_id", users["integration"])
    store.set_meta("admin_username", f"admin@{ORG_DOMAIN}")
    counts = {name: len(rows) for name, rows in plan.rows.items()}
    return {
        "profile": profile,
        "scale": scale,
        "seed": seed,
        "now": _ts(store.now()),
        "objects": counts,
        "planted_cases": len({(o, i) for o, i, _, _ in plan.truth}),
    }


def _users(plan: Plan) -> dict[str, str]:
    created = ANCHOR - timedelta(days=900)
    users: dict[str, str] = {}
    admin_id = plan.new_id("User")

    def user(key: str, first: str, last: str, username: str, title: str, user_type: str = "Standard") -> str:
        uid = admin_id if key == "admin" else plan.new_id("User")
        users[key] = uid
        plan.add(
            "User",
            {
                "Id": uid,
                "Username": username,
                "Email": username,
                "FirstName": first,
                "LastName": last,
                "Alias": (first[:1] + last[:4]).lower(),
                "IsActive": 1,
                "UserType": user_type,
                "Title": title,
                "ProfileId": "00e5g00000" + ("SysAdmin" if key == "admin" else "Standard")[:8],
                "LastLoginDate": _ts(ANCHOR - timedelta(hours=plan.rng.randrange(1, 200))),
                **_audit(plan, created, admin_id),
            },
        )
        return uid

    user("admin", "Avery", "Admin", f"admin@{ORG_DOMAIN}", "System Administrator")
    plan.add(
        "Organization",
        {
            "Name": "Demo Org (synthgov sandbox)",
            "OrganizationType": "Enterprise Edition",
            "IsSandbox": 1,
            "InstanceName": "SBX1",
            "Country": "Germany",
            **_audit(plan, created, admin_id),
        },
    )
    user(
        "integration",
        "synthgov",
        "Integration",
        f"synthgov-integration@{ORG_DOMAIN}",
        "API integration",
        "CloudIntegrationUser",
    )
    user("compliance", "Cora", "Compliance", f"compliance.officer@{ORG_DOMAIN}", "Compliance Officer")
    user("marketing", "Mina", "Marketing", f"marketing.lead@{ORG_DOMAIN}", "Head of Marketing")
    for i in range(8):
        user(f"rep{i}", FIRST[i], LAST[i], f"rep{i}@{ORG_DOMAIN}", "Account Executive")
    user(
        "genai_bot", "GenAI", "Outreach Bot", DEMO_POLICY["ai_integration_usernames"][0], "Integration - GenAI Outreach"
    )
    user(
        "einstein_bot",
        "Einstein",
        "Activity Bot",
        DEMO_POLICY["ai_integration_usernames"][1],
        "Integration - Einstein Activity Capture",
    )
    return users


def _reps(users: dict[str, str]) -> list[str]:
    return [users[f"rep{i}"] for i in range(8)]


def _permissions(plan: Plan, users: dict[str, str]) -> None:
    admin = users["admin"]
    sets = {}
    for name, label, ns, desc in [
        ("Sales_User", "Sales User", None, "Standard sales access"),
        ("Marketing_User", "Marketing User", None, "Campaigns and e-mail"),
        ("Einstein_Generative_AI", "Einstein Generative AI", None, "Prompt Builder and Einstein GPT e-mail drafting"),
        (
            "Synthetic_Data_Generator",
            "Synthetic Data Generator",
            "synthpersona",
            "Generate synthetic personas and records",
        ),
        (
            "DeepStudio_Media_Generation",
            "DeepStudio Media Generation",
            "deepstudio",
            "Generate faces, voices and video",
        ),
    ]:
        row = plan.add(
            "PermissionSet",
            {
                "Name": name,
                "Label": label,
                "Description": desc,
                "Type": "Regular",
                "IsOwnedByProfile": 0,
                "IsCustom": 1,
                "NamespacePrefix": ns,
                "PermissionsApiEnabled": 1,
                "PermissionsModifyAllData": 0,
                "PermissionsViewAllData": 0,
                **_audit(plan, ANCHOR - timedelta(days=600), admin),
            },
        )
        sets[name] = row["Id"]
    approved = {"admin", "compliance", "marketing"}
    grants = (
        [
            ("admin", "Einstein_Generative_AI"),
            ("compliance", "Einstein_Generative_AI"),
            ("marketing", "Einstein_Generative_AI"),
            ("marketing", "Synthetic_Data_Generator"),
            ("rep0", "Einstein_Generative_AI"),
            ("rep1", "Einstein_Generative_AI"),
            ("rep2", "Synthetic_Data_Generator"),
            ("rep3", "DeepStudio_Media_Generation"),
            ("rep5", "Einstein_Generative_AI"),
        ]
        + [(f"rep{i}", "Sales_User") for i in range(8)]
        + [("marketing", "Marketing_User")]
    )
    for who, ps in grants:
        row = plan.add(
            "PermissionSetAssignment",
            {
                "AssigneeId": users[who],
                "PermissionSetId": sets[ps],
                "IsActive": 1,
                "IsRevoked": 0,
                "SystemModstamp": _ts(_ago(plan.rng, 20, 300)),
            },
        )
        if ps in DEMO_POLICY["ai_permission_sets"] and who not in approved:
            plan.label("PermissionSetAssignment", row, "unapproved_ai_tool_access", f"permission_set:{ps}")


def _packages(plan: Plan, users: dict[str, str]) -> None:
    admin = users["admin"]
    for name, ns, version, ai, desc in [
        ("Declarative Lookup Rollup Summaries", "dlrs", (2, 21, 0), False, "Roll-up summaries"),
        ("DocuSign eSignature", "dsfs", (7, 14, 2), False, "Electronic signatures"),
        ("Copy.ai for Salesforce", "copyai", (3, 2, 1), True, "AI copywriting for e-mails and notes"),
        ("SynthPersona Studio", "synthpersona", (1, 8, 0), True, "Synthetic customer personas for demos and testing"),
        ("DeepStudio Media", "deepstudio", (4, 0, 3), True, "Generative faces, voices and product videos"),
    ]:
        pkg = plan.add("SubscriberPackage", {"Name": name, "NamespacePrefix": ns, "Description": desc})
        ver = plan.add(
            "SubscriberPackageVersion",
            {
                "Name": f"{name} {version[0]}.{version[1]}",
                "SubscriberPackageId": pkg["Id"],
                "MajorVersion": version[0],
                "MinorVersion": version[1],
                "PatchVersion": version[2],
                "BuildNumber": plan.rng.randrange(1, 9),
                "IsManaged": 1,
            },
        )
        inst = plan.add(
            "InstalledSubscriberPackage",
            {
                "SubscriberPackageId": pkg["Id"],
                "SubscriberPackageVersionId": ver["Id"],
                "MinPackageVersionId": ver["Id"],
            },
        )
        plan.add(
            "PackageLicense",
            {
                "NamespacePrefix": ns,
                "Status": "Active",
                "AllowedLicenses": -1,
                "UsedLicenses": plan.rng.randrange(1, 20),
                "ExpirationDate": None,
                "IsProvisioned": 1,
                **_audit(plan, _ago(plan.rng, 100, 500), admin),
            },
        )
        if ai and ns not in DEMO_POLICY["approved_packages"]:
            plan.label("InstalledSubscriberPackage", inst, "unapproved_ai_package", f"package:{ns}")


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _company(rng: random.Random) -> str:
    return f"{rng.choice(COMPANIES)} {rng.choice(INDUSTRIES)} {rng.choice(SUFFIX)}"


def _email(first: str, last: str, company: str, n: int) -> str:
    local = f"{first}.{last}".lower().replace("'", "")
    domain = company.split(maxsplit=1)[0].lower()
    return f"{local}{n}@{domain}.example"


def _provenance_fields(
    plan: Plan,
    *,
    tool: str | None = None,
    model: str | None = None,
    generated: datetime | None = None,
    disclosed: bool = False,
    reviewed: bool = False,
    hold: bool = False,
) -> dict[str, Any]:
    return {
        "AI_Generated__c": int(tool is not None),
        "AI_Tool__c": tool,
        "AI_Model__c": model,
        "AI_Generated_At__c": _ts(generated) if generated else None,
        "AI_Disclosure_Shown__c": int(disclosed),
        "Human_Reviewed__c": int(reviewed),
        "Legal_Hold__c": int(hold),
    }


def _no_provenance() -> dict[str, Any]:
    return {"AI_Generated__c": 0, "AI_Disclosure_Shown__c": 0, "Human_Reviewed__c": 0, "Legal_Hold__c": 0}


def _safe_age(rng: random.Random, days: int, spread: tuple[float, float]) -> datetime:
    """A generation time at least two days away from the retention boundary at ANCHOR."""
    while True:
        when = _ago(rng, *spread)
        if abs((ANCHOR - when).days - days) > 2:
            return when


def _provenance_record(
    plan: Plan,
    obj: str,
    record: dict[str, Any],
    tool: str,
    model: str,
    generated: datetime,
    owner: str,
    *,
    disclosure: str,
    reviewer: str | None,
    source_type: str,
) -> None:
    n = plan.serials.get("AI_Content_Provenance__c", 0) + 1
    plan.add(
        "AI_Content_Provenance__c",
        {
            "Name": f"ACP-{n:06d}",
            "OwnerId": owner,
            "Record_Id__c": record["Id"],
            "Object_Type__c": obj,
            "Tool__c": tool,
            "Model__c": model,
            "Prompt_Hash__c": hashlib.sha256(f"prompt:{record['Id']}".encode()).hexdigest(),
            "Generated_At__c": _ts(generated),
            "Reviewed_By__c": reviewer,
            "Disclosure__c": disclosure,
            "Digital_Source_Type__c": source_type,
            "Generation_Run_Id__c": f"run-{record['Id']}",
            **_audit(plan, generated + timedelta(minutes=1), owner),
        },
    )


def _sales(
    plan: Plan, users: dict[str, str], scale: int
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    rng, reps = plan.rng, _reps(users)
    accounts = []
    for _ in range(40 * scale):
        owner = rng.choice(reps)
        name = _company(rng)
        accounts.append(
            plan.add(
                "Account",
                {
                    "Name": name,
                    "Type": rng.choice(["Prospect", "Customer - Direct", "Partner"]),
                    "Industry": rng.choice(INDUSTRIES),
                    "AnnualRevenue": float(rng.randrange(1, 500) * 100000),
                    "BillingCity": None,
                    "BillingCountry": rng.choice(COUNTRIES),
                    "Website": f"https://{name.split()[0].lower()}.example",
                    "OwnerId": owner,
                    **_audit(plan, _ago(rng, 30, 720), owner, modified_days=rng.uniform(0, 60)),
                },
            )["Id"]
        )
    contacts: list[dict[str, Any]] = []
    for i in range(80 * scale):
        owner = rng.choice(reps)
        first, last = _person(rng)
        acct = rng.choice(accounts)
        contacts.append(
            plan.add(
                "Contact",
                {
                    "AccountId": acct,
                    "FirstName": first,
                    "LastName": last,
                    "Email": _email(first, last, "contact", i),
                    "Phone": f"+49 30 {rng.randrange(1000000, 9999999)}",
                    "Title": rng.choice(["CFO", "CTO", "Buyer", "CEO"]),
                    "MailingCountry": rng.choice(COUNTRIES),
                    "OwnerId": owner,
                    "HasOptedOutOfEmail": int(rng.random() < 0.1),
                    "LeadSource": rng.choice(LEAD_SOURCES),
                    "Synthetic_Persona__c": 0,
                    **_no_provenance(),
                    **_audit(plan, _ago(rng, 10, 700), owner, modified_days=rng.uniform(0, 90)),
                },
            )
        )
    # Synthetic personas: Contacts made by SynthPersona Studio for sales demos.
    personas = []
    for i in range(10):
        owner = users["marketing"] if i % 2 else users["rep2"]
        generated = _safe_age(rng, 90, (5, 400))
        first, last = _person(rng)
        row = plan.add(
            "Contact",
            {
                "AccountId": accounts[i],
                "FirstName": first,
                "LastName": last,
                "Email": _email(first, last, "persona", i),
                "Title": "Demo Buyer Persona",
                "OwnerId": owner,
                "HasOptedOutOfEmail": 0,
                "LeadSource": "Synthetic Demo",
                "Synthetic_Persona__c": 1,
                **_provenance_fields(
                    plan, tool="SynthPersona Studio", model="persona-gen-2", generated=generated, hold=i == 3
                ),
                **_audit(plan, generated, owner),
            },
        )
        plan.label("Contact", row, "ai_generated", "explicit_field")
        personas.append(row)
    opps = []
    stages_open = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review"]
    for _ in range(40 * scale):
        owner = rng.choice(reps)
        closed = rng.random() < 0.35
        stage = rng.choice(["Closed Won", "Closed Lost"]) if closed else rng.choice(stages_open)
        created = _ago(rng, 10, 600)
        contact = rng.choice(contacts[: 80 * scale])
        opps.append(
            plan.add(
                "Opportunity",
                {
                    "Name": f"{_company(rng)} - {rng.choice(['Renewal', 'Expansion', 'New Business'])}",
                    "AccountId": contact["AccountId"],
                    "StageName": stage,
                    "CloseDate": (created + timedelta(days=rng.randrange(20, 200))).date().isoformat(),
                    "Amount": float(rng.randrange(5, 500) * 1000),
                    "Probability": 100.0 if stage == "Closed Won" else 30.0,
                    "IsClosed": int(closed),
                    "IsWon": int(stage == "Closed Won"),
                    "ForecastCategory": "Pipeline",
                    "LeadSource": rng.choice(LEAD_SOURCES),
                    "ContactId": contact["Id"],
                    "OwnerId": owner,
                    **_no_provenance(),
                    **_audit(plan, created, owner, modified_days=rng.uniform(0, 30)),
                },
            )
        )
    # Personas 0-5 sit in open opportunities (the demo pipeline); 6-9 only in closed ones or none.
    for i, persona in enumerate(personas[:8]):
        open_deal = i < 6
        created = _ago(rng, 5, 100)
        opp = plan.add(
            "Opportunity",
            {
                "Name": f"DEMO {persona['LastName']} - Pilot",
                "AccountId": persona["AccountId"],
                "StageName": "Qualification" if open_deal else "Closed Lost",
                "CloseDate": (ANCHOR + timedelta(days=30 if open_deal else -30)).date().isoformat(),
                "Amount": 25000.0,
                "Probability": 20.0 if open_deal else 0.0,
                "IsClosed": int(not open_deal),
                "IsWon": 0,
                "ForecastCategory": "Pipeline",
                "LeadSource": "Synthetic Demo",
                "ContactId": persona["Id"],
                "OwnerId": persona["OwnerId"],
                **_no_provenance(),
                **_audit(plan, created, persona["OwnerId"]),
            },
        )
        opps.append(opp)
        if open_deal:
            plan.label("Contact", persona, "synthetic_persona_in_pipeline", "open_opportunity:" + opp["Id"])

    leads: list[dict[str, Any]] = []
    statuses = ["Open - Not Contacted", "Working - Contacted", "Closed - Not Converted"]
    for i in range(600 * scale):
        owner = rng.choice(reps)
        first, last = _person(rng)
        company = _company(rng)
        scored = i % 5 != 4
        leads.append(
            plan.add(
                "Lead",
                {
                    "FirstName": first,
                    "LastName": last,
                    "Company": company,
                    "Title": rng.choice(["CFO", "Buyer", "CTO"]),
                    "Email": _email(first, last, company, i),
                    "Phone": None,
                    "Status": rng.choice(statuses),
                    "LeadSource": rng.choice(LEAD_SOURCES),
                    "Industry": rng.choice(INDUSTRIES),
                    "Country": rng.choice(COUNTRIES),
                    "AnnualRevenue": float(rng.randrange(1, 900) * 10000),
                    "NumberOfEmployees": rng.randrange(5, 5000),
                    "OwnerId": owner,
                    "IsConverted": 0,
                    "Synthetic_Persona__c": 0,
                    **_no_provenance(),
                    "Lead_Score__c": round(min(100.0, max(0.0, rng.gauss(50, 12))), 1) if scored else None,
                    "Score_Model__c": "LeadScorer v3" if scored else None,
                    "Score_Automated_Decision__c": 0,
                    **_audit(plan, _ago(rng, 1, 700), owner, modified_days=rng.uniform(0, 60)),
                },
            )
        )
    # Leads built from synthetic inputs (SynthPersona enrichment), scored by the same model: the
    # planted bias is their higher score (mean 74 against 50).
    for i in range(40):
        owner = users["rep2"] if i % 2 else users["marketing"]
        generated = _safe_age(rng, 90, (3, 300))
        first, last = _person(rng)
        company = _company(rng)
        in_pipeline = i % 4 != 3
        row = plan.add(
            "Lead",
            {
                "FirstName": first,
                "LastName": last,
                "Company": company,
                "Title": "Demo Persona",
                "Email": _email(first, last, "persona-lead", i),
                "Status": "Working - Contacted" if in_pipeline else "Closed - Not Converted",
                "LeadSource": "Synthetic Demo",
                "Industry": rng.choice(INDUSTRIES),
                "Country": rng.choice(COUNTRIES),
                "OwnerId": owner,
                "IsConverted": 0,
                "Synthetic_Persona__c": 1,
                **_provenance_fields(
                    plan, tool="SynthPersona Studio", model="persona-gen-2", generated=generated, hold=i == 7
                ),
                "Lead_Score__c": round(min(100.0, max(0.0, rng.gauss(74, 8))), 1),
                "Score_Model__c": "LeadScorer v3",
                "Score_Automated_Decision__c": 0,
                **_audit(plan, generated, owner),
            },
        )
        plan.label("Lead", row, "ai_generated", "explicit_field")
        if in_pipeline:
            plan.label("Lead", row, "synthetic_persona_in_pipeline", "open_lead_status")
        leads.append(row)
    # Art. 22: leads auto-routed or auto-disqualified by the score; some reviewed by a person.
    for i, row in enumerate(leads[:30]):
        row["Score_Automated_Decision__c"] = 1
        reviewed = i % 3 == 0
        row["Human_Reviewed__c"] = int(reviewed)
        if not reviewed:
            row["Status"] = "Closed - Not Converted"
            plan.label("Lead", row, "automated_decision_without_review", "field:Score_Automated_Decision__c")
    # A few deleted records sit in the Recycle Bin: queryAll sees them, query does not.
    for row in leads[200:205] + contacts[70:72]:
        obj = "Lead" if row in leads else "Contact"
        deleted = ANCHOR - timedelta(days=rng.uniform(1, 10))
        row["IsDeleted"] = 1
        row["SystemModstamp"] = row["LastModifiedDate"] = _ts(deleted)
        plan.deletions.append((obj, row["Id"], _ts(deleted)))
    return accounts, contacts, leads, opps


def _activities(
    plan: Plan,
    users: dict[str, str],
    accounts: list[str],
    contacts: list[dict[str, Any]],
    leads: list[dict[str, Any]],
    opps: list[dict[str, Any]],
    scale: int,
) -> None:
    rng, reps = plan.rng, _reps(users)
    live_contacts = [c for c in contacts if not c.get("IsDeleted") and not c["Synthetic_Persona__c"]]
    live_leads = [ld for ld in leads if not ld.get("IsDeleted") and not ld["Synthetic_Persona__c"]]

    def task(
        owner: str, created: datetime, subject: str, description: str, who: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return plan.add(
            "Task",
            {
                "Subject": subject,
                "Status": "Completed",
                "Priority": "Normal",
                "ActivityDate": created.date().isoformat(),
                "WhoId": who["Id"],
                "WhatId": who.get("AccountId"),
                "AccountId": who.get("AccountId"),
                "OwnerId": owner,
                "TaskSubtype": "Call",
                "Description": description,
                "IsClosed": 1,
                "IsArchived": 0,
                "CompletedDateTime": _ts(created),
                **(extra or _no_provenance()),
                **_audit(plan, created, owner),
            },
        )

    def email(
        owner: str,
        created: datetime,
        subject: str,
        body: str,
        about: dict[str, Any],
        *,
        status: str = "3",
        **extra: Any,
    ) -> dict[str, Any]:
        sender = next((u for u in plan.rows["User"] if u["Id"] == owner), plan.rows["User"][0])
        return plan.add(
            "EmailMessage",
            {
                "RelatedToId": about["Id"],
                "Subject": subject,
                "FromAddress": sender["Username"],
                "FromName": f"{sender['FirstName']} {sender['LastName']}",
                "ToAddress": about.get("Email"),
                "TextBody": body,
                "HtmlBody": f"<p>{body}</p>",
                "Incoming": 0,
                "MessageDate": _ts(created),
                "Status": status,
                **(extra or _no_provenance()),
                **_audit(plan, created, owner),
            },
        )

    # Authentic background activity.
    for _ in range(120 * scale):
        owner = rng.choice(reps)
        task(owner, _ago(rng, 1, 500), "Call", "Discussed pricing and next steps.", rng.choice(live_contacts))
    for i in range(60 * scale):
        owner = rng.choice(reps)
        about = rng.choice(live_leads)
        body = TRAPS[i % 2] if i < 6 else f"Hello {about['FirstName']}, thanks for your time today. Best regards"
        email(owner, _ago(rng, 1, 500), "Following up", body, about)

    # Tagged AI e-mails (Einstein GPT / Copy.ai drafts), sent with or without disclosure.
    for i in range(40):
        owner = reps[i % 3]
        tool, model = AI_TOOLS[i % 2]
        generated = _safe_age(rng, 180, (2, 500))
        about = rng.choice([*live_leads[:100], *live_contacts[:50]])
        disclosed = i % 4 == 0
        reviewed = i % 5 == 1
        status = "5" if i % 10 == 9 else "3"
        row = email(
            owner,
            generated,
            f"Tailored proposal for {about['LastName']}",
            f"Dear {about['FirstName']}, based on your needs we suggest our premium plan.",
            about,
            status=status,
            **_provenance_fields(
                plan,
                tool=tool,
                model=model,
                generated=generated,
                disclosed=disclosed,
                reviewed=reviewed,
                hold=i in (5, 17),
            ),
        )
        plan.label("EmailMessage", row, "ai_generated", "explicit_field")
        if status == "3" and not disclosed:
            plan.label("EmailMessage", row, "undisclosed_ai_communication", "field:AI_Disclosure_Shown__c")
        if i % 6 == 0:
            _provenance_record(
                plan,
                "EmailMessage",
                row,
                tool,
                model,
                generated,
                owner,
                disclosure="Shown" if disclosed else "Not Shown",
                reviewer=users["compliance"] if reviewed else None,
                source_type="trainedAlgorithmicMedia",
            )
    # AI e-mails known only from an AI_Content_Provenance__c record (the field tags were never set).
    for i in range(8):
        owner = reps[3 + i % 3]
        tool, model = AI_TOOLS[0]
        generated = _safe_age(rng, 180, (2, 500))
        about = rng.choice(live_leads[:100])
        row = email(
            owner, generated, "Quick question", f"Hi {about['FirstName']}, may I share a short case study?", about
        )
        _provenance_record(
            plan,
            "EmailMessage",
            row,
            tool,
            model,
            generated,
            owner,
            disclosure="Not Shown",
            reviewer=None,
            source_type="trainedAlgorithmicMedia",
        )
        plan.label("EmailMessage", row, "ai_generated", "provenance_record")
        plan.label("EmailMessage", row, "undisclosed_ai_communication", "provenance_record:Disclosure__c")
    # An outreach integration that drops the provenance flags: untagged AI e-mails.
    bot = users["genai_bot"]
    for i in range(20):
        generated = _safe_age(rng, 180, (2, 400))
        about = rng.choice(live_leads[:150])
        row = email(
            bot,
            generated,
            f"{about['Company']}: three ideas for Q{1 + i % 4}",
            f"Hi {about['FirstName']}, here are three ideas tailored to {about['Company']}.",
            about,
        )
        plan.label("EmailMessage", row, "ai_generated", "integration_user")
        plan.label("EmailMessage", row, "untagged_ai", "integration_user")
        plan.label("EmailMessage", row, "undisclosed_ai_communication", "integration_user")
    # Humans pasting AI text without tagging it: only a text marker gives it away (heuristic).
    for i in range(6):
        owner = reps[i % 8]
        about = rng.choice(live_leads[:150])
        row = email(
            owner,
            _ago(rng, 2, 300),
            "Proposal",
            f"{TEXT_MARKERS[i % 3]} Here is a summary of our offer for {about['Company']}.",
            about,
        )
        plan.label("EmailMessage", row, "ai_generated", "text_marker")
        plan.label("EmailMessage", row, "untagged_ai", "text_marker")
    # Call summaries: tagged ones by Einstein, untagged ones from the activity-capture bot.
    for i in range(30):
        owner = reps[i % 8]
        generated = _safe_age(rng, 90, (2, 300))
        row = task(
            owner,
            generated,
            "Call summary",
            "Summary generated from the call recording: customer wants a demo.",
            rng.choice(live_contacts),
            **_provenance_fields(
                plan,
                tool="Einstein GPT",
                model="gpt-4o-2024-08",
                generated=generated,
                reviewed=i % 5 == 0,
                hold=i == 11,
            ),
        )
        plan.label("Task", row, "ai_generated", "explicit_field")
    for _ in range(15):
        generated = _safe_age(rng, 90, (2, 300))
        row = task(
            users["einstein_bot"],
            generated,
            "Call summary",
            "Summary: next step is a pricing review.",
            rng.choice(live_contacts),
        )
        plan.label("Task", row, "ai_generated", "integration_user")
        plan.label("Task", row, "untagged_ai", "integration_user")


def _files(plan: Plan, users: dict[str, str], identity_dir: Path) -> None:
    from synthgov_sandbox.demo.media import load_or_create_identity, render_image, sign_image

    rng = plan.rng
    identity = load_or_create_identity(identity_dir)
    reps = _reps(users)
    # (count, kind, digital source type or None, tagged, labels)
    specs: list[tuple[int, str | None, bool, tuple[str, ...]]] = [
        (8, "trainedAlgorithmicMedia", True, ("ai_generated", "deepfake_media")),
        (6, "trainedAlgorithmicMedia", False, ("ai_generated", "untagged_ai", "deepfake_media")),
        (4, "compositeWithTrainedAlgorithmicMedia", True, ("ai_generated",)),
        (6, "digitalCapture", False, ()),
        (12, None, False, ()),
    ]
    n = 0
    for count, source_type, tagged, labels in specs:
        for _ in range(count):
            n += 1
            kind = "png" if n % 2 else "jpeg"
            ext = "png" if kind == "png" else "jpg"
            mime = "image/png" if kind == "png" else "image/jpeg"
            data = render_image(kind, 1000 + n)
            tool, model = MEDIA_TOOLS[n % 3]
            title = f"campaign-visual-{n:03d}" if source_type else f"site-photo-{n:03d}"
            if source_type:
                agent = f"{tool} {model}" if source_type != "digitalCapture" else "Canon EOS R5"
                data = sign_image(
                    data, mime, identity, digital_source_type=source_type, title=title, software_agent=agent
                )
            owner = users["rep3"] if source_type == "trainedAlgorithmicMedia" else rng.choice(reps)
            generated = _safe_age(rng, 365, (3, 720))
            ai = source_type in ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
            prov = (
                _provenance_fields(plan, tool=tool, model=model, generated=generated, hold=n == 3)
                if tagged
                else _no_provenance()
            )
            row = _add_file(
                plan, title, f"{title}.{ext}", data, owner, generated, prov, file_type=kind.upper(), extension=ext
            )
            for label in labels:
                evidence = "explicit_field" if tagged and label == "ai_generated" else "c2pa:" + str(source_type)
                plan.label("ContentVersion", row, label, evidence)
            if ai and not tagged:
                assert "untagged_ai" in labels

    _files_a_name_cannot_steer(plan, users, identity)


def _add_file(
    plan: Plan,
    title: str,
    path_on_client: str,
    data: bytes,
    owner: str,
    created: datetime,
    provenance: dict[str, Any],
    *,
    file_type: str,
    extension: str | None,
) -> dict[str, Any]:
    """A ContentDocument with its one ContentVersion holding `data`; returns the version's row."""
    doc_id, ver_id = plan.new_id("ContentDocument"), plan.new_id("ContentVersion")
    audit = _audit(plan, created, owner)
    plan.add(
        "ContentDocument",
        {
            "Id": doc_id,
            "Title": title,
            "FileType": file_type,
            "FileExtension": extension,
            "LatestPublishedVersionId": ver_id,
            "OwnerId": owner,
            "IsArchived": 0,
            "ContentSize": len(data),
            **audit,
        },
    )
    return plan.add(
        "ContentVersion",
        {
            "Id": ver_id,
            "ContentDocumentId": doc_id,
            "IsLatest": 1,
            "Title": title,
            "PathOnClient": path_on_client,
            "FileType": file_type,
            "FileExtension": extension,
            "VersionData": data,
            "OwnerId": owner,
            "Description": None,
            **provenance,
            **audit,
        },
    )


def _files_a_name_cannot_steer(plan: Plan, users: dict[str, str], identity: SigningIdentity) -> None:
    """Files whose name says nothing or lies, and files C2PA inspection cannot look into.

    A camera-style name without an extension (FileType UNKNOWN, as Salesforce derives it) on an AI image
    must not hide it: inspection reads the bytes. A gzip'd CSV export is a format c2pa does not read, and
    a PNG cut off mid-upload is one c2pa cannot parse: both must be reported, with the reason, never
    skipped. Fixed dates and seeds, no draw from the random stream, so every other record stays as it was.
    """
    from synthgov_sandbox.demo.media import render_image, sign_image

    ai_image = sign_image(
        render_image("jpeg", 4242),
        "image/jpeg",
        identity,
        digital_source_type="trainedAlgorithmicMedia",
        title="IMG_0042",
        software_agent="DeepStudio deepstudio-faces-4",
    )
    export = gzip.compress(
        b"Id,Company,Email\n" + b"".join(b"00Q%05d,Acme GmbH,lead%d@example.com\n" % (i, i) for i in range(40)),
        mtime=0,  # the same bytes on every seed
    )
    photo = render_image("png", 4243)
    ai_labels = ("ai_generated", "untagged_ai", "deepfake_media")
    # (title, PathOnClient, bytes, owner, days before ANCHOR, labels, their evidence)
    files = [
        ("IMG_0042", "IMG_0042", ai_image, users["rep3"], 40, ai_labels, "c2pa:trainedAlgorithmicMedia"),
        (
            "lead-export-2026-10",
            "lead-export-2026-10.csv.gz",
            export,
            users["marketing"],
            12,
            ("media_not_inspected",),
            "not_inspectable:application/x-gzip",
        ),
        (
            "site-photo-upload",
            "site-photo-upload.png",
            photo[: len(photo) // 2],
            users["rep5"],
            25,
            ("media_not_inspected",),
            "unreadable:image/png",
        ),
    ]
    for title, path, data, owner, days_ago, labels, evidence in files:
        extension = extension_of(path)
        row = _add_file(
            plan,
            title,
            path,
            data,
            owner,
            ANCHOR - timedelta(days=days_ago, hours=3),
            _no_provenance(),
            file_type=FILE_TYPES.get(extension or "", UNKNOWN),
            extension=extension,
        )
        for label in labels:
            plan.label("ContentVersion", row, label, evidence)


def _audit_trail(plan: Plan, users: dict[str, str]) -> None:
    rng = plan.rng
    entries = [
        ("Installed package SynthPersona Studio", "Installed Packages"),
        ("Installed package DeepStudio Media", "Installed Packages"),
        ("Installed package Copy.ai for Salesforce", "Installed Packages"),
        ("Permission set Synthetic_Data_Generator: assigned to user rep2@" + ORG_DOMAIN, "Manage Users"),
        ("Permission set DeepStudio_Media_Generation: assigned to user rep3@" + ORG_DOMAIN, "Manage Users"),
        ("Permission set Einstein_Generative_AI: assigned to user rep1@" + ORG_DOMAIN, "Manage Users"),
        ("Changed Einstein GPT settings", "Einstein Generative AI"),
    ]
    for action, section in entries:
        created = _ago(rng, 1, 170)
        plan.add(
            "SetupAuditTrail",
            {
                "Action": action.split(":")[0].split(" ")[0].lower(),
                "Section": section,
                "Display": action,
                "DelegateUser": None,
                "CreatedByContext": None,
                "ResponsibleNamespacePrefix": None,
                "CreatedDate": _ts(created),
                "CreatedById": users["admin"],
                "SystemModstamp": _ts(created),
            },
        )
