"""The policy files under include/policies: validated here, handed to dbt by one step.

Three files, one source of truth each:
- `provenance_mapping.yml`: where the org keeps its provenance facts (field names per role);
- `retention.yml`: retention policies for AI-generated and synthetic content;
- `ai_tools.yml`: AI permission sets, approved users, the AI-capable package catalogue, bias threshold.

`export_for_dbt` is the one documented step from these files to dbt: it validates them (every
problem, with file, entry and field) and writes dbt seeds (`policy_*.csv`) plus a generated macro
`synthgov_policy()` that returns the field mapping, so the models never hard-code a field name.
Nothing is written when a file is bad, so no model runs on a bad policy. Validated retention
policies come back typed (`synthgov.retention.rules.Policy`): the one form Python code reads them in.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synthgov import settings
from synthgov.retention.rules import Policy

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"
DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"

MAPPING_ROLES = (
    "ai_generated",
    "ai_tool",
    "ai_model",
    "generated_at",
    "disclosure_shown",
    "human_reviewed",
    "legal_hold",
    "synthetic_persona",
    "lead_score",
    "score_model",
    "score_automated_decision",
    "training_consent",
)
PROVENANCE_ROLES = (
    "record_id",
    "object_type",
    "tool",
    "model",
    "prompt_hash",
    "generated_at",
    "reviewed_by",
    "disclosure",
    "digital_source_type",
)
APPLIES_TO = ("ai_generated", "synthetic_persona")
CLOCKS = ("generated_at", "created_date")
EXEMPTIONS = ("legal_hold", "human_reviewed")
ACTIONS = ("soft_delete", "hard_delete", "mask")
CAPABILITIES = (
    "text_generation",
    "image_generation",
    "video_generation",
    "voice_cloning",
    "deepfake",
    "synthetic_data",
    "synthetic_persona",
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class PolicyError(ValueError):
    """One or more problems in the policy files; each line names the file, the entry and the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("bad policy files:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Policies:
    mapping: dict[str, Any]
    retention: list[Policy]
    ai_tools: dict[str, Any]
    directory: Path


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror}")
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}")
    return None


def load_policies(
    directory: Path | None = None,
    *,
    known_objects: set[str] | None = None,
    known_columns: dict[str, set[str]] | None = None,
) -> Policies:
    """Read and validate the three files; raise PolicyError listing every problem.

    `known_objects` (the extracted objects) and `known_columns` (object -> its columns, e.g. from
    the warehouse) let the check catch unknown objects and fields before any model runs.
    """
    directory = directory or settings.policy_dir()
    problems: list[str] = []
    mapping_path = directory / "provenance_mapping.yml"
    retention_path = directory / "retention.yml"
    tools_path = directory / "ai_tools.yml"
    mapping = _read(mapping_path, problems)
    retention = _read(retention_path, problems)
    tools = _read(tools_path, problems)
    if problems:
        raise PolicyError(problems)
    lower_objects = {o.lower() for o in known_objects} if known_objects is not None else None
    columns = {o.lower(): {c.lower() for c in cols} for o, cols in (known_columns or {}).items()}
    mapped_objects = _check_mapping(mapping_path, mapping, lower_objects, columns, problems)
    policies = _check_retention(retention_path, retention, mapped_objects, problems)
    _check_tools(tools_path, tools, problems)
    if problems:
        raise PolicyError(problems)
    return Policies(mapping, [Policy.from_entry(entry) for entry in policies], tools, directory)


def _check_field(where: str, obj: str, field: Any, columns: dict[str, set[str]], problems: list[str]) -> None:
    if not isinstance(field, str) or not _NAME.match(field):
        problems.append(f"{where}: {field!r} is not a field API name")
    elif obj.lower() in columns and field.lower() not in columns[obj.lower()]:
        problems.append(f"{where}: {obj} has no field {field!r} (check the org's describe, or the mapping)")


