"""The sandbox org's metadata: objects, fields and relationships, as describe reports them.

Everything else in the sandbox (the SQLite tables, the SOQL compiler, describe, the seed)
is derived from this one catalogue, so that a field exists everywhere or nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

API_VERSION = "59.0"

# Field types as describe reports them, with the SOAP type and the SQLite storage class.
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "url": "xsd:string",
    "picklist": "xsd:string",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
}
TEXT_TYPES = frozenset({"id", "reference", "string", "textarea", "email", "phone", "url", "picklist"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int = 0
    nillable: bool = True
    label: str = ""
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    external_id: bool = False
    calculated: bool = False
    picklist_values: tuple[str, ...] = ()
    # Filled in on create when the client leaves the field out (picklist defaults).
    default: str | None = None

    @property
    def sql_type(self) -> str:
        if self.type in ("boolean", "int"):
            return "INTEGER"
        if self.type in NUMBER_TYPES:
            return "REAL"
        if self.type == "base64":
            return "BLOB"
        if self.type in ("id", "reference"):
            # Ids are case-sensitive keys; binary order is their serial order.
            return "TEXT"
        if self.type in TEXT_TYPES:
            # Salesforce compares text case-insensitively; NOCASE makes `=`, IN and
            # ORDER BY behave the same way in SQLite.
            return "TEXT COLLATE NOCASE"
        return "TEXT"

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label or self.name.removesuffix("__c").replace("_", " "),
            "length": self.length,
            "byteLength": self.length * 3,
            "nillable": self.nillable,
            "custom": self.custom,
            "createable": self.createable,
            "updateable": self.updateable,
            "filterable": self.type != "textarea" or self.length <= 255,
            "sortable": self.type not in ("textarea", "base64"),
            "groupable": self.type not in ("textarea", "base64", "double", "currency", "percent", "datetime"),
            "calculated": self.calculated,
            "externalId": self.external_id,
            "idLookup": self.name == "Id" or self.external_id,
            "unique": self.external_id,
            "relationshipName": self.relationship_name,
            "referenceTo": list(self.reference_to),
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "soapType": _SOAP_TYPES[self.type],
            "defaultValue": False if self.type == "boolean" else self.default,
            "defaultedOnCreate": self.type == "boolean" or self.name in _AUDIT_FIELD_NAMES or self.default is not None,
            "precision": 18 if self.type in ("double", "currency", "percent") else 0,
            "scale": 2 if self.type in ("double", "currency", "percent") else 0,
            "digits": 9 if self.type == "int" else 0,
            "compoundFieldName": None,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "validFor": None, "value": v}
                for v in self.picklist_values
            ],
        }


@dataclass(frozen=True)
class SObject:
    name: str
    key_prefix: str
    label: str
    fields: tuple[Field, ...]
    custom: bool = False
    deletable: bool = True
    createable: bool = True
    updateable: bool = True
    replicateable: bool = True
    # Objects that only the Tooling API serves.
    tooling: bool = False
    # Whether DELETE goes to the Recycle Bin (IsDeleted) or removes the row at once.
    recycle_bin: bool = True
    # Text the default describe name field is computed from (Lead.Name = First + Last).
    name_from: tuple[str, ...] = ()
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name.lower())

    @property
    def has_is_deleted(self) -> bool:
        return "isdeleted" in self.by_name

    @property
    def blob_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.type == "base64")

    @property
    def relationships(self) -> dict[str, Field]:
        """Parent relationship name (lower case) -> the reference field behind it."""
        return {f.relationship_name.lower(): f for f in self.fields if f.relationship_name and len(f.reference_to) == 1}

    def describe(self, base: str) -> dict[str, object]:
        info = self.summary(base)
        info["fields"] = [f.describe() for f in self.fields]
        info["childRelationships"] = []
        info["recordTypeInfos"] = []
        return info

    def summary(self, base: str) -> dict[str, object]:
        url = f"{base}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "customSetting": False,
            "queryable": True,
            "retrieveable": True,
            "searchable": not self.tooling,
            "replicateable": self.replicateable,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "undeletable": self.deletable and self.recycle_bin,
            "layoutable": not self.tooling,
            "triggerable": not self.tooling,
            "urls": {
                "sobject": url,
                "describe": f"{url}/describe",
                "rowTemplate": f"{url}/{{ID}}",
            },
        }


def _f(name: str, type_: str, length: int = 0, **kw: Any) -> Field:
    if type_ in ("string", "email", "phone", "url", "picklist") and not length:
        length = 255
    if type_ == "textarea" and not length:
        length = 32000
    if type_ in ("id", "reference"):
        length = 18
    return Field(name, type_, length=length, custom=name.endswith("__c"), **kw)


def _ref(name: str, *targets: str, nillable: bool = True) -> Field:
    rel = name[:-2] if name.endswith("Id") else name.removesuffix("__c") + "__r"
    return Field(
        name,
        "reference",
        length=18,
        nillable=nillable,
        custom=name.endswith("__c"),
        reference_to=targets,
        relationship_name=rel,
    )


_RO: dict[str, Any] = {"createable": False, "updateable": False}
_AUDIT_FIELD_NAMES = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}
)


def _audit(*, is_deleted: bool = True, created: bool = True, modified: bool = True) -> tuple[Field, ...]:
    out = [Field("Id", "id", length=18, nillable=False, **_RO)]
    if is_deleted:
        out.append(Field("IsDeleted", "boolean", nillable=False, **_RO))
    if created:
        out += [
            Field("CreatedDate", "datetime", nillable=False, createable=False, updateable=False),
            Field(
                "CreatedById",
                "reference",
                18,
                False,
                reference_to=("User",),
                relationship_name="CreatedBy",
                createable=False,
                updateable=False,
            ),
        ]
    if modified:
        out += [
            Field("LastModifiedDate", "datetime", nillable=False, createable=False, updateable=False),
            Field(
                "LastModifiedById",
                "reference",
                18,
                False,
                reference_to=("User",),
                relationship_name="LastModifiedBy",
                **_RO,
            ),
        ]
    out.append(Field("SystemModstamp", "datetime", nillable=False, **_RO))
    return tuple(out)


def _provenance_fields() -> tuple[Field, ...]:
    """The provenance schema the demo org carries on its content objects."""
    return (
        Field("AI_Generated__c", "boolean", nillable=False, custom=True, label="AI Generated"),
        _f("AI_Tool__c", "string", 120, label="AI Tool"),
        _f("AI_Model__c", "string", 120, label="AI Model"),
        _f("AI_Generated_At__c", "datetime", label="AI Generated At"),
        Field("AI_Disclosure_Shown__c", "boolean", nillable=False, custom=True, label="AI Disclosure Shown"),
        Field("Human_Reviewed__c", "boolean", nillable=False, custom=True, label="Human Reviewed"),
        Field("Legal_Hold__c", "boolean", nillable=False, custom=True, label="Legal Hold"),
    )


def _training_consent_field() -> Field:
    """The person's consent to their record being used to train models (GDPR Art. 6(1)(a), 7)."""
    return Field("AI_Training_Consent__c", "boolean", nillable=False, custom=True, label="AI Training Consent")


_LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
_STAGES = ("Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")


def _objects() -> tuple[SObject, ...]:
    owner = _ref("OwnerId", "User", nillable=False)
    return (
        SObject(
            "Organization",
            "00D",
            "Organization",
            _audit(is_deleted=False)
            + (
                _f("Name", "string", 80),
                _f("OrganizationType", "string", 40),
                Field("IsSandbox", "boolean", nillable=False),
                _f("InstanceName", "string", 5),
                _f("Country", "string", 80),
            ),
            deletable=False,
            createable=False,
            updateable=False,
        ),
        SObject(
            "User",
            "005",
            "User",
            _audit(is_deleted=False)
            + (
                _f("Username", "string", 80, nillable=False),
                _f("Email", "email", 128),
                _f("FirstName", "string", 40),
                _f("LastName", "string", 80, nillable=False),
                Field("Name", "string", 121, calculated=True, createable=False, updateable=False),
                _f("Alias", "string", 8),
                Field("IsActive", "boolean", nillable=False),
                _f(
                    "UserType",
                    "picklist",
                    40,
                    picklist_values=("Standard", "AutomatedProcess", "CloudIntegrationUser", "CsnOnly"),
                ),
                _f("ProfileId", "string", 18),
                _f("UserRoleId", "string", 18),
                _ref("ManagerId", "User"),
                _f("Title", "string", 80),
                _f("Department", "string", 80),
                _f("LastLoginDate", "datetime"),
            ),
            deletable=False,
            name_from=("FirstName", "LastName"),
        ),
        SObject(
            "Account",
            "001",
            "Account",
            _audit()
            + (
                _f("Name", "string", nillable=False),
                _f("Type", "picklist", 40, picklist_values=("Prospect", "Customer - Direct", "Partner")),
                _ref("ParentId", "Account"),
                _f("Industry", "picklist", 40),
                _f("AnnualRevenue", "currency"),
                _f("BillingCity", "string", 40),
                _f("BillingCountry", "string", 80),
                _f("Website", "url"),
                owner,
            ),
        ),
        SObject(
            "Contact",
            "003",
            "Contact",
            _audit()
            + (
                _ref("AccountId", "Account"),
                _f("FirstName", "string", 40),
                _f("LastName", "string", 80, nillable=False),
                Field("Name", "string", 121, calculated=True, createable=False, updateable=False),
                _f("Email", "email", 80),
                _f("Phone", "phone", 40),
                _f("Title", "string", 128),
                _f("MailingCity", "string", 40),
                _f("MailingCountry", "string", 80),
                owner,
                _ref("ReportsToId", "Contact"),
                Field("HasOptedOutOfEmail", "boolean", nillable=False),
                _f("LeadSource", "picklist", 40),
            )
            + _provenance_fields()
            + (
                Field("Synthetic_Persona__c", "boolean", nillable=False, custom=True, label="Synthetic Persona"),
                _training_consent_field(),
            ),
            name_from=("FirstName", "LastName"),
        ),
        SObject(
            "Lead",
            "00Q",
            "Lead",
            _audit()
            + (
                _f("FirstName", "string", 40),
                _f("LastName", "string", 80, nillable=False),
                Field("Name", "string", 121, calculated=True, createable=False, updateable=False),
                _f("Company", "string", nillable=False),
                _f("Title", "string", 128),
                _f("Email", "email", 80),
                _f("Phone", "phone", 40),
                _f("Status", "picklist", 40, nillable=False, picklist_values=_LEAD_STATUS, default=_LEAD_STATUS[0]),
                _f("LeadSource", "picklist", 40),
                _f("Industry", "picklist", 40),
                _f("Country", "string", 80),
                _f("AnnualRevenue", "currency"),
                _f("NumberOfEmployees", "int"),
                owner,
                Field("IsConverted", "boolean", nillable=False),
                _ref("ConvertedAccountId", "Account"),
                _ref("ConvertedContactId", "Contact"),
                _ref("ConvertedOpportunityId", "Opportunity"),
            )
            + _provenance_fields()
            + (
                Field("Synthetic_Persona__c", "boolean", nillable=False, custom=True, label="Synthetic Persona"),
                _f("Lead_Score__c", "double", label="Lead Score"),
                _f("Score_Model__c", "string", 120, label="Score Model"),
                Field(
                    "Score_Automated_Decision__c",
                    "boolean",
                    nillable=False,
                    custom=True,
                    label="Score Automated Decision",
                ),
                _training_consent_field(),
            ),
            name_from=("FirstName", "LastName"),
        ),
        SObject(
            "Opportunity",
            "006",
            "Opportunity",
            _audit()
            + (
                _f("Name", "string", 120, nillable=False),
                _ref("AccountId", "Account"),
                _f("StageName", "picklist", 40, nillable=False, picklist_values=_STAGES),
                _f("CloseDate", "date", nillable=False),
                _f("Amount", "currency"),
                _f("Probability", "percent"),
                Field("IsClosed", "boolean", nillable=False),
                Field("IsWon", "boolean", nillable=False),
                _f("ForecastCategory", "picklist", 40),
                _f("LeadSource", "picklist", 40),
                _ref("ContactId", "Contact"),
                owner,
            )
            + _provenance_fields(),
        ),
        SObject(
            "Task",
            "00T",
            "Task",
            _audit()
            + (
                _f("Subject", "string"),
                _f(
                    "Status",
                    "picklist",
                    40,
                    nillable=False,
                    picklist_values=("Not Started", "In Progress", "Completed"),
                    default="Not Started",
                ),
                _f("Priority", "picklist", 40, picklist_values=("High", "Normal", "Low"), default="Normal"),
                _f("ActivityDate", "date"),
                _ref("WhoId", "Contact", "Lead"),
                _ref("WhatId", "Account", "Opportunity"),
                _ref("AccountId", "Account"),
                owner,
                _f("TaskSubtype", "picklist", 40),
                _f("Description", "textarea"),
                Field("IsClosed", "boolean", nillable=False),
                Field("IsArchived", "boolean", nillable=False),
                _f("CompletedDateTime", "datetime"),
            )
            + _provenance_fields(),
        ),
        SObject(
            "EmailMessage",
            "02s",
            "Email Message",
            _audit()
            + (
                _f("ParentId", "reference"),
                _ref("ActivityId", "Task"),
                _ref("RelatedToId", "Account", "Opportunity", "Lead", "Contact"),
                _f("Subject", "string", 3000),
                _f("FromAddress", "email"),
                _f("FromName", "string", 1000),
                _f("ToAddress", "string", 4000),
                _f("CcAddress", "string", 4000),
                _f("TextBody", "textarea"),
                _f("HtmlBody", "textarea"),
                Field("Incoming", "boolean", nillable=False),
                _f("MessageDate", "datetime"),
                _f("Status", "picklist", 40, picklist_values=("0", "1", "2", "3", "4", "5")),
            )
            + _provenance_fields(),
        ),
        SObject(
            "ContentDocument",
            "069",
            "Content Document",
            _audit()
            + (
                _f("Title", "string"),
                _f("FileType", "string", 20),
                _f("FileExtension", "string", 40),
                _f("LatestPublishedVersionId", "reference", reference_to=("ContentVersion",)),
                _f("ParentId", "reference"),
                owner,
                Field("IsArchived", "boolean", nillable=False),
                _f("ContentSize", "int"),
            ),
            createable=False,
        ),
        SObject(
            "ContentVersion",
            "068",
            "Content Version",
            _audit()
            + (
                _ref("ContentDocumentId", "ContentDocument"),
                Field("IsLatest", "boolean", nillable=False),
                _f("Title", "string"),
                _f("PathOnClient", "string", 500),
                _f("FileType", "string", 20, createable=False, updateable=False),
                _f("FileExtension", "string", 40),
                _f("ContentSize", "int", createable=False, updateable=False),
                Field("VersionData", "base64", updateable=False),
                _f("Checksum", "string", 50, createable=False, updateable=False),
                owner,
                _f("FirstPublishLocationId", "reference"),
                _f("Description", "textarea", 1000),
            )
            + _provenance_fields(),
            deletable=False,
        ),
        SObject(
            "PermissionSet",
            "0PS",
            "Permission Set",
            _audit(is_deleted=False)
            + (
                _f("Name", "string", 80, nillable=False),
                _f("Label", "string", 80, nillable=False),
                _f("Description", "textarea", 255),
                _f("Type", "picklist", 40, picklist_values=("Regular", "Profile", "Session", "Group")),
                Field("IsOwnedByProfile", "boolean", nillable=False),
                Field("IsCustom", "boolean", nillable=False),
                _f("ProfileId", "string", 18),
                _f("LicenseId", "string", 18),
                _f("NamespacePrefix", "string", 15),
                Field("PermissionsApiEnabled", "boolean", nillable=False),
                Field("PermissionsModifyAllData", "boolean", nillable=False),
                Field("PermissionsViewAllData", "boolean", nillable=False),
            ),
            recycle_bin=False,
        ),
        SObject(
            "PermissionSetAssignment",
            "0Pa",
            "Permission Set Assignment",
            _audit(is_deleted=False, created=False, modified=False)
            + (
                _ref("AssigneeId", "User", nillable=False),
                _ref("PermissionSetId", "PermissionSet", nillable=False),
                _f("PermissionSetGroupId", "reference"),
                _f("ExpirationDate", "datetime"),
                Field("IsActive", "boolean", nillable=False),
                Field("IsRevoked", "boolean", nillable=False),
            ),
            updateable=False,
            recycle_bin=False,
            replicateable=False,
        ),
        SObject(
            "SetupAuditTrail",
            "0Ym",
            "Setup Audit Trail",
            _audit(is_deleted=False, modified=False)
            + (
                _f("Action", "string", 240),
                _f("Section", "string", 240),
                _f("Display", "string", 1000),
                _f("DelegateUser", "string", 80),
                _f("CreatedByContext", "string", 80),
                _f("ResponsibleNamespacePrefix", "string", 15),
            ),
            deletable=False,
            createable=False,
            updateable=False,
            replicateable=False,
        ),
        SObject(
            "PackageLicense",
            "050",
            "Package License",
            _audit(is_deleted=False)
            + (
                _f("NamespacePrefix", "string", 15),
                _f("Status", "picklist", 40, picklist_values=("Active", "Expired", "Free", "Trial")),
                _f("AllowedLicenses", "int"),
                _f("UsedLicenses", "int"),
                _f("ExpirationDate", "datetime"),
                Field("IsProvisioned", "boolean", nillable=False),
            ),
            deletable=False,
            createable=False,
            updateable=False,
        ),
        SObject(
            "AI_Content_Provenance__c",
            "a01",
            "AI Content Provenance",
            _audit()
            + (
                Field("Name", "string", 80, nillable=False, label="Provenance Number"),
                owner,
                _f("Record_Id__c", "string", 18, nillable=False, label="Record Id"),
                _f("Object_Type__c", "string", 80, nillable=False, label="Object Type"),
                _f("Tool__c", "string", 120, label="Tool"),
                _f("Model__c", "string", 120, label="Model"),
                _f("Prompt_Hash__c", "string", 64, label="Prompt Hash"),
                _f("Generated_At__c", "datetime", label="Generated At"),
                _ref("Reviewed_By__c", "User"),
                _f(
                    "Disclosure__c",
                    "picklist",
                    40,
                    label="Disclosure",
                    picklist_values=("Shown", "Not Shown", "Not Required"),
                ),
                _f("Digital_Source_Type__c", "string", 80, label="Digital Source Type"),
                _f("Generation_Run_Id__c", "string", 64, label="Generation Run Id", external_id=True),
            ),
            custom=True,
        ),
        # Tooling API objects (InstalledSubscriberPackage and the package metadata it joins).
        SObject(
            "SubscriberPackage",
            "033",
            "Subscriber Package",
            (
                Field("Id", "id", length=18, nillable=False, createable=False, updateable=False),
                _f("Name", "string"),
                _f("NamespacePrefix", "string", 15),
                _f("Description", "textarea", 1000),
            ),
            tooling=True,
            deletable=False,
            createable=False,
            updateable=False,
            replicateable=False,
        ),
        SObject(
            "SubscriberPackageVersion",
            "04t",
            "Subscriber Package Version",
            (
                Field("Id", "id", length=18, nillable=False, createable=False, updateable=False),
                _f("Name", "string"),
                _ref("SubscriberPackageId", "SubscriberPackage"),
                _f("MajorVersion", "int"),
                _f("MinorVersion", "int"),
                _f("PatchVersion", "int"),
                _f("BuildNumber", "int"),
                Field("IsManaged", "boolean", nillable=False),
            ),
            tooling=True,
            deletable=False,
            createable=False,
            updateable=False,
            replicateable=False,
        ),
        SObject(
            "InstalledSubscriberPackage",
            "0A3",
            "Installed Subscriber Package",
            (
                Field("Id", "id", length=18, nillable=False, createable=False, updateable=False),
                _ref("SubscriberPackageId", "SubscriberPackage"),
                _ref("SubscriberPackageVersionId", "SubscriberPackageVersion"),
                _f("MinPackageVersionId", "reference"),
            ),
            tooling=True,
            deletable=False,
            createable=False,
            updateable=False,
            replicateable=False,
        ),
    )


@cache
def catalogue() -> dict[str, SObject]:
    """All objects by lower-case name."""
    return {o.name.lower(): o for o in _objects()}


def get_object(name: str, *, tooling: bool = False) -> SObject | None:
    obj = catalogue().get(name.lower())
    if obj is None or obj.tooling != tooling:
        return None
    return obj


def by_prefix(prefix: str) -> SObject | None:
    for obj in catalogue().values():
        if obj.key_prefix == prefix:
            return obj
    return None
