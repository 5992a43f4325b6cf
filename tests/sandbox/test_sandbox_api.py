"""The sandbox org driven by unmodified simple-salesforce and the Airflow SalesforceHook, over HTTPS."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from synthgov_sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

PAGE_200 = {"Sforce-Query-Options": "batchSize=200"}


def client(org: SandboxProcess) -> Any:
    """simple-salesforce, typed loosely: its `sf.<Object>` attributes are dynamic."""
    return Salesforce(instance_url=org.instance_url, session_id=org.token(), version="59.0")


def error_code(err: Any) -> str:
    """The Salesforce errorCode of a simple-salesforce exception caught by pytest.raises."""
    return str(err.value.content[0]["errorCode"])


def raw(org: SandboxProcess, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {org.token()}", **kwargs.pop("headers", {})}
    return requests.request(
        method, f"{org.instance_url}{path}", headers=headers, verify=org.ca_bundle, timeout=60, **kwargs
    )


def live_count(org: SandboxProcess, obj: str) -> int:
    return int(org.control("GET", "stats")["objects"][obj]["records"])


# -- describe ---------------------------------------------------------------------------------


def test_describe_lists_objects_and_custom_provenance_fields(org: SandboxProcess) -> None:
    sf = client(org)
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "EmailMessage", "ContentVersion", "AI_Content_Provenance__c"} <= names
    assert "InstalledSubscriberPackage" not in names  # Tooling only
    lead = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert lead["AI_Generated__c"]["type"] == "boolean"
    assert lead["AI_Generated__c"]["custom"] is True
    assert lead["AI_Generated__c"]["nillable"] is False
    assert lead["Lead_Score__c"]["type"] == "double"
    assert lead["OwnerId"]["referenceTo"] == ["User"]
    assert lead["OwnerId"]["relationshipName"] == "Owner"
    psa = {f["name"] for f in sf.PermissionSetAssignment.describe()["fields"]}
    assert "SystemModstamp" in psa
    assert not psa & {"CreatedDate", "LastModifiedDate", "IsDeleted"}
    prov = {f["name"]: f for f in sf.AI_Content_Provenance__c.describe()["fields"]}
    assert prov["Generation_Run_Id__c"]["externalId"] is True


def test_airflow_salesforce_hook_describes_and_queries(org: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "salesforce", "extra": {"instance_url": org.instance_url, "version": "59.0"}}
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", json.dumps(conn))
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    hook = SalesforceHook(salesforce_conn_id="salesforce_default", session_id=org.token(), session=requests.Session())
    assert hook.test_connection() == (True, "Connection successfully tested")  # type: ignore[no-untyped-call]
    fields = hook.get_available_fields("Lead")
    assert "AI_Generated__c" in fields
    result = hook.make_query("SELECT Id, Email FROM Lead WHERE Synthetic_Persona__c = true")
    assert result["totalSize"] == 40
    assert len(result["records"]) == 40
    frame = hook.object_to_df(result["records"])
    assert list(frame.columns) == ["id", "email"]


# -- queries ----------------------------------------------------------------------------------


def test_query_pages_of_200_cover_every_row_once(org: SandboxProcess) -> None:
    sf = client(org)
    expected = live_count(org, "Lead")
    assert expected > 600  # at least three pages of 200
    page = sf.query("SELECT Id, Name FROM Lead ORDER BY Id", headers=PAGE_200)
    assert page["totalSize"] == expected
    seen, pages = [], 0
    while True:
        pages += 1
        assert len(page["records"]) <= 200
        seen += [r["Id"] for r in page["records"]]
        if page["done"]:
            assert "nextRecordsUrl" not in page
            break
        assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=PAGE_200)
    assert pages == -(-expected // 200) >= 3
    assert len(seen) == len(set(seen)) == expected
    assert seen == sorted(seen)
    assert sum(1 for _ in sf.query_all_iter("SELECT Id FROM Lead", headers=PAGE_200)) == expected


def test_query_all_returns_soft_deleted_rows_and_query_does_not(org: SandboxProcess) -> None:
    sf = client(org)
    live = {r["Id"] for r in sf.query_all("SELECT Id, IsDeleted FROM Lead")["records"]}
    every = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)["records"]
    deleted = {r["Id"] for r in every if r["IsDeleted"]}
    assert len(deleted) == 5  # seeded in the Recycle Bin
    assert not deleted & live
    assert {r["Id"] for r in every} == live | deleted
    count = sf.query("SELECT COUNT() FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert count == {"totalSize": 5, "done": True, "records": []}


def test_tooling_query_of_installed_packages(org: SandboxProcess) -> None:
    sf = client(org)
    soql = (
        "SELECT Id, SubscriberPackageId, SubscriberPackage.NamespacePrefix, SubscriberPackage.Name, "
        "SubscriberPackageVersion.Id, SubscriberPackageVersion.Name, SubscriberPackageVersion.MajorVersion, "
        "SubscriberPackageVersion.MinorVersion, SubscriberPackageVersion.PatchVersion, "
        "SubscriberPackageVersion.BuildNumber FROM InstalledSubscriberPackage"
    )
    result = sf.restful("tooling/query/", params={"q": soql})
    namespaces = {r["SubscriberPackage"]["NamespacePrefix"] for r in result["records"]}
    assert namespaces == {"dlrs", "dsfs", "copyai", "synthpersona", "deepstudio"}
    assert all(r["Id"].startswith("0A3") for r in result["records"])
    assert all(r["SubscriberPackageVersion"]["Id"].startswith("04t") for r in result["records"])
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM InstalledSubscriberPackage")  # not in the data API
    assert error_code(err) == "INVALID_TYPE"


def test_updated_and_deleted_windows(org: SandboxProcess) -> None:
    sf = client(org)
    now = sf.query("SELECT SystemModstamp FROM Organization")["records"][0]["SystemModstamp"]
    assert now
    lead_id = sf.Lead.create({"LastName": "Window", "Company": "Clockwork"})["id"]
    sf.Lead.delete(lead_id)
    # The window covers whole minutes up to now: let the org clock pass the minute of the delete.
    stats_now = org.control("POST", "clock", {"advance_days": 2 / 1440})["now"]
    from datetime import datetime, timedelta

    end = datetime.strptime(stats_now, "%Y-%m-%dT%H:%M:%S.%f%z")
    start = end - timedelta(days=10)
    deleted = sf.Lead.deleted(start, end)
    assert lead_id in {d["id"] for d in deleted["deletedRecords"]}
    assert len(deleted["deletedRecords"]) == 6  # 5 seeded within 10 days plus this one
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.updated(end - timedelta(days=40), end)
    assert error_code(err) == "INVALID_REPLICATION_DATE"


# -- records ----------------------------------------------------------------------------------


def test_crud_and_external_id_upsert(org: SandboxProcess) -> None:
    sf = client(org)
    created = sf.Lead.create(
        {
            "FirstName": "Ana",
            "LastName": "Lyst",
            "Company": "Probe AG",
            "AI_Generated__c": True,
            "AI_Generated_At__c": "2026-10-01T10:00:00+02:00",
        }
    )
    assert created["success"] is True
    lead = sf.Lead.get(created["id"])
    assert lead["Name"] == "Ana Lyst"
    assert lead["AI_Generated__c"] is True
    assert lead["AI_Generated_At__c"] == "2026-10-01T08:00:00.000+0000"
    assert sf.Lead.update(created["id"], {"Company": "Probe GmbH"}) == 204
    assert sf.Lead.get(created["id"])["Company"] == "Probe GmbH"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.create({"FirstName": "No", "Company": "X"})
    assert error_code(err) == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.create({"LastName": "X", "Company": "X", "Nope__c": 1})
    assert error_code(err) == "INVALID_FIELD"

    prov = {"Record_Id__c": created["id"], "Object_Type__c": "Lead", "Name": "ACP-probe", "Tool__c": "Probe"}
    assert sf.AI_Content_Provenance__c.upsert("Generation_Run_Id__c/run-probe-1", prov) == 201
    assert sf.AI_Content_Provenance__c.upsert("Generation_Run_Id__c/run-probe-1", {"Tool__c": "Probe 2"}) == 204
    rows = sf.query("SELECT Tool__c FROM AI_Content_Provenance__c WHERE Generation_Run_Id__c = 'run-probe-1'")
    assert [r["Tool__c"] for r in rows["records"]] == ["Probe 2"]

    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(created["id"])
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Lead.delete(created["id"])
    assert error_code(gone) == "ENTITY_IS_DELETED"


def test_content_version_blob_and_delete_through_its_document(org: SandboxProcess) -> None:
    sf = client(org)
    version = sf.query(
        "SELECT Id, ContentDocumentId, FileExtension, VersionData FROM ContentVersion "
        "WHERE FileExtension = 'png' LIMIT 1"
    )["records"][0]
    assert version["VersionData"].endswith(f"/sobjects/ContentVersion/{version['Id']}/VersionData")
    data = raw(org, "GET", version["VersionData"]).content
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(SalesforceGeneralError) as err:  # 405: ContentVersion has no delete
        sf.ContentVersion.delete(version["Id"])
    assert err.value.status == 405
    user_id = sf.query("SELECT Id FROM User LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceGeneralError):
        sf.User.delete(user_id)
    assert sf.ContentDocument.delete(version["ContentDocumentId"]) == 204
    soql = f"SELECT Id, IsDeleted FROM ContentVersion WHERE Id = '{version['Id']}'"
    assert sf.query(soql)["totalSize"] == 0
    assert sf.query_all(soql, include_deleted=True)["records"][0]["IsDeleted"] is True


def test_content_version_create_makes_a_document(org: SandboxProcess) -> None:
    import base64

    sf = client(org)
    new = sf.ContentVersion.create(
        {"Title": "note", "PathOnClient": "note.txt", "VersionData": base64.b64encode(b"hello").decode()}
    )
    row = sf.query(f"SELECT ContentDocumentId, ContentSize, IsLatest FROM ContentVersion WHERE Id = '{new['id']}'")
    record = row["records"][0]
    assert record["ContentSize"] == 5 and record["IsLatest"] is True
    assert record["ContentDocumentId"].startswith("069")


# -- composite and bulk -----------------------------------------------------------------------


def test_composite_delete_limits_and_per_id_results(org: SandboxProcess) -> None:
    sf = client(org)
    leads = [r["Id"] for r in sf.query_all("SELECT Id FROM Lead ORDER BY Id LIMIT 201")["records"]]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(leads), "allOrNone": "false"})
    assert error_code(err) == "EXCEEDED_ID_LIMIT"
    assert live_count(org, "Lead") >= 201  # nothing was deleted
    gone = leads[0]
    sf.Lead.delete(gone)
    batch = [*leads[:199], "00Q000000000000"]
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(batch), "allOrNone": "false"})
    assert len(results) == 200
    assert results[0] == {
        "success": False,
        "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}],
    }
    assert [r["id"] for r in results[1:199]] == leads[1:199]
    assert all(r["success"] for r in results[1:199])
    assert results[199]["success"] is False
    assert results[199]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_composite_delete_all_or_none_rolls_back(org: SandboxProcess) -> None:
    sf = client(org)
    leads = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 3")["records"]]
    sf.Lead.delete(leads[0])
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(leads), "allOrNone": "true"})
    assert results[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert {r["errors"][0]["statusCode"] for r in results[1:]} == {"ALL_OR_NONE_OPERATION_ROLLED_BACK"}
    assert sf.query(f"SELECT COUNT() FROM Lead WHERE Id IN ('{leads[1]}', '{leads[2]}')")["totalSize"] == 2


def test_bulk2_delete_and_hard_delete_report_already_deleted_ids(org: SandboxProcess, tmp_path: Path) -> None:
    sf = client(org)
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 30")["records"]]
    deleted_first = ids[:10]
    result = sf.bulk2.Lead.delete(records=[{"Id": i} for i in deleted_first], wait=0)
    assert result[0]["numberRecordsProcessed"] == 10
    assert result[0]["numberRecordsFailed"] == 0
    # Delete again, mixed with live ids: the already-deleted ones fail, the others succeed.
    result = sf.bulk2.Lead.delete(records=[{"Id": i} for i in ids[:20]], wait=0)
    assert result[0]["numberRecordsFailed"] == 10
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(result[0]["job_id"]))))
    assert {f["Id"] for f in failed} == set(deleted_first)
    assert {f["sf__Error"].split(":")[0] for f in failed} == {"ENTITY_IS_DELETED"}
    ok = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(result[0]["job_id"]))))
    assert {o["sf__Id"] for o in ok} == set(ids[10:20])
    in_bin = sf.query_all(f"SELECT Id FROM Lead WHERE Id IN ('{ids[10]}') AND IsDeleted = true", include_deleted=True)
    assert in_bin["totalSize"] == 1  # soft delete: in the Recycle Bin
    # hardDelete: the Recycle Bin ids fail, live ids vanish for good.
    result = sf.bulk2.Lead.hard_delete(records=[{"Id": i} for i in ids[10:30]], wait=0)
    assert result[0]["numberRecordsFailed"] == 10
    gone = sf.query_all(f"SELECT COUNT() FROM Lead WHERE Id IN ('{ids[20]}', '{ids[29]}')", include_deleted=True)
    assert gone["totalSize"] == 0


def test_bulk2_ingest_insert_update_upsert(org: SandboxProcess) -> None:
    sf = client(org)
    before = live_count(org, "Lead")
    rows = [{"LastName": f"Bulk{i}", "Company": "Bulk Co", "AI_Generated__c": "true"} for i in range(50)]
    result = sf.bulk2.Lead.insert(records=rows, wait=0)
    assert result[0]["numberRecordsProcessed"] == 50 and result[0]["numberRecordsFailed"] == 0
    assert live_count(org, "Lead") == before + 50
    ok = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(result[0]["job_id"]))))
    assert {o["sf__Created"] for o in ok} == {"true"}
    updates = [{"Id": o["sf__Id"], "Company": "Bulk GmbH"} for o in ok[:5]] + [
        {"Id": "00Q5g0000000zzzAAA", "Company": "x"}
    ]
    result = sf.bulk2.Lead.update(records=updates, wait=0)
    assert result[0]["numberRecordsFailed"] == 1
    assert sf.query("SELECT COUNT() FROM Lead WHERE Company = 'Bulk GmbH'")["totalSize"] == 5
    upserts = [
        {
            "Generation_Run_Id__c": "run-bulk-1",
            "Name": "ACP-b1",
            "Record_Id__c": ok[0]["sf__Id"],
            "Object_Type__c": "Lead",
        }
    ]
    result = sf.bulk2.AI_Content_Provenance__c.upsert(records=upserts, external_id_field="Generation_Run_Id__c", wait=0)
    assert result[0]["numberRecordsFailed"] == 0


def test_bulk2_query_of_50000_records_returns_each_row_once(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxProcess(tmp_path_factory.mktemp("sandbox-big"), scale=200) as big:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", big.ca_bundle)
        sf = client(big)
        expected = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
        assert expected >= 50_000
        pages = list(sf.bulk2.Lead.query("SELECT Id, Name, Lead_Score__c FROM Lead", max_records=20_000, wait=0))
        assert len(pages) == -(-expected // 20_000) >= 3
        ids: list[str] = []
        for page in pages:
            rows = list(csv.DictReader(io.StringIO(page)))
            assert len(rows) <= 20_000
            ids += [r["Id"] for r in rows]
        assert len(ids) == len(set(ids)) == expected
        stats = big.control("GET", "stats")["calls"]
        assert stats["bulk2_query_results"] == len(pages)


# -- limits and faults ------------------------------------------------------------------------


def test_limits_and_limit_info_move_with_calls(org: SandboxProcess) -> None:
    sf = client(org)
    first = sf.limits()["DailyApiRequests"]
    used_before = sf.api_usage["api-usage"].used
    for _ in range(3):
        sf.query("SELECT Id FROM Account LIMIT 1")
    second = sf.limits()["DailyApiRequests"]
    assert sf.api_usage["api-usage"].used == used_before + 4
    assert sf.api_usage["api-usage"].total == first["Max"]
    assert second["Remaining"] == first["Remaining"] - 4
    assert org.control("GET", "stats")["api_usage"]["used"] == sf.api_usage["api-usage"].used


def test_fault_http_error_reaches_the_client(org: SandboxProcess) -> None:
    sf = client(org)
    org.control(
        "POST",
        "faults",
        {"kind": "http_error", "status": 503, "errorCode": "SERVER_UNAVAILABLE", "path": "/query", "count": 2},
    )
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as err:
            sf.query("SELECT Id FROM Lead LIMIT 1")
        assert err.value.status == 503
    assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1  # the fault was used up
    org.control("POST", "faults", {"kind": "http_error", "status": 404, "errorCode": "NOT_FOUND"})
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.describe()


def test_fault_api_limit_is_request_limit_exceeded(org: SandboxProcess) -> None:
    sf = client(org)
    org.control("POST", "faults", {"kind": "api_limit", "remaining": 2})
    sf.query("SELECT Id FROM Lead LIMIT 1")
    sf.query("SELECT Id FROM Lead LIMIT 1")
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM Lead LIMIT 1")
    assert error_code(err) == "REQUEST_LIMIT_EXCEEDED"
    org.control("DELETE", "faults")
    assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1


def test_fault_expire_sessions(org: SandboxProcess) -> None:
    sf = client(org)
    sf.query("SELECT Id FROM Lead LIMIT 1")
    org.control("POST", "faults", {"kind": "expire_sessions"})
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead LIMIT 1")
    fresh = Salesforce(instance_url=org.instance_url, session_id=org.token(fresh=True))
    assert fresh.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1


def test_fault_lock_rows_fails_deletes_with_unable_to_lock_row(org: SandboxProcess) -> None:
    sf = client(org)
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 100")["records"]]
    org.control("POST", "faults", {"kind": "lock_rows", "fraction": 0.3})
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids)})
    locked = [i for i, r in zip(ids, results, strict=True) if not r["success"]]
    assert 10 <= len(locked) <= 50
    assert {r["errors"][0]["statusCode"] for r in results if not r["success"]} == {"UNABLE_TO_LOCK_ROW"}
    org.control("DELETE", "faults")
    retry = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(locked)})
    assert all(r["success"] for r in retry)
    # Bulk 2.0 reports lock failures per record in failedResults.
    more = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id DESC LIMIT 100")["records"]]
    org.control("POST", "faults", {"kind": "lock_rows", "fraction": 0.3})
    result = sf.bulk2.Lead.delete(records=[{"Id": i} for i in more], wait=0)
    assert 10 <= result[0]["numberRecordsFailed"] <= 50
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(result[0]["job_id"]))))
    assert {f["sf__Error"].split(":")[0] for f in failed} == {"UNABLE_TO_LOCK_ROW"}


def test_fault_bulk_job_fail(org: SandboxProcess) -> None:
    sf = client(org)
    org.control("POST", "faults", {"kind": "bulk_job_fail", "message": "InternalServerError"})
    with pytest.raises(SalesforceOperationError):
        list(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0))
    assert len(list(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0))) == 1
    org.control("POST", "faults", {"kind": "bulk_job_fail"})
    with pytest.raises(SalesforceOperationError):
        sf.bulk2.Lead.insert(records=[{"LastName": "Never", "Company": "Failed Co"}], wait=0)
    assert sf.query("SELECT COUNT() FROM Lead WHERE LastName = 'Never'")["totalSize"] == 0


def test_fault_truncate_page_breaks_the_body(org: SandboxProcess) -> None:
    sf = client(org)
    org.control("POST", "faults", {"kind": "truncate_page"})
    with pytest.raises(requests.exceptions.JSONDecodeError):
        sf.query("SELECT Id FROM Lead")
    assert sf.query("SELECT Id FROM Lead LIMIT 2")["totalSize"] == 2


def test_fault_latency_delays_matching_calls(org: SandboxProcess) -> None:
    sf = client(org)
    org.control("POST", "faults", {"kind": "latency", "ms": 400, "path": "/limits", "count": 1})
    start = time.monotonic()
    sf.limits()
    assert time.monotonic() - start >= 0.4
    start = time.monotonic()
    sf.limits()
    assert time.monotonic() - start < 0.4


def test_unknown_fault_kind_is_refused(org: SandboxProcess) -> None:
    with pytest.raises(Exception, match="INVALID_FAULT"):
        org.control("POST", "faults", {"kind": "meteor"})


# -- auth -------------------------------------------------------------------------------------


class LoopbackAdapter(requests.adapters.HTTPAdapter):
    """Sends simple-salesforce's login calls for *.salesforce.com to the sandbox (reference §1a)."""

    def __init__(self, instance_url: str, ca_bundle: str) -> None:
        super().__init__()
        self.instance_url = instance_url
        self.ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        from urllib.parse import urlsplit

        parts = urlsplit(str(request.url))
        request.url = self.instance_url + parts.path + (f"?{parts.query}" if parts.query else "")
        kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