def _check_mapping(
    path: Path, data: Any, known: set[str] | None, columns: dict[str, set[str]], problems: list[str]
) -> set[str]:
    if not isinstance(data, dict) or not isinstance(data.get("objects"), dict):
        problems.append(f"{path}: expected a mapping with 'objects' (object -> role -> field)")
        return set()
    allowed = {"objects", "provenance_object", "ai_integration_usernames", "text_markers"}
    for key in sorted(set(data) - allowed):
        problems.append(f"{path}: unknown top-level key {key!r}; allowed: {', '.join(sorted(allowed))}")
    objects: set[str] = set()
    for obj, roles in data["objects"].items():
        where = f"{path}: objects.{obj}"
        if not isinstance(obj, str) or not _NAME.match(obj):
            problems.append(f"{where}: not an sObject API name")
            continue
        if known is not None and obj.lower() not in known:
            problems.append(f"{where}: {obj} is not extracted (add it to include/config/extraction.yml)")
        objects.add(obj)
        if not isinstance(roles, dict):
            problems.append(f"{where}: expected role: field pairs")
            continue
        for role, field in roles.items():
            if role not in MAPPING_ROLES:
                problems.append(f"{where}.{role}: unknown role; allowed: {', '.join(MAPPING_ROLES)}")
                continue
            _check_field(f"{where}.{role}", obj, field, columns, problems)
    prov = data.get("provenance_object")
    if prov is not None:
        where = f"{path}: provenance_object"
        if (
            not isinstance(prov, dict)
            or not isinstance(prov.get("name"), str)
            or not isinstance(prov.get("fields"), dict)
        ):
            problems.append(f"{where}: expected name and fields (role -> field)")
        else:
            name = prov["name"]
            if known is not None and name.lower() not in known:
                problems.append(f"{where}.name: {name} is not extracted (add it to include/config/extraction.yml)")
            for role in PROVENANCE_ROLES[:2]:
                if role not in prov["fields"]:
                    problems.append(f"{where}.fields: {role} is required")
            for role, field in prov["fields"].items():
                if role not in PROVENANCE_ROLES:
                    problems.append(f"{where}.fields.{role}: unknown role; allowed: {', '.join(PROVENANCE_ROLES)}")
                    continue
                _check_field(f"{where}.fields.{role}", name, field, columns, problems)
    for key in ("ai_integration_usernames", "text_markers"):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            problems.append(f"{path}: {key}: expected a list of non-empty strings")
    return objects


