"""The Governance page through Airflow's own API server app and auth manager, on the demo org's real marts.

Each test gets a fresh copy of the built world (dbt-built marts in DuckDB, the lake as a folder) after a
scheduled purge (a real receipt in the ledger), served by ``airflow.api_fastapi.app.create_app``, which
mounts the plugin from its entry point. Users are the simple auth manager's, with JWTs it signed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from synthgov.report import build_report
from synthgov.retention.evidence import EvidenceLedger
from synthgov.retention.run import run_scheduled
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_dbt_duckdb import dbt
from tests.retention_world import Built, World

pytestmark = pytest.mark.integration


@dataclass
class Served:
    client: TestClient
    world: World
    plan_id: str
    viewer: dict[str, str]  # headers of a user allowed to read DAGs
    nobody: dict[str, str]  # headers of a user without a role


@pytest.fixture
def served(
    world: World, airflow_db: None, salesforce_default: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    run = run_scheduled(world.conn, world.lake, world.warehouse, world.policies.retention, world.policies.mapping)
    assert run.appended is not None, run.receipt
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(world.warehouse.path))
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", str(world.lake.root))  # type: ignore[attr-defined]
    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER", "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    )
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    app = create_app("core")
    manager = get_auth_manager()

    def bearer(role: str | None) -> dict[str, str]:
        user = SimpleAuthManagerUser(username=f"user-{role}", role=role)
        return {"Authorization": f"Bearer {manager.generate_jwt(user)}"}

    with TestClient(app, follow_redirects=False) as client:
        yield Served(client, world, str(run.plan.plan_id), bearer("viewer"), bearer(None))


def _summary(world: World) -> list[tuple[Any, ...]]:
    return world.warehouse.query(
        "SELECT control, status, findings, high_findings, medium_findings, low_findings FROM marts.governance_summary "
        "ORDER BY control"
    )


def test_overview_shows_the_marts_numbers(served: Served) -> None:
    page = served.client.get("/governance/", headers=served.viewer)
    assert page.status_code == 200, page.text
    rows = re.findall(
        r'<tr data-control="([a-z_]+)" data-status="([a-z_]+)">.*?data-field="findings">(\d+)</td>'
        r'.*?data-field="high">(\d+)</td>.*?data-field="medium">(\d+)</td>.*?data-field="low">(\d+)</td>',
        page.text,
        re.S,
    )
    expected = _summary(served.world)
    assert [(c, s, *map(int, n)) for c, s, *n in rows] == [tuple(r) for r in expected]
    assert any(status == "findings" for _, status, *_ in expected)  # the demo org has something to find
    # Every status as report.status words it; insufficient_data carries its reason.
    for control, reason in served.world.warehouse.query(
        "SELECT control, insufficient_data_reason FROM marts.governance_summary WHERE status = 'insufficient_data'"
    ):
        assert f"insufficient data: {reason}" in page.text, control
    api = served.client.get("/governance/api/summary", headers=served.viewer).json()
    assert [(c["control"], c["status"], c["findings"]) for c in api["controls"]] == [r[:3] for r in expected]
    # The build appended one point per control to the history; the trend shows that build.
    builds = served.world.warehouse.query("SELECT DISTINCT build_id FROM marts.governance_summary_history")
    assert [b["build_id"] for b in api["trend"]["builds"]] == [str(b) for (b,) in builds]
    assert 'id="trend-chart"' in page.text
    # The purge's receipt, the verify action and the pending approvals section.
    assert f"/governance/plans/{served.plan_id}" in page.text
    assert 'action="/governance/verify"' in page.text
    assert "secret" not in page.text.lower()


def test_findings_are_paged_and_filtered_in_the_database(served: Served) -> None:
    warehouse = served.world.warehouse
    control = "untagged_ai_content"
    everything = [
        str(fid)
        for (fid,) in warehouse.query(
            "SELECT finding_id FROM marts.finding_untagged_ai_content "
            "ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END, finding_id"
        )
    ]
    assert len(everything) > 3
    url = f"/governance/api/controls/{control}/findings"
    seen: list[str] = []
    for page in range(1, len(everything) // 3 + 2):
        body = served.client.get(url, params={"size": 3, "page": page}, headers=served.viewer).json()
        assert body["total"] == len(everything)
        assert len(body["rows"]) <= 3
        seen += [row["finding_id"] for row in body["rows"]]
    assert seen == everything
    # The same rows by cursor: each page starts after the last row of the one before.
    by_cursor: list[str] = []
    params: dict[str, Any] = {"size": 3}
    while True:
        body = served.client.get(url, params=params, headers=served.viewer).json()
        by_cursor += [row["finding_id"] for row in body["rows"]]
        if body["next_cursor"] is None:
            break
        params = {"size": 3, "after": body["next_cursor"]}
    assert by_cursor == everything
    bad_cursor = served.client.get(url, params={"after": "x"}, headers=served.viewer)
    assert bad_cursor.status_code == 400 and "after must be a cursor" in bad_cursor.json()["detail"]
    org = served.world.org.instance_url.rstrip("/")
    first = served.client.get(url, params={"size": 1}, headers=served.viewer).json()["rows"][0]
    assert first["org_link"] == f"{org}/{first['entity_id']}"

    ((tool, with_tool),) = warehouse.query(
        "SELECT l.ai_tool, count(*) FROM marts.finding_untagged_ai_content f JOIN marts.provenance_ledger l "
        "ON l.record_id = f.entity_id AND l.object_name = f.object_name WHERE l.ai_tool IS NOT NULL "
        "GROUP BY l.ai_tool ORDER BY count(*) DESC, l.ai_tool LIMIT 1"
    )
    by_tool = served.client.get(url, params={"ai_tool": tool, "size": 500}, headers=served.viewer).json()
    assert by_tool["total"] == with_tool and {r["ai_tool"] for r in by_tool["rows"]} == {tool}
    for severity, count in warehouse.query(
        "SELECT severity, count(*) FROM marts.finding_untagged_ai_content GROUP BY severity"
    ):
        body = served.client.get(url, params={"severity": severity}, headers=served.viewer).json()
        assert body["total"] == count
    ((obj, of_obj),) = warehouse.query(
        "SELECT object_name, count(*) FROM marts.finding_untagged_ai_content GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    )
    assert served.client.get(url, params={"object_name": obj}, headers=served.viewer).json()["total"] == of_obj
    ((detected,),) = warehouse.query("SELECT cast(max(detected_at) AS date) FROM marts.finding_untagged_ai_content")
    on_day = served.client.get(url, params={"since": str(detected), "until": str(detected)}, headers=served.viewer)
    assert on_day.json()["total"] == len(everything)
    after = served.client.get(url, params={"since": "2999-01-01"}, headers=served.viewer).json()
    assert after["total"] == 0 and after["rows"] == []

    bad = served.client.get(url, params={"since": "yesterday"}, headers=served.viewer)
    assert bad.status_code == 400 and "since must be a date as YYYY-MM-DD" in bad.json()["detail"]
    unknown = served.client.get("/governance/api/controls/nope/findings", headers=served.viewer)
    assert unknown.status_code == 400 and "no control 'nope'" in unknown.json()["detail"]
    html = served.client.get(f"/governance/controls/{control}", params={"size": 2}, headers=served.viewer)
    assert html.status_code == 200 and html.text.count("<tr data-finding=") == 2
    assert f'href="{org}/' in html.text and 'rel="next"' in html.text and "after=" in html.text


def test_candidates_by_policy_and_due_date(served: Served) -> None:
    warehouse = served.world.warehouse
    ((total,),) = warehouse.query("SELECT count(*) FROM marts.retention_candidates")
    body = served.client.get("/governance/api/candidates", headers=served.viewer).json()
    assert body["total"] == total
    for policy, count in warehouse.query("SELECT policy_id, count(*) FROM marts.retention_candidates GROUP BY 1"):
        listed = served.client.get("/governance/api/candidates", params={"policy_id": policy}, headers=served.viewer)
        assert listed.json()["total"] == count
    assert (
        served.client.get("/governance/api/candidates", params={"due_by": "1900-01-01"}, headers=served.viewer).json()[
            "total"
        ]
        == 0
    )


def test_no_page_api_or_file_without_a_permitted_user(served: Served, tmp_path: Path) -> None:
    build_report(warehouse=served.world.warehouse, lake=served.world.lake, events_file=tmp_path / "none.jsonl")
    paths = [
        "/governance/",
        "/governance/api/summary",
        f"/governance/plans/{served.plan_id}",
        "/governance/pack/index.html",
    ]
    for path in paths:
        assert served.client.get(path).status_code == 401, path
        assert served.client.get(path, headers=served.nobody).status_code == 403, path
        assert served.client.get(path, headers=served.viewer).status_code == 200, path
    assert served.client.post("/governance/api/verify").status_code == 401
    assert served.client.post("/governance/api/verify", headers=served.nobody).status_code == 403
    # A browser without a session is sent to Airflow's login page, and back here after it.
    page = served.client.get("/governance/", headers={"Accept": "text/html"})
    assert page.status_code == 303 and "login" in page.headers["location"]
    # The pack's files only: nothing outside it.
    outside = served.client.get("/governance/pack/..%2F..%2Fw.duckdb", headers=served.viewer)
    assert outside.status_code in (400, 404)


def test_verify_on_a_good_and_a_tampered_ledger(served: Served) -> None:
    good = served.client.post("/governance/api/verify", headers=served.viewer).json()
    assert good["ok"] is True and good["entries"] >= 1 and good["problems"] == []
    page = served.client.post("/governance/verify", headers=served.viewer)
    assert 'id="verify-result" class="ok"' in page.text

    ledger = EvidenceLedger(served.world.lake)
    key = ledger.segment_key(0)
    served.world.lake.put_bytes(key, served.world.lake.get_bytes(key).replace(b'"seq":0', b'"seq":0,"x":1'))
    bad = served.client.post("/governance/api/verify", headers=served.viewer).json()
    assert bad["ok"] is False and bad["problems"]
    page = served.client.post("/governance/verify", headers=served.viewer)
    assert 'class="failed"' in page.text and "FAILED" in page.text


def test_a_plan_page_shows_the_whole_plan(served: Served) -> None:
    from synthgov.retention.plan import load_plan

    stored = load_plan(served.world.lake, served.plan_id)
    body = served.client.get(f"/governance/api/plans/{served.plan_id}", headers=served.viewer).json()
    assert body["rows"]["total"] == len(stored.rows)
    skipped = {(g["reason"], g["records"]) for g in body["skipped_groups"]}
    wanted: dict[str, int] = {}
    for row in stored.rows:
        if row["status"] == "skipped":
            wanted[row["reason"]] = wanted.get(row["reason"], 0) + 1
    assert {r: sum(n for reason, n in skipped if reason == r) for r in wanted} == wanted
    page = served.client.get(f"/governance/plans/{served.plan_id}", headers=served.viewer)
    assert page.status_code == 200 and served.plan_id in page.text
    assert served.client.get("/governance/plans/..%2Fetc", headers=served.viewer).status_code in (400, 404)


def test_history_is_appended_by_each_build_and_survives_a_full_refresh(
    world: World, built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(built.root / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(world.warehouse.path))
    before = world.warehouse.query("SELECT count(DISTINCT build_id), count(*) FROM marts.governance_summary_history")
    dbt(project, "run", "--select", "governance_summary_history", "--full-refresh")
    ((builds, rows),) = world.warehouse.query(
        "SELECT count(DISTINCT build_id), count(*) FROM marts.governance_summary_history"
    )
    ((controls,),) = world.warehouse.query("SELECT count(*) FROM marts.governance_summary")
    assert before == [(1, controls)]
    assert (builds, rows) == (2, 2 * controls)
