"""The policy files: the shipped ones are valid; bad ones fail naming the file, the entry and the problem."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
import yaml

from synthgov.extract.config import load_config
from synthgov.policies import POLICY_DIR, PolicyError, export_for_dbt, load_policies

pytestmark = pytest.mark.unit


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target)
    return target


def edit(directory: Path, name: str, change: object) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data))


def test_shipped_policies_are_valid_against_the_extraction_config() -> None:
    objects = {s.name for s in load_config().objects}
    policies = load_policies(known_objects=objects)
    assert {p.id for p in policies.retention} >= {"ai-email-180d", "synthetic-lead-90d"}


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("retention.yml", lambda d: d["policies"][0].update(days=-5), "policies[1] ai-email-180d: days: must be"),
        ("retention.yml", lambda d: d["policies"][1].update(id="ai-email-180d"), "duplicate id 'ai-email-180d'"),
        ("retention.yml", lambda d: d["policies"][0].update(action="shred"), "action: 'shred' is not one of"),
        ("retention.yml", lambda d: d["policies"][0].update(object="Case"), "object: 'Case' has no provenance mapping"),
        ("retention.yml", lambda d: d["policies"][0].update(exempt=["vip"]), "exempt: expected a list of"),
        ("retention.yml", lambda d: d["policies"][0].update(action="mask"), "mask_fields: action mask needs"),
        ("retention.yml", lambda d: d["policies"][0].update(caps={"max_fraction": 3}), "caps.max_fraction"),
        ("retention.yml", lambda d: d["policies"][0].pop("regulation"), "regulation: cite the article"),
        ("retention.yml", lambda d: d["policies"][0].update(colour="red"), "unknown field 'colour'"),
        (
            "provenance_mapping.yml",
            lambda d: d["objects"]["Lead"].update(vibe="X__c"),
            "objects.Lead.vibe: unknown role",
        ),
        (
            "provenance_mapping.yml",
            lambda d: d["objects"].update(Case={"ai_generated": "X__c"}),
            "Case is not extracted",
        ),
        ("provenance_mapping.yml", lambda d: d["objects"]["Lead"].update(ai_tool="not a field"), "is not a field API"),
        ("ai_tools.yml", lambda d: d["packages"][0].update(capabilities=["mind_control"]), "capabilities: expected"),
        (
            "ai_tools.yml",
            lambda d: d["lead_scoring_bias"].update(max_mean_gap=-1),
            "max_mean_gap: must be a positive number",
        ),
    ],
)
def test_bad_policies_name_file_entry_and_problem(policies: Path, name: str, change: object, message: str) -> None:
    edit(policies, name, change)
    objects = {s.name for s in load_config().objects}
    with pytest.raises(PolicyError) as err:
        load_policies(policies, known_objects=objects)
    assert any(str(policies / name) in p and message in p for p in err.value.problems), err.value.problems


def test_unknown_field_is_caught_against_the_warehouse_columns(policies: Path) -> None:
    columns = {"Lead": {"Id", "AI_Generated__c"}}
    with pytest.raises(PolicyError, match=r"objects.Lead.ai_tool: Lead has no field 'AI_Tool__c'"):
        load_policies(policies, known_columns=columns)


def test_every_problem_is_reported_at_once(policies: Path) -> None:
    edit(policies, "retention.yml", lambda d: [p.update(days=-1) for p in d["policies"]])
    with pytest.raises(PolicyError) as err:
        load_policies(policies)
    assert len(err.value.problems) == 5


def test_export_writes_seeds_and_the_mapping_macro(tmp_path: Path) -> None:
    written = export_for_dbt(load_policies(), tmp_path)
    names = {p.name for p in written}
    assert {"policy_retention.csv", "policy_packages.csv", "synthgov_policy.sql"} <= names
    rows = list(csv.DictReader((tmp_path / "seeds" / "policy" / "policy_retention.csv").open()))
    email = next(r for r in rows if r["policy_id"] == "ai-email-180d")
    assert email["retention_days"] == "180" and email["exempt_human_reviewed"] == "true"
    macro = (tmp_path / "macros" / "generated" / "synthgov_policy.sql").read_text()
    assert "macro synthgov_policy()" in macro and "AI_Generated__c" in macro


def test_export_rewrites_only_what_changed(tmp_path: Path) -> None:
    """A night whose policies did not change leaves dbt's inputs as they were; a changed policy is written."""
    written = export_for_dbt(load_policies(), tmp_path)
    retention = tmp_path / "seeds" / "policy" / "policy_retention.csv"
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in written}
    for path in written:
        os.utime(path, ns=(1, 1))  # an old time: a rewrite would set the current one
    assert export_for_dbt(load_policies(), tmp_path) == written
    assert {path: path.stat().st_mtime_ns for path in written} == dict.fromkeys(written, 1)
    assert {path: path.read_bytes() for path in written} == {path: data for path, (_, data) in before.items()}
    retention.write_bytes(b"policy_id\r\nstale\r\n")
    export_for_dbt(load_policies(), tmp_path)
    assert retention.read_bytes() == before[retention][1] and retention.stat().st_mtime_ns != 1