def _check_retention(path: Path, data: Any, mapped: set[str], problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
        problems.append(f"{path}: expected a mapping with a list 'policies'")
        return []
    seen: set[str] = set()
    out = []
    allowed = {
        "id",
        "object",
        "applies_to",
        "days",
        "clock",
        "exempt",
        "action",
        "mask_fields",
        "approval_threshold",
        "caps",
        "regulation",
    }
    for i, entry in enumerate(data["policies"], start=1):
        if not isinstance(entry, dict):
            problems.append(f"{path}: policies[{i}]: expected a mapping")
            continue
        pid = entry.get("id")
        where = f"{path}: policies[{i}] {pid or '(no id)'}"
        for key in sorted(set(entry) - allowed):
            problems.append(f"{where}: unknown field {key!r}; allowed: {', '.join(sorted(allowed))}")
        if not isinstance(pid, str) or not _POLICY_ID.match(pid):
            problems.append(f"{where}: id: required, lower-case letters, digits and '-'")
        elif pid in seen:
            problems.append(f"{where}: id: duplicate id {pid!r}")
        else:
            seen.add(pid)
        obj = entry.get("object")
        if not isinstance(obj, str) or obj not in mapped:
            problems.append(f"{where}: object: {obj!r} has no provenance mapping (objects in provenance_mapping.yml)")
        days = entry.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            problems.append(f"{where}: days: must be a whole number of days, 0 or more, got {days!r}")
        for key, choices, default in (
            ("applies_to", APPLIES_TO, None),
            ("clock", CLOCKS, "generated_at"),
            ("action", ACTIONS, None),
        ):
            value = entry.get(key, default)
            if value not in choices:
                problems.append(f"{where}: {key}: {value!r} is not one of {', '.join(choices)}")
        exempt = entry.get("exempt", [])
        if not isinstance(exempt, list) or any(e not in EXEMPTIONS for e in exempt):
            problems.append(f"{where}: exempt: expected a list of {', '.join(EXEMPTIONS)}, got {exempt!r}")
        if entry.get("action") == "mask":
            fields = entry.get("mask_fields")
            if (
                not isinstance(fields, list)
                or not fields
                or not all(isinstance(f, str) and _NAME.match(f) for f in fields)
            ):
                problems.append(f"{where}: mask_fields: action mask needs a list of field API names")
        threshold = entry.get("approval_threshold", 0)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            problems.append(f"{where}: approval_threshold: must be a whole number, 0 or more")
        caps = entry.get("caps", {})
        if not isinstance(caps, dict) or set(caps) - {"max_records", "max_fraction"}:
            problems.append(f"{where}: caps: expected max_records and/or max_fraction")
        else:
            n = caps.get("max_records", 1)
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                problems.append(f"{where}: caps.max_records: must be a whole number of at least 1")
            f = caps.get("max_fraction", 1.0)
            if not isinstance(f, int | float) or isinstance(f, bool) or not 0 < f <= 1:
                problems.append(f"{where}: caps.max_fraction: must be in (0, 1]")
        if not isinstance(entry.get("regulation"), str) or not entry["regulation"].strip():
            problems.append(f"{where}: regulation: cite the article the policy serves (e.g. GDPR Art. 5(1)(e))")
        out.append(entry)
    return out


def _check_tools(path: Path, data: Any, problems: list[str]) -> None:
    if not isinstance(data, dict):
        problems.append(f"{path}: expected a mapping")
        return
    allowed = {"ai_permission_sets", "approved_users", "packages", "lead_scoring_bias"}
    for key in sorted(set(data) - allowed):
        problems.append(f"{path}: unknown top-level key {key!r}; allowed: {', '.join(sorted(allowed))}")
    for key in ("ai_permission_sets", "approved_users"):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            problems.append(f"{path}: {key}: expected a list of names")
        elif len(set(values)) != len(values):
            problems.append(f"{path}: {key}: duplicate entries")
    namespaces: set[str] = set()
    for i, pkg in enumerate(data.get("packages", []) or [], start=1):
        where = f"{path}: packages[{i}]"
        if not isinstance(pkg, dict) or not isinstance(pkg.get("namespace"), str):
            problems.append(f"{where}: namespace is required")
            continue
        where += f" {pkg['namespace']}"
        if pkg["namespace"] in namespaces:
            problems.append(f"{where}: namespace: duplicate")
        namespaces.add(pkg["namespace"])
        caps = pkg.get("capabilities")
        if not isinstance(caps, list) or not caps or any(c not in CAPABILITIES for c in caps):
            problems.append(f"{where}: capabilities: expected a non-empty list of {', '.join(CAPABILITIES)}")
        if not isinstance(pkg.get("approved"), bool):
            problems.append(f"{where}: approved: true or false")
    bias = data.get("lead_scoring_bias", {"max_mean_gap": 10.0, "min_group_size": 20})
    if not isinstance(bias, dict):
        problems.append(f"{path}: lead_scoring_bias: expected max_mean_gap and min_group_size")
    else:
        gap, size = bias.get("max_mean_gap"), bias.get("min_group_size")
        if not isinstance(gap, int | float) or isinstance(gap, bool) or gap <= 0:
            problems.append(f"{path}: lead_scoring_bias.max_mean_gap: must be a positive number")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            problems.append(f"{path}: lead_scoring_bias.min_group_size: must be a whole number of at least 1")


def _write_if_changed(path: Path, text: str) -> None:
    """Write `text` unless the file holds it already: a night whose policies did not change leaves dbt's
    inputs untouched (the files, their modification times and the checksums dbt and Cosmos take of them)."""
    data = text.encode()
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    _write_if_changed(path, buffer.getvalue())


def export_for_dbt(policies: Policies, project: Path | None = None) -> list[Path]:
    """Write the dbt seeds and the mapping macro from validated policies (each only if its content changed);
    returns their paths."""
    project = project or DBT_PROJECT
    seeds = project / "seeds" / "policy"
    macros = project / "macros" / "generated"
    seeds.mkdir(parents=True, exist_ok=True)
    macros.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    rows = []
    for p in policies.retention:
        rows.append(
            [
                p.id,
                p.object,
                p.applies_to,
                p.days,
                p.clock,
                str("legal_hold" in p.exempt).lower(),
                str("human_reviewed" in p.exempt).lower(),
                p.action,
                ",".join(p.mask_fields),
                p.approval_threshold,
                "" if p.max_records is None else p.max_records,
                "" if p.max_fraction is None else p.max_fraction,
                p.regulation,
            ]
        )
    path = seeds / "policy_retention.csv"
    _write_csv(
        path,
        [
            "policy_id",
            "object_name",
            "applies_to",
            "retention_days",
            "clock",
            "exempt_legal_hold",
            "exempt_human_reviewed",
            "action",
            "mask_fields",
            "approval_threshold",
            "max_records",
            "max_fraction",
            "regulation",
        ],
        rows,
    )
    written.append(path)

    tools = policies.ai_tools
    for name, header, values in (
        ("policy_ai_permission_sets", ["permission_set_name"], tools.get("ai_permission_sets", [])),
        ("policy_approved_users", ["username"], tools.get("approved_users", [])),
        ("policy_ai_integration_users", ["username"], policies.mapping.get("ai_integration_usernames", [])),
        ("policy_text_markers", ["marker"], [m.lower() for m in policies.mapping.get("text_markers", [])]),
    ):
        path = seeds / f"{name}.csv"
        _write_csv(path, header, [[v] for v in values])
        written.append(path)
    path = seeds / "policy_packages.csv"
    _write_csv(
        path,
        ["namespace", "package_name", "capabilities", "is_deepfake_capable", "approved"],
        [
            [
                p["namespace"],
                p.get("name", p["namespace"]),
                ",".join(p["capabilities"]),
                str(
                    bool({"deepfake", "voice_cloning", "image_generation", "video_generation"} & set(p["capabilities"]))
                ).lower(),
                str(p["approved"]).lower(),
            ]
            for p in tools.get("packages", [])
        ],
    )
    written.append(path)

    mapping = {
        "objects": policies.mapping["objects"],
        "provenance_object": policies.mapping.get("provenance_object"),
        "lead_scoring_bias": tools.get("lead_scoring_bias", {"max_mean_gap": 10.0, "min_group_size": 20}),
    }
    path = macros / "synthgov_policy.sql"
    _write_if_changed(
        path,
        "{# Generated by `synthgov policies export` from include/policies; do not edit. #}\n"
        "{% macro synthgov_policy() %}\n"
        f"  {{{{ return(fromjson({json.dumps(json.dumps(mapping, sort_keys=True))})) }}}}\n"
        "{% endmacro %}\n",
    )
    written.append(path)
    return written
