"""retention.schema.json (for editors) and synthgov.policies (for runs) accept and refuse the same files."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from synthgov.policies import ACTIONS, APPLIES_TO, CLOCKS, EXEMPTIONS, POLICY_DIR, PolicyError, load_policies

pytestmark = pytest.mark.unit

SCHEMA_PATH = POLICY_DIR / "retention.schema.json"
Change = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((POLICY_DIR / "retention.yml").read_text())
    return data


def policy_props() -> dict[str, Any]:
    props: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())["$defs"]["policy"]["properties"]
    return props


def loader_problems(tmp_path: Path, data: Any) -> list[str]:
    directory = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, directory, dirs_exist_ok=True)
    (directory / "retention.yml").write_text(yaml.safe_dump(data))
    try:
        load_policies(directory)
    except PolicyError as exc:
        return exc.problems
    return []


def drop(policy: dict[str, Any], *names: str) -> None:
    for name in names:
        del policy[name]


def first(change: Callable[[dict[str, Any]], None]) -> Change:
    """Apply ``change`` to the first policy of the file."""
    return lambda data: change(data["policies"][0])


def test_the_shipped_file_validates_and_names_its_schema(validator: Draft202012Validator) -> None:
    assert list(validator.iter_errors(shipped())) == []
    header = (POLICY_DIR / "retention.yml").read_text().splitlines()
    assert header[0] == "# yaml-language-server: $schema=retention.schema.json"


def test_enums_are_the_module_constants() -> None:
    props = policy_props()
    assert props["applies_to"]["enum"] == list(APPLIES_TO)
    assert props["clock"]["enum"] == list(CLOCKS)
    assert props["action"]["enum"] == list(ACTIONS)
    assert props["exempt"]["items"]["enum"] == list(EXEMPTIONS)


def test_fields_are_the_ones_the_loader_allows(tmp_path: Path) -> None:
    data = shipped()
    data["policies"][0]["colour"] = "red"
    (problem,) = loader_problems(tmp_path, data)
    allowed = re.search(r"allowed: (.*)$", problem)
    assert allowed is not None
    assert set(allowed[1].split(", ")) == set(policy_props())


def test_every_field_has_a_title_and_the_required_ones_match() -> None:
    props = policy_props()
    assert all(p.get("title") for p in props.values())
    required = json.loads(SCHEMA_PATH.read_text())["$defs"]["policy"]["required"]
    assert set(required) == {"id", "object", "applies_to", "days", "action", "regulation"}


BAD: list[tuple[str, Change, str]] = [
    ("days negative", first(lambda p: p.update(days=-5)), "days"),
    ("days as text", first(lambda p: p.update(days="180")), "days"),
    ("days as a boolean", first(lambda p: p.update(days=True)), "days"),
    ("days missing", first(lambda p: p.pop("days")), "days"),
    ("id with capitals", first(lambda p: p.update(id="AI_Email")), "id"),
    ("id missing", first(lambda p: p.pop("id")), "id"),
    ("object not a name", first(lambda p: p.update(object=42)), "object"),
    ("object missing", first(lambda p: p.pop("object")), "object"),
    ("applies_to unknown", first(lambda p: p.update(applies_to="humans")), "applies_to"),
    ("applies_to missing", first(lambda p: p.pop("applies_to")), "applies_to"),
    ("clock unknown", first(lambda p: p.update(clock="modified")), "clock"),
    ("clock null", first(lambda p: p.update(clock=None)), "clock"),
    ("exempt unknown", first(lambda p: p.update(exempt=["vip"])), "exempt"),
    ("exempt not a list", first(lambda p: p.update(exempt="legal_hold")), "exempt"),
    ("action unknown", first(lambda p: p.update(action="shred")), "action"),
    ("action missing", first(lambda p: p.pop("action")), "action"),
    ("mask without fields", first(lambda p: p.update(action="mask")), "mask_fields"),
    ("mask with no fields", first(lambda p: p.update(action="mask", mask_fields=[])), "mask_fields"),
    ("mask with a bad field", first(lambda p: p.update(action="mask", mask_fields=["not a field"])), "mask_fields"),
    ("mask_fields not a list", first(lambda p: p.update(action="mask", mask_fields="Subject")), "mask_fields"),
    ("threshold negative", first(lambda p: p.update(approval_threshold=-1)), "approval_threshold"),
    ("threshold fractional", first(lambda p: p.update(approval_threshold=1.5)), "approval_threshold"),
    ("threshold null", first(lambda p: p.update(approval_threshold=None)), "approval_threshold"),
    ("caps null", first(lambda p: p.update(caps=None)), "caps"),
    ("caps unknown key", first(lambda p: p.update(caps={"burst": 3})), "caps"),
    ("max_records zero", first(lambda p: p.update(caps={"max_records": 0})), "max_records"),
    ("max_records text", first(lambda p: p.update(caps={"max_records": "many"})), "max_records"),
    ("max_fraction zero", first(lambda p: p.update(caps={"max_fraction": 0})), "max_fraction"),
    ("max_fraction above 1", first(lambda p: p.update(caps={"max_fraction": 3})), "max_fraction"),
    ("max_fraction boolean", first(lambda p: p.update(caps={"max_fraction": True})), "max_fraction"),
    ("regulation blank", first(lambda p: p.update(regulation="   ")), "regulation"),
    ("regulation missing", first(lambda p: p.pop("regulation")), "regulation"),
    ("regulation not text", first(lambda p: p.update(regulation=5)), "regulation"),
    ("unknown field", first(lambda p: p.update(colour="red")), "colour"),
    ("entry not a mapping", lambda d: d["policies"].append("ai-email-180d"), "policies"),
    ("policies not a list", lambda d: d.update(policies={"id": "x"}), "policies"),
    ("policies missing", lambda d: d.pop("policies"), "policies"),
]


@pytest.mark.parametrize(("change", "field"), [(c, f) for _, c, f in BAD], ids=[name for name, _, _ in BAD])
def test_bad_files_are_refused_by_both(
    validator: Draft202012Validator, tmp_path: Path, change: Change, field: str
) -> None:
    data = copy.deepcopy(shipped())
    change(data)
    problems = loader_problems(tmp_path, data)
    assert problems, "the loader accepted it"
    assert any(field in p for p in problems), problems
    errors = list(validator.iter_errors(data))
    assert errors, "the schema accepted it"
    # The schema's message points at the same field, so an editor underlines what the check names.
    assert any(field in "/".join(map(str, e.absolute_path)) or field in e.message for e in errors), [
        e.message for e in errors
    ]


GOOD: list[tuple[str, Change]] = [
    ("optional fields left out", first(lambda p: drop(p, "clock", "exempt", "approval_threshold", "caps"))),
    ("empty caps", first(lambda p: p.update(caps={}))),
    ("only max_records", first(lambda p: p.update(caps={"max_records": 1}))),
    ("max_fraction 1", first(lambda p: p.update(caps={"max_fraction": 1}))),
    ("zero days and threshold", first(lambda p: p.update(days=0, approval_threshold=0))),
    ("created_date clock", first(lambda p: p.update(clock="created_date"))),
    ("empty exemptions", first(lambda p: p.update(exempt=[]))),
    ("mask with fields", first(lambda p: p.update(action="mask", mask_fields=["Subject", "TextBody"]))),
    ("mask_fields ignored by other actions", first(lambda p: p.update(action="hard_delete", mask_fields="x"))),
    ("no policies", lambda d: d.update(policies=[])),
    ("extra top-level key", lambda d: d.update(notes="reviewed by DPO 2026-10")),
]


@pytest.mark.parametrize("change", [c for _, c in GOOD], ids=[name for name, _ in GOOD])
def test_good_files_are_accepted_by_both(validator: Draft202012Validator, tmp_path: Path, change: Change) -> None:
    data = copy.deepcopy(shipped())
    change(data)
    assert loader_problems(tmp_path, data) == []
    assert [e.message for e in validator.iter_errors(data)] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["policies"][1].update(id=d["policies"][0]["id"]), "duplicate id"),
        (first(lambda p: p.update(object="Case")), "has no provenance mapping"),
    ],
    ids=["duplicate id", "object without a mapping"],
)
def test_what_only_the_loader_can_check(
    validator: Draft202012Validator, tmp_path: Path, change: Change, message: str
) -> None:
    """Uniqueness across entries and the link to provenance_mapping.yml are beyond a JSON Schema."""
    data = copy.deepcopy(shipped())
    change(data)
    assert list(validator.iter_errors(data)) == []
    assert any(message in p for p in loader_problems(tmp_path, data))
