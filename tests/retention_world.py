"""A governed demo org for the retention tests: extracted, loaded and built once, copied per test.

Building (extract, load, dbt build) takes a while, and a purge changes the org, the lake and the
warehouse. So the world is built once per module; each test gets fresh copies of the lake and the
warehouse and the org reseeded with the same seed, which gives the same ids and values, so the
built marts describe the org the test starts from.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from synthgov.extract.config import load_config
from synthgov.extract.run import extract_all, load_all
from synthgov.lake import Lake, LocalLake
from synthgov.policies import Policies, export_for_dbt, load_policies
from synthgov.salesforce.connection import SalesforceConnection
from synthgov.settings import Settings
from synthgov.training.manifest import read_training_manifests
from synthgov.training.posture import read_training_lake_posture
from synthgov.training.zone import open_training_zone
from synthgov.warehouse import DuckDBWarehouse
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_dbt_duckdb import _copy_project, _org_time, _warehouse_columns, connect, dbt

SEED = {"profile": "demo", "scale": 1, "seed": 42}


@dataclass(frozen=True)
class Built:
    root: Path
    lake_dir: Path
    warehouse_file: Path
    truth: dict[str, Any]


@dataclass
class World:
    org: SandboxProcess
    conn: SalesforceConnection
    lake: Lake
    warehouse: DuckDBWarehouse
    policies: Policies
    truth: dict[str, Any]

    def labelled(self, label: str) -> set[tuple[str, str]]:
        return {(str(c["object"]), str(c["id"])) for c in self.truth["cases"] if label in c["labels"]}

    def deleted(
        self, objects: tuple[str, ...] = ("EmailMessage", "Task", "ContentVersion", "Lead", "Contact")
    ) -> set[tuple[str, str]]:
        """(object, id) of every record in the Recycle Bin (queryAll with IsDeleted; soft deletes only)."""
        out = set()
        for obj in objects:
            rows = self.org.rest("GET", "queryAll", params={"q": f"SELECT Id FROM {obj} WHERE IsDeleted = true"})
            out |= {(obj, str(r["Id"])) for r in _all(self.org, rows)}
        return out


def _all(org: SandboxProcess, page: dict[str, Any]) -> list[dict[str, Any]]:
    records = list(page["records"])
    while not page.get("done", True):
        page = org.rest("GET", page["nextRecordsUrl"].split("/services/data/v59.0/", 1)[1])
        records.extend(page["records"])
    return records


def build(org: SandboxProcess, root: Path, prepare: Callable[[SandboxProcess], None] | None = None) -> Built:
    """Seed the org, let ``prepare`` change it through its APIs (if given), then extract, load and build."""
    org.control("DELETE", "faults")
    org.control("POST", "seed", SEED)
    org.token(fresh=True)
    if prepare is not None:
        prepare(org)
    config = load_config()
    objects = [spec.name for spec in config.objects]
    lake = LocalLake(root / "lake")
    warehouse = DuckDBWarehouse(root / "w.duckdb")
    settings = Settings(home=root, window_lag_seconds=0, bulk_poll_seconds=0)
    run = extract_all(connect(org), lake, config, settings)
    # The training zone as a nightly reads it: the governance models need its snapshot tables.
    zone = open_training_zone(lake, None)
    for manifest in org.control("GET", "training-manifests")["manifests"]:
        zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"]).encode())
    training = [
        *read_training_manifests(lake, zone, run_id="20261102T090000Z-traina").manifests,
        *read_training_lake_posture(lake, zone, run_id="20261102T090000Z-trainb").manifests,
    ]
    load_all(lake, warehouse, objects, [*(run.media.manifests if run.media else []), *training])
    truth = org.control("GET", "ground-truth")
    project = _copy_project(root)
    policies = load_policies(known_objects=set(objects), known_columns=_warehouse_columns(warehouse.path))
    export_for_dbt(policies, project)
    previous = os.environ.get("SYNTHGOV_DUCKDB_PATH")
    os.environ["SYNTHGOV_DUCKDB_PATH"] = str(warehouse.path)
    try:
        dbt(project, "build", "--vars", json.dumps({"as_of": _org_time(truth["now"])}))
        # dbt-duckdb keeps the file open in this process: checkpoint so the file alone holds the marts.
        with duckdb.connect(str(warehouse.path)) as con:
            con.execute("CHECKPOINT")
    finally:
        if previous is None:
            os.environ.pop("SYNTHGOV_DUCKDB_PATH", None)
        else:
            os.environ["SYNTHGOV_DUCKDB_PATH"] = previous
    return Built(root, lake.root, warehouse.path, truth)


def fresh(org: SandboxProcess, built: Built, tmp: Path) -> Iterator[World]:
    org.control("DELETE", "faults")
    org.control("POST", "seed", SEED)
    org.token(fresh=True)
    shutil.copytree(built.lake_dir, tmp / "lake")
    shutil.copy(built.warehouse_file, tmp / "w.duckdb")
    yield World(
        org=org,
        conn=connect(org),
        lake=LocalLake(tmp / "lake"),
        warehouse=DuckDBWarehouse(tmp / "w.duckdb"),
        policies=load_policies(),
        truth=org.control("GET", "ground-truth"),
    )
