"""The evidence pack of the governed demo org after a scheduled purge: its numbers are the marts' numbers.

The world (demo org extracted, loaded and built by dbt) is built once for the module; the test purges
what is due, as the retention DAG does, then compares every number of ``bundle.json`` with SQL on the
marts and the ledger, and checks the manifest with ``sha256sum -c``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from synthgov.report import build_report
from synthgov.retention.evidence import EvidenceLedger
from synthgov.retention.run import run_scheduled
from tests.retention_world import Built, World
from tests.unit.test_report_pack import write_events

pytestmark = pytest.mark.integration


def test_the_pack_numbers_are_the_marts_numbers(world: World, built: Built, tmp_path: Path) -> None:
    run = run_scheduled(world.conn, world.lake, world.warehouse, world.policies.retention, world.policies.mapping)
    assert run.appended is not None, run.receipt
    events = tmp_path / "events.jsonl"
    write_events(events)
    pack = build_report(
        tmp_path / "pack",
        warehouse=world.warehouse,
        lake=world.lake,
        events_file=events,
        dbt_project=built.root / "dbt_project",
        org_url=world.org.instance_url,
    )
    bundle = json.loads((pack.folder / "bundle.json").read_text())
    q = world.warehouse.query

    # The purge ran after the marts were built: the pack says so and counts what it removed.
    later = bundle["governance"]["since_build"]
    entry = json.loads(world.lake.get_bytes(run.appended.key))
    purged = sum(1 for o in entry["outcomes"] if o["outcome"] in ("purged", "already_deleted"))
    assert later["stale"] and later["purges"] == 1 and later["removed"] == purged > 0
    # Finding rows about a record carry its owner as the provenance ledger has it, and a link to it in the org.
    owners = {
        (str(o), str(r)): w for o, r, w in q("SELECT object_name, record_id, owner_id FROM marts.provenance_ledger")
    }
    rows = [r for c in bundle["governance"]["controls"] for r in c["rows"] or []]
    about_records = [r for r in rows if (r["object_name"], r["entity_id"]) in owners]
    assert about_records
    for r in about_records:
        assert r["owner_id"] == owners[(r["object_name"], r["entity_id"])]
        assert r["record_url"] == f"{world.org.instance_url.rstrip('/')}/{r['entity_id']}"

    summary = {
        row[0]: row[1:]
        for row in q(
            "SELECT control, regulation, status, findings, high_findings, medium_findings, low_findings, "
            "heuristic_findings, info_findings, finding_table FROM marts.governance_summary"
        )
    }
    controls = {c["control"]: c for c in bundle["governance"]["controls"]}
    assert set(controls) == set(summary) and len(controls) == 10
    for name, (regulation, status, *counts, table) in summary.items():
        c = controls[name]
        assert (c["regulation"], c["status"]) == (regulation, status), name
        assert [
            c[k]
            for k in (
                "findings",
                "high_findings",
                "medium_findings",
                "low_findings",
                "heuristic_findings",
                "info_findings",
            )
        ] == counts, name
        assert sorted(r["finding_id"] for r in c["rows"]) == sorted(
            r[0] for r in q(f"SELECT finding_id FROM marts.{table}")
        )
    ((total_findings,),) = q("SELECT sum(findings) FROM marts.governance_summary")
    assert bundle["governance"]["totals"]["findings"] == total_findings > 0

    provenance = bundle["provenance"]
    ((records, heuristic, personas),) = q(
        "SELECT count(*), count(*) FILTER (WHERE is_heuristic), count(*) FILTER (WHERE is_synthetic_persona) "
        "FROM marts.provenance_ledger"
    )
    assert (provenance["records"], provenance["is_heuristic"], provenance["is_synthetic_persona"]) == (
        records,
        heuristic,
        personas,
    )
    for dimension in ("provenance_class", "evidence", "confidence", "object_name", "ai_tool"):
        expected = dict(q(f"SELECT {dimension}, count(*) FROM marts.provenance_ledger GROUP BY 1"))
        assert {i["value"]: i["records"] for i in provenance["by"][dimension]} == expected, dimension

    by_policy = dict(q("SELECT policy_id, count(*) FROM marts.retention_candidates GROUP BY 1"))
    assert {p["policy_id"]: p["candidates"] for p in bundle["retention"]["by_policy"]} == by_policy
    assert bundle["retention"]["candidates"] == sum(by_policy.values()) > 0

    ledger = EvidenceLedger(world.lake)
    verified = ledger.verify()
    evidence = bundle["evidence"]
    assert evidence["verification"]["ok"] is True and verified.ok
    assert evidence["verification"]["head_sha256"] == verified.head_sha256 == run.appended.sha256
    (receipt,) = evidence["receipts"]
    (entry,) = ledger.entries()
    assert receipt["entry_sha256"] == entry["entry_sha256"] and receipt["counts"] == entry["counts"]
    assert len(evidence["outcomes"]) == len(entry["outcomes"]) == entry["counts"]["planned"]

    marts = {d["relation"]: d for d in bundle["docs"]["datasets"] if d["layer"] == "marts"}
    assert set(marts) == {
        f"marts.{t}" for (t,) in q("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'")
    }
    ledger_columns = [
        r[0]
        for r in q(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'provenance_ledger'"
        )
    ]
    documented = marts["marts.provenance_ledger"]["columns"]
    assert sorted(c["name"] for c in documented) == sorted(ledger_columns)
    assert all(c["description"] and c["type"] for c in documented)

    html = pack.index.read_text()
    assert run.appended.sha256 in html and "Evidence ledger verified intact" in html
    if shutil.which("sha256sum"):
        checked = subprocess.run(
            ["sha256sum", "--check", "--strict", "SHA256SUMS"],
            cwd=pack.folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