def test_soap_and_password_logins(org: SandboxProcess) -> None:
    session = requests.Session()
    session.mount("https://", LoopbackAdapter(org.instance_url, org.ca_bundle))
    user, password = org.ready["username"], org.ready["password"]
    sf = Salesforce(username=user, password=password, security_token="", session=session)
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 14
    # After the sessions expire, simple-salesforce logs in again by itself.
    org.control("POST", "faults", {"kind": "expire_sessions"})
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 40
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    with pytest.raises(SalesforceAuthenticationFailed) as err:
        Salesforce(username=user, password="wrong", security_token="", session=session)
    assert err.value.code == "INVALID_LOGIN"
    token = requests.post(
        f"{org.instance_url}/services/oauth2/token",
        verify=org.ca_bundle,
        timeout=30,
        data={
            "grant_type": "password",
            "username": user,
            "password": password,
            "client_id": org.ready["client_id"],
            "client_secret": org.ready["client_secret"],
        },
    )
    assert token.status_code == 200
    assert token.json()["instance_url"] == org.instance_url
    bad = requests.post(
        f"{org.instance_url}/services/oauth2/token",
        verify=org.ca_bundle,
        timeout=30,
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"


def test_client_credentials_through_simple_salesforce(org: SandboxProcess) -> None:
    session = requests.Session()
    session.mount("https://", LoopbackAdapter(org.instance_url, org.ca_bundle))
    sf = Salesforce(
        consumer_key=org.ready["client_id"],
        consumer_secret=org.ready["client_secret"],
        domain="demo-org.my",
        session=session,
    )
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == live_count(org, "Lead")


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        (
            "POST",
            "/services/data/v59.0/sobjects/Lead/",
            {"data": "{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "JSON_PARSER_ERROR",
        ),
        (
            "POST",
            "/services/data/v59.0/sobjects/Lead/",
            {"data": "LastName=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ("POST", "/services/data/v59.0/sobjects/Lead/", {"json": ["a list"]}, 400, "JSON_PARSER_ERROR"),
        ("GET", "/services/data/v59.0/nowhere", {}, 404, "NOT_FOUND"),
        ("GET", "/services/data/v59.0/sobjects/Nope__c/describe", {}, 404, "NOT_FOUND"),
        ("PUT", "/services/data/v59.0/limits/", {}, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/services/data/v59.0/sobjects/Lead/updated/?start=yesterday&end=now", {}, 400, "INVALID_DATE_FORMAT"),
        (
            "GET",
            "/services/data/v59.0/sobjects/Lead/deleted/?start=2026-13-01T00:00:00Z&end=2026-11-01T00:00:00Z",
            {},
            400,
            "INVALID_DATE_FORMAT",
        ),
        (
            "GET",
            "/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead+WHERE+CreatedDate+>+2026-02-30T00:00:00Z",
            {},
            400,
            "MALFORMED_QUERY",
        ),
        ("GET", "/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead+GROUP+BY+Id", {}, 400, "MALFORMED_QUERY"),
        ("GET", "/services/data/v59.0/query/01gBOGUS-2000", {}, 400, "INVALID_QUERY_LOCATOR"),
        ("GET", "/services/data/v59.0/sobjects/Lead/not-an-id", {}, 404, "NOT_FOUND"),
        (
            "PATCH",
            "/services/data/v59.0/sobjects/Lead/00Q5g0000000001EAA",
            {"json": {"AnnualRevenue": "lots"}},
            400,
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
        ),
        (
            "PATCH",
            "/services/data/v59.0/sobjects/Lead/00Q5g0000000001EAA",
            {"json": {"AI_Generated_At__c": "2026-02-30T00:00:00Z"}},
            400,
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
        ),
        (
            "POST",
            "/services/data/v59.0/jobs/ingest",
            {"json": {"object": "Lead", "operation": "explode"}},
            400,
            "INVALIDJOB",
        ),
        ("POST", "/services/data/v59.0/jobs/query", {"json": {"operation": "query"}}, 400, "INVALIDJOB"),
        ("GET", "/services/data/v59.0/jobs/query/750000000000000AAA/results", {}, 404, "NOT_FOUND"),
        ("DELETE", "/services/data/v59.0/composite/sobjects?ids=", {}, 400, "MISSING_ARGUMENT"),
    ],
)
def test_bad_input_gets_salesforce_shaped_errors(
    org: SandboxProcess, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = raw(org, method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list)
    assert body[0]["errorCode"] == code
    assert "Traceback" not in response.text


def test_bad_session_is_a_401_list(org: SandboxProcess) -> None:
    response = requests.get(
        f"{org.instance_url}/services/data/v59.0/limits/",
        verify=org.ca_bundle,
        timeout=30,
        headers={"Authorization": "Bearer nope"},
    )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_control_api_validates_input(org: SandboxProcess) -> None:
    for path, body in [
        ("seed", {"profile": "galaxy"}),
        ("seed", {"scale": 0}),
        ("clock", {"now": "tomorrow"}),
        ("clock", {}),
        ("faults", {"kind": "lock_rows", "fraction": 2}),
    ]:
        response = requests.post(f"{org.instance_url}/__sandbox__/{path}", json=body, verify=org.ca_bundle, timeout=30)
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()[0]["errorCode"].startswith("INVALID_")


# -- clock, ground truth, persistence ---------------------------------------------------------


def test_ground_truth_has_every_label_and_retention_follows_the_clock(org: SandboxProcess) -> None:
    truth = org.control("GET", "ground-truth")
    labels: dict[str, int] = {}
    for case in truth["cases"]:
        for label in case["labels"]:
            labels[label] = labels.get(label, 0) + 1
    assert set(labels) == {
        "ai_generated",
        "untagged_ai",
        "deepfake_media",
        "undisclosed_ai_communication",
        "synthetic_persona_in_pipeline",
        "automated_decision_without_review",
        "unapproved_ai_tool_access",
        "unapproved_ai_package",
        "legal_hold",
        "retention_due",
        "training_no_consent",
        "training_provenance_mismatch",
        "media_not_inspected",
    }
    assert labels["deepfake_media"] == 15
    assert labels["media_not_inspected"] == 2
    assert labels["unapproved_ai_package"] == 2
    gap = truth["aggregates"]["lead_score_gap"]
    assert gap["synthetic_mean"] - gap["authentic_mean"] > 15
    org.control("POST", "clock", {"advance_days": 120})
    later = org.control("GET", "ground-truth")
    due_later = sum("retention_due" in c["labels"] for c in later["cases"])
    assert due_later > labels["retention_due"]
    # Records put on hold drop out of retention_due.
    due = next(c for c in later["cases"] if "retention_due" in c["labels"] and c["object"] == "EmailMessage")
    client(org).EmailMessage.update(due["id"], {"Legal_Hold__c": True})
    held = {c["id"]: c for c in org.control("GET", "ground-truth")["cases"]}[due["id"]]
    assert "retention_due" not in held["labels"] and "legal_hold" in held["labels"]


def test_clock_drives_audit_dates(org: SandboxProcess) -> None:
    sf = client(org)
    org.control("POST", "clock", {"now": "2027-03-01T12:00:00Z"})
    new_id = sf.Account.create({"Name": "Future Corp"})["id"]
    assert sf.Account.get(new_id)["CreatedDate"].startswith("2027-03-01T12:0")


def test_data_persists_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "org"
    with SandboxProcess(state) as first:
        sf: Any = Salesforce(instance_url=first.instance_url, session_id=first.token(), session=_trusting(first))
        new_id = sf.Account.create({"Name": "Persistent AG"})["id"]
        counts = first.control("GET", "stats")["objects"]
        creds = (first.ready["client_id"], first.ready["client_secret"])
    with SandboxProcess(state) as second:
        assert second.control("GET", "stats")["objects"] == counts
        assert (second.ready["client_id"], second.ready["client_secret"]) == creds
        sf = Salesforce(instance_url=second.instance_url, session_id=second.token(), session=_trusting(second))
        assert sf.Account.get(new_id)["Name"] == "Persistent AG"


def _trusting(org: SandboxProcess) -> requests.Session:
    session = requests.Session()
    session.verify = org.ca_bundle
    session.trust_env = False
    return session


@pytest.mark.parametrize(
    ("path", "extension", "file_type"),
    [
        ("Photo.JPG", "jpg", "JPG"),
        ("scan.png", "png", "PNG"),
        ("holiday.xyz", "xyz", "UNKNOWN"),
        ("README", None, "UNKNOWN"),
    ],
)
def test_content_version_derives_its_file_fields_like_salesforce(
    org: SandboxProcess, path: str, extension: str | None, file_type: str
) -> None:
    import base64
    import hashlib

    sf = client(org)
    data = b"\x89PNG\r\n\x1a\n" + path.encode()
    new = sf.ContentVersion.create(
        {"Title": path, "PathOnClient": path, "VersionData": base64.b64encode(data).decode()}
    )
    version = sf.query(
        "SELECT ContentDocumentId, FileType, FileExtension, ContentSize, Checksum FROM ContentVersion "
        f"WHERE Id = '{new['id']}'"
    )["records"][0]
    assert (version["FileType"], version["FileExtension"]) == (file_type, extension)
    assert version["ContentSize"] == len(data)
    assert version["Checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    document = sf.query(
        f"SELECT Title, FileType, FileExtension FROM ContentDocument WHERE Id = '{version['ContentDocumentId']}'"
    )["records"][0]
    assert (document["Title"], document["FileType"], document["FileExtension"]) == (path, file_type, extension)


def test_content_version_file_type_is_not_the_clients_to_set(org: SandboxProcess) -> None:
    import base64

    sf = client(org)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.ContentVersion.create(
            {"Title": "x", "PathOnClient": "x.png", "FileType": "PNG", "VersionData": base64.b64encode(b"x").decode()}
        )
    assert error_code(err) == "INVALID_FIELD_FOR_INSERT_UPDATE"
