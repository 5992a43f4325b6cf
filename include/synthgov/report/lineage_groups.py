"""The lineage page's grouped view: datasets in the pipeline's order, whole labels, dbt tests folded into models.

The drawing of every job and dataset (``synthgov.report.lineage.layout``) is exact but dense: a
nightly has a node per dbt model and test. A person reads the pipeline by its stages instead: the
Salesforce objects, the lake, the warehouse's raw schema, staging, intermediate and marts, each
dataset with the jobs that wrote it and its model's tests counted beside it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

GROUPS = ("Salesforce objects", "Lake", "Raw", "Staging", "Intermediate", "Marts")
_LAKE_SCHEMES = ("file", "s3", "gs", "abfss", "wasbs")
_TEST_SUFFIXES = (".build.test", ".test")


def group_of(namespace: str, name: str) -> str:
    """Where a dataset sits in the pipeline, from its namespace and (for the warehouse) schema and prefix."""
    if namespace.startswith("salesforce://"):
        return GROUPS[0]
    if namespace.split("://", 1)[0] in _LAKE_SCHEMES:
        return GROUPS[1]
    parts = name.split(".")
    table, schema = parts[-1], (parts[-2] if len(parts) > 1 else "")
    if schema.startswith("raw"):
        return GROUPS[2]
    if table.startswith("stg_") or "staging" in schema:
        return GROUPS[3]
    if table.startswith("int_") or "intermediate" in schema:
        return GROUPS[4]
    return GROUPS[5]


def whole_label(namespace: str, name: str) -> str:
    """A dataset's full name as a person reads it: lake folders without their partitions, tables as schema.table."""
    if namespace.split("://", 1)[0] in _LAKE_SCHEMES:
        return "/".join(part for part in name.strip("/").split("/") if part and "=" not in part) or name
    if not namespace.startswith("salesforce://") and name.count(".") >= 2:
        return ".".join(name.split(".")[-2:])
    return name


def grouped(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``graph()``'s datasets in the pipeline's groups (objects, lake, raw, staging, intermediate, marts), each
    with the jobs that wrote it and the dbt tests of its model folded in; what the page shows instead of
    every node."""
    nodes = {n["id"]: n for n in data["nodes"]}
    tests: dict[str, Counter[str]] = {}
    for node in nodes.values():
        if node["kind"] == "job" and node["name"].endswith(_TEST_SUFFIXES):
            model = node["name"]
            for suffix in _TEST_SUFFIXES:
                model = model.removesuffix(suffix)
            tests.setdefault(_table_key(model), Counter())[node.get("state") or "UNKNOWN"] += 1
    writers: dict[str, set[str]] = {}
    for edge in data["edges"]:
        job, dataset = nodes[edge["source"]], nodes[edge["target"]]
        if job["kind"] == "job" and not job["name"].endswith(_TEST_SUFFIXES):
            writers.setdefault(dataset["id"], set()).add(str(job["name"]))
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in GROUPS}
    for node in nodes.values():
        if node["kind"] != "dataset":
            continue
        group = group_of(node["namespace"], node["name"])
        # Only warehouse tables are dbt models; a lake path may hold dots too.
        ran = tests.get(_table_key(node["name"]), Counter()) if group in GROUPS[2:] else Counter()
        groups[group].append(
            {
                "label": whole_label(node["namespace"], node["name"]),
                "title": f"{node['namespace']} {node['name']}",
                "dropped": bool(node.get("dropped")),
                "tests": sum(ran.values()),
                "tests_failed": ran.get("FAIL", 0) + ran.get("ABORT", 0),
                "written_by": sorted(writers.get(node["id"], set())),
            }
        )
    return [
        {"group": g, "datasets": sorted(items, key=lambda d: str(d["label"]))} for g, items in groups.items() if items
    ]


def _table_key(name: str) -> str:
    """schema.table, however many catalog parts precede it (dbt names jobs and datasets alike)."""
    return ".".join(name.split(".")[-2:])
