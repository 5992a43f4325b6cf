"""A control that cannot judge says so: lead-scoring bias on a demo org whose synthetic group is too small.

The demo org is seeded, then every scored lead built on synthetic inputs but three is deleted through
the org's REST API (composite delete, as an admin would clean up) before the org is extracted, loaded
and built by dbt. Three leads are below the policy's min_group_size (20): governance_summary must say
insufficient_data with the reason, and the regulator pack must show it, never "no findings". With the
policy's threshold lowered to the group's size, the same warehouse is judged again: a finding when the
ground truth's gap exceeds max_mean_gap, no finding when max_mean_gap is above it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from synthgov.lake import LocalLake
from synthgov.policies import POLICY_DIR, export_for_dbt, load_policies
from synthgov.report import build_report
from synthgov.warehouse import DuckDBWarehouse
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_dbt_duckdb import _org_time, _warehouse_columns, dbt
from tests.retention_world import Built, _all, build
from tests.unit.test_report_pack import write_events

pytestmark = pytest.mark.integration

KEPT = 3  # synthetic-input leads left with a score: below min_group_size 20 in ai_tools.yml
MIN_GROUP_SIZE = 20
REASON = f"synthetic group of {KEPT} leads below min_group_size {MIN_GROUP_SIZE} (model LeadScorer v3)"
# Highest scores first: the three kept keep the planted gap, so a judged control must find it.
SCORED_SYNTHETIC = (
    "SELECT Id, Score_Model__c FROM Lead WHERE Lead_Score__c != null "
    "AND (Synthetic_Persona__c = true OR AI_Generated__c = true) ORDER BY Lead_Score__c DESC, Id"
)
# What a policy change rebuilds: the bias control, the coverage and the summary, with their tests.
BIAS_MODELS = ("finding_lead_scoring_bias", "governance_coverage", "governance_summary")


def _keep_a_small_synthetic_group(org: SandboxProcess) -> None:
    leads = _all(org, org.rest("GET", "query", params={"q": SCORED_SYNTHETIC}))
    assert len(leads) > MIN_GROUP_SIZE, "the demo org plants a synthetic group large enough to judge"
    kept = [r["Id"] for r in leads if r["Score_Model__c"]][:KEPT]
    doomed = [str(r["Id"]) for r in leads if r["Id"] not in kept]
    for start in range(0, len(doomed), 200):  # 200 ids per composite call, the API's limit
        results = org.rest("DELETE", "composite/sobjects", params={"ids": ",".join(doomed[start : start + 200])})
        assert all(r["success"] for r in results), results


@pytest.fixture(scope="module")
def shrunk(demo_org: SandboxProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
        yield build(demo_org, tmp_path_factory.mktemp("insufficient-data"), _keep_a_small_synthetic_group)


def _query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    # dbt-duckdb keeps the file open in this process: open it exactly as plainly as it does.
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql).fetchall()


def _bias_summary(warehouse: Path) -> tuple[Any, ...]:
    (row,) = _query(
        warehouse,
        "SELECT status, findings, insufficient_data_reason FROM marts.governance_summary "
        "WHERE control = 'lead_scoring_bias'",
    )
    return tuple(row)


def test_a_group_below_min_group_size_is_insufficient_data_in_the_summary_and_the_pack(
    shrunk: Built, tmp_path: Path
) -> None:
    gap = shrunk.truth["aggregates"]["lead_score_gap"]
    assert gap["synthetic_n"] == KEPT and gap["authentic_n"] >= MIN_GROUP_SIZE
    assert _bias_summary(shrunk.warehouse_file) == ("insufficient_data", 0, REASON)
    assert _query(shrunk.warehouse_file, "SELECT count(*) FROM marts.finding_lead_scoring_bias") == [(0,)]

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(shrunk.warehouse_file, warehouse)
    events = tmp_path / "events.jsonl"
    write_events(events)
    pack = build_report(
        tmp_path / "pack",
        warehouse=DuckDBWarehouse(warehouse),
        lake=LocalLake(shrunk.lake_dir),
        events_file=events,
        dbt_project=shrunk.root / "dbt_project",
    )
    bundle = json.loads((pack.folder / "bundle.json").read_text())
    (bias,) = [c for c in bundle["governance"]["controls"] if c["control"] == "lead_scoring_bias"]
    assert (bias["status"], bias["insufficient_data_reason"], bias["rows"]) == ("insufficient_data", REASON, [])
    assert bundle["governance"]["totals"]["controls_insufficient_data"] >= 1
    html = (pack.folder / "index.html").read_text()
    row = html.split('<tr data-control="lead_scoring_bias">')[1].split("</tr>")[0]
    assert f'<td class="status-insufficient_data">insufficient data: {REASON}</td>' in row
    assert "no findings" not in row
    assert f"  lead_scoring_bias: insufficient data: {REASON}" in pack.summary().splitlines()


def _rebuild_with_bias_policy(
    project: Path, columns: dict[str, set[str]], truth: dict[str, Any], tmp: Path, **bias: Any
) -> None:
    """Export a copy of the policies with other lead_scoring_bias thresholds and rebuild what they decide."""
    policies = tmp / "policies"
    shutil.copytree(POLICY_DIR, policies, dirs_exist_ok=True)
    tools = yaml.safe_load((policies / "ai_tools.yml").read_text())
    tools["lead_scoring_bias"] = {**tools["lead_scoring_bias"], **bias}
    (policies / "ai_tools.yml").write_text(yaml.safe_dump(tools))
    export_for_dbt(load_policies(policies, known_columns=columns), project)
    dbt(project, "build", "--select", *BIAS_MODELS, "--vars", json.dumps({"as_of": _org_time(truth["now"])}))


def test_with_a_group_large_enough_the_control_judges_as_the_ground_truth_says(
    shrunk: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the built project and warehouse: the module's world stays as the other test reads it.
    project = tmp_path / "dbt_project"
    shutil.copytree(shrunk.root / "dbt_project", project)
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(shrunk.warehouse_file, warehouse)
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(warehouse))
    # Read before dbt opens the copy: DuckDB refuses a read-only handle beside dbt-duckdb's own.
    columns = _warehouse_columns(warehouse)
    gap = shrunk.truth["aggregates"]["lead_score_gap"]
    max_mean_gap = yaml.safe_load((POLICY_DIR / "ai_tools.yml").read_text())["lead_scoring_bias"]["max_mean_gap"]
    assert abs(gap["gap"]) > max_mean_gap, "the three synthetic leads left keep a gap beyond the threshold"

    _rebuild_with_bias_policy(project, columns, shrunk.truth, tmp_path / "judged", min_group_size=KEPT)
    assert _bias_summary(warehouse) == ("findings", 1, None)
    ((evidence,),) = _query(warehouse, "SELECT evidence FROM marts.finding_lead_scoring_bias")
    measured = dict(part.split(":", 1) for part in evidence.split())
    assert (int(measured["synthetic_n"]), int(measured["other_n"])) == (KEPT, gap["authentic_n"])
    assert float(measured["mean_gap"]) == pytest.approx(gap["gap"], abs=0.011)

    within = round(abs(gap["gap"]) + 1, 2)
    _rebuild_with_bias_policy(
        project, columns, shrunk.truth, tmp_path / "passed", min_group_size=KEPT, max_mean_gap=within
    )
    assert _bias_summary(warehouse) == ("no_findings", 0, None)
