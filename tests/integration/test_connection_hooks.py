"""Each hook's test_connection (the UI's Test button) tells the truth, against real servers: PostgreSQL
with password authentication, a DuckDB file, moto's S3 server, the sandbox org; and fails, saying why."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg2.extensions import parse_dsn

from synthgov.lake import S3Lake
from synthgov_airflow.hooks.lake import LakeHook
from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook
from synthgov_airflow.hooks.warehouse import WarehouseHook
from synthgov_sandbox.process import SandboxProcess
from tests.postgres import PostgresInfo, admin, query

pytestmark = pytest.mark.integration

PASSWORD = "pw with 'quotes' and spaces"


@pytest.fixture
def password_role(postgres: PostgresInfo, database: str) -> Iterator[str]:
    """A role that must give its password (scram) to reach ``database``; the cluster's other roles keep trust."""
    role = f"sg_conn_{uuid.uuid4().hex[:8]}"
    admin(postgres, f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD.replace(chr(39), chr(39) * 2)}'")
    hba = Path(query(postgres.dsn_for("postgres"), "SHOW hba_file")[0][0])
    rule = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(rule + hba.read_text())  # first match wins: this role, and only it, needs a password
    query(postgres.dsn_for("postgres"), "SELECT pg_reload_conf()")
    yield role
    hba.write_text(hba.read_text().replace(rule, ""))
    query(postgres.dsn_for("postgres"), "SELECT pg_reload_conf()")


def _warehouse_conn(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SYNTHGOV_WAREHOUSE", json.dumps(fields))


def test_postgres_warehouse_connection_tests_true_and_false(
    password_role: str, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = parse_dsn(database)
    base = {"conn_type": "postgres", "host": pg["host"], "port": int(pg["port"]), "login": password_role}
    _warehouse_conn(monkeypatch, **base, password=PASSWORD, schema=pg["dbname"])
    ok, message = WarehouseHook().test_connection()
    assert ok, message
    assert message == f"connected to postgresql {pg['host']}:{pg['port']}/{pg['dbname']}"
    # The load's warehouse is this connection's: the role's own session, whatever SYNTHGOV_PG_* say.
    monkeypatch.setenv("SYNTHGOV_PG_HOST", "192.0.2.1")
    assert WarehouseHook().get_conn().query("select current_user") == [(password_role,)]

    _warehouse_conn(monkeypatch, **base, password="wrong", schema=pg["dbname"])
    ok, message = WarehouseHook().test_connection()
    assert not ok
    assert "password authentication failed" in message
    assert "the Airflow connection 'synthgov_warehouse'" in message
    assert "wrong" not in message, "the password must not be shown"

    _warehouse_conn(monkeypatch, **base, password=PASSWORD, schema="no_such_database")
    ok, message = WarehouseHook().test_connection()
    assert not ok and "no_such_database" in message


def test_duckdb_warehouse_connection_tests_the_file_or_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wh" / "warehouse.duckdb"
    _warehouse_conn(monkeypatch, conn_type="synthgov_duckdb", extra={"path": str(path)})
    ok, message = WarehouseHook().test_connection()
    assert ok and "does not exist yet" in message
    assert not path.exists(), "a test must not create the warehouse"

    WarehouseHook().get_conn().query("create table t as select 1 as x")
    ok, message = WarehouseHook().test_connection()
    assert (ok, message) == (True, f"connected to duckdb {path}")

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _warehouse_conn(monkeypatch, conn_type="synthgov_duckdb", host=str(blocker / "warehouse.duckdb"))
    ok, message = WarehouseHook().test_connection()
    assert not ok and "not a writable folder" in message

    _warehouse_conn(monkeypatch, conn_type="synthgov_duckdb")
    ok, message = WarehouseHook().test_connection()
    assert not ok and "names no file" in message


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_lake_reaches_s3_through_the_aws_connection(
    s3_lake: S3Lake, s3_server: str, _s3_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing from the environment: the endpoint and the keys must come from the connection.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SYNTHGOV_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    conn = {"conn_type": "aws", "login": "conn-key", "password": "conn-secret"}
    extra = {"endpoint_url": s3_server, "region_name": "us-east-1"}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({**conn, "extra": extra}))
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", f"s3://{s3_lake.bucket}/synthgov")

    lake = LakeHook().get_conn()
    assert isinstance(lake, S3Lake) and lake.endpoint_url == s3_server
    assert lake.client._request_signer._credentials.access_key == "conn-key"
    lake.put_bytes("probe/hello.txt", b"hello")
    # Read back with the fixture's own credentials: the object is really in moto's bucket.
    stored = _s3_admin.get_object(Bucket=s3_lake.bucket, Key="synthgov/probe/hello.txt")["Body"].read()
    assert stored == b"hello"
    ok, message = LakeHook().test_connection()
    assert ok, message
    assert message == f"bucket {s3_lake.bucket!r} is reachable at {s3_server} with 'aws_default'"

    monkeypatch.setenv("SYNTHGOV_LAKE_URL", "s3://synthgov-no-such-bucket/synthgov")
    ok, message = LakeHook().test_connection()
    assert not ok
    assert "bucket 'synthgov-no-such-bucket' does not exist" in message

    closed = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({**conn, "extra": {**extra, "endpoint_url": closed}}))
    ok, message = LakeHook().test_connection()
    assert not ok
    assert f"cannot connect to {closed}" in message and "the extra 'endpoint_url'" in message


def test_without_the_aws_connection_the_environment_reaches_the_lake(
    s3_lake: S3Lake, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)
    monkeypatch.setenv("SYNTHGOV_S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", f"s3://{s3_lake.bucket}/synthgov")
    lake = LakeHook().get_conn()
    assert isinstance(lake, S3Lake) and lake.access is None and lake.endpoint_url == s3_server
    assert LakeHook().test_connection()[0]


def test_salesforce_connection_tests_true_and_false(
    salesforce_default: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = SynthgovSalesforceHook().test_connection()
    assert ok, message
    assert message.startswith(f"connected to {salesforce_default.instance_url}; the org's clock says ")

    extra = {**salesforce_default.connection_extra(), "client_secret": "not-the-secret"}
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", json.dumps({"conn_type": "salesforce", "extra": extra}))
    ok, message = SynthgovSalesforceHook().test_connection()
    assert not ok
    assert "not-the-secret" not in message
    assert message
