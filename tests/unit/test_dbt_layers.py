"""The dbt project's layers keep their contract: only staging reads sources, every model is documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    if not MANIFEST.exists():
        pytest.fail(f"{MANIFEST} is missing: run `make dbt-manifest` (make test builds it first)")
    loaded: dict[str, Any] = json.loads(MANIFEST.read_text())
    return loaded


def _models(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == "synthgov"]


def _macros_used(manifest: dict[str, Any], node: dict[str, Any]) -> set[str]:
    """Every project macro the node calls, in its SQL or its hooks, and those they call in turn."""
    seen: set[str] = set()
    todo = list(node["depends_on"]["macros"])
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith("macro.synthgov."):
            continue
        seen.add(name)
        todo.extend(manifest["macros"][name]["depends_on"]["macros"])
    return seen


def test_only_staging_models_read_sources(manifest: dict[str, Any]) -> None:
    """Neither a model outside staging nor a macro it calls (its pre-hooks included) names a source()."""
    models = _models(manifest)
    assert models
    readers: dict[str, list[str]] = {}
    for model in models:
        if model["name"].startswith("stg_"):
            continue
        places = [model["name"]] if "source(" in model["raw_code"] else []
        places += [m for m in _macros_used(manifest, model) if "source(" in manifest["macros"][m]["macro_sql"]]
        if places or any(dep.startswith("source.") for dep in model["depends_on"]["nodes"]):
            readers[model["name"]] = places
    assert readers == {}, f"models outside staging read a source(): {readers}"


def test_the_union_depends_on_the_staging_views_its_pre_hooks_read(manifest: dict[str, Any]) -> None:
    union = next(m for m in _models(manifest) if m["name"] == "int_content_records_unioned")
    parents = {dep.split(".")[-1] for dep in union["depends_on"]["nodes"]}
    assert {"stg_salesforce__record_loads", "stg_salesforce__purged_records"} <= parents


def test_every_model_has_a_description(manifest: dict[str, Any]) -> None:
    undocumented = sorted(m["name"] for m in _models(manifest) if not m["description"].strip())
    assert undocumented == []
