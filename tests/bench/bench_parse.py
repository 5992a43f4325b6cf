"""DAG parse benchmark: what the DAG processor pays for the nightly DAG file beyond `import airflow`.

Each sample is a fresh interpreter running the DAG integrity test's probe
(`tests.dags.test_dag_integrity.PARSE_PROBE`): `import airflow` timed, then the DAG file executed
(Cosmos rendering the dbt task group from the manifest included). Reported: the median of
`--rounds` samples (5) for the file as it is, and for the same file after an object-storage path was
opened first, as Cosmos does when it reads the manifest through one (every provider's filesystem
registered, which imports boto3): the baseline in the same run, what parsing cost before the
manifest was handed to Cosmos as a plain path. Target: at most 0.3 s beyond `import airflow`.

Then where the time goes, line by line (`ATTRIBUTION_PROBE`, as many fresh interpreters): the DAG
file's imports taken one group at a time in the order the file reaches them (a module is paid for
by the first group that imports it), then Cosmos's rendering timed around its two steps, in wall
time and in process CPU time (less sensitive to a loaded machine). The groups Cosmos alone brings
in are summed: what parsing costs with Cosmos whatever the DAG file does.

Python's bytecode cache is on (in a temp folder, filled by one unmeasured parse of each kind), as on
a DAG processor that parses every interval; `--no-bytecode-cache` measures compiling from source.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

from tests.dags.test_dag_integrity import DAGS, probe_parse

TARGET_SECONDS = 0.3
NIGHTLY = DAGS / "synthgov_nightly.py"

# (label, modules imported by it, whether Cosmos is what needs them). Cosmos's operator modules import
# the OpenLineage provider's extractor base at module level (for `OperatorLineage`), which imports the
# OpenLineage client and, through the provider's utilities, Airflow's serialization and ORM models.
IMPORT_GROUPS: list[tuple[str, list[str], bool]] = [
    ("the DAG file's Airflow names (DAG, @task, timetable)", [], False),
    (
        "synthgov's modules (settings, operators, notifiers, dbt)",
        [
            "synthgov.settings",
            "synthgov_airflow.assets",
            "synthgov_airflow.notifiers",
            "synthgov_airflow.operators.extract",
            "synthgov_airflow.operators.load",
            "synthgov_airflow.operators.media",
            "synthgov_airflow.operators.training",
            "synthgov_airflow.pools",
            "synthgov_airflow.dbt",
        ],
        False,
    ),
    ("Cosmos -> OpenLineage client (openlineage-python)", ["openlineage.client"], True),
    (
        "Cosmos -> OpenLineage provider (Airflow serialization, ORM models)",
        ["airflow.providers.openlineage.extractors.base"],
        True,
    ),
    (
        "Cosmos's own modules (converter, watcher operators, profiles)",
        ["cosmos.converter", "cosmos.operators.watcher"],
        True,
    ),
    ("synthgov's profile mapping (synthgov_airflow.dbt_profile)", ["synthgov_airflow.dbt_profile"], False),
]
RENDER_STEPS = [
    ("Cosmos reads the manifest (DbtGraph.load)", True),
    ("Cosmos builds the tasks (build_airflow_graph)", True),
    ("the rest of the DAG file (the DAG, synthgov's tasks)", False),
]

ATTRIBUTION_PROBE = """
import importlib, importlib.util, json, sys, time
groups = json.loads(sys.argv[2])
clocks = {"wall": time.perf_counter, "cpu": time.process_time}
def now():
    return {name: clock() for name, clock in clocks.items()}
def since(start):
    return {name: clock() - start[name] for name, clock in clocks.items()}
import airflow
lines = []
for modules in groups:
    start = now()
    if not modules:
        from airflow.sdk import DAG, CronTriggerTimetable, TriggerRule, task
    for module in modules:
        importlib.import_module(module)
    lines.append(since(start))
import cosmos.converter, cosmos.dbt.graph
spent = {"load": {"wall": 0.0, "cpu": 0.0}, "build": {"wall": 0.0, "cpu": 0.0}}
def timed(owner, attribute, key):
    original = getattr(owner, attribute)
    def wrapper(*args, **kwargs):
        start = now()
        try:
            return original(*args, **kwargs)
        finally:
            for name, value in since(start).items():
                spent[key][name] += value
    setattr(owner, attribute, wrapper)
timed(cosmos.dbt.graph.DbtGraph, "load", "load")
timed(cosmos.converter, "build_airflow_graph", "build")
start = now()
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
whole = since(start)
rest = {name: whole[name] - spent["load"][name] - spent["build"][name] for name in clocks}
print(json.dumps(lines + [spent["load"], spent["build"], rest]))
"""


def attribute(env: dict[str, str]) -> list[dict[str, float]]:
    """One fresh interpreter's line-by-line times (s, wall and cpu), in the order of IMPORT_GROUPS, RENDER_STEPS."""
    groups = json.dumps([modules for _, modules, _ in IMPORT_GROUPS])
    result = subprocess.run(
        [sys.executable, "-c", ATTRIBUTION_PROBE, str(NIGHTLY), groups],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the attribution probe failed:\n{result.stderr[-3000:]}")
    lines: list[dict[str, float]] = json.loads(result.stdout.strip().splitlines()[-1])
    return lines


def print_attribution(samples: list[list[dict[str, float]]]) -> None:
    labels = [(label, cosmos) for label, _, cosmos in IMPORT_GROUPS] + RENDER_STEPS
    median: list[dict[str, Any]] = [
        {clock: statistics.median(s[i][clock] for s in samples) for clock in ("wall", "cpu")}
        for i in range(len(labels))
    ]
    print(f"  where the time goes, median of {len(samples)} fresh interpreters (wall s, cpu s):")
    for (label, cosmos), times in zip(labels, median, strict=True):
        print(f"    {times['wall']:6.3f} {times['cpu']:6.3f}  {'[Cosmos] ' if cosmos else ''}{label}")
    total = {clock: sum(t[clock] for t in median) for clock in ("wall", "cpu")}
    floor = {clock: sum(t[clock] for (_, cosmos), t in zip(labels, median, strict=True) if cosmos) for clock in total}
    print(f"    {total['wall']:6.3f} {total['cpu']:6.3f}  total")
    share = floor["cpu"] / total["cpu"]
    print(f"    {floor['wall']:6.3f} {floor['cpu']:6.3f}  Cosmos's lines ({share:.0%} of the cpu): its floor")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench parse")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-bytecode-cache", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="synthgov-parse-") as cache:
        env = os.environ.copy()
        if not args.no_bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        kinds = {"now": (), "baseline": ("--storage",)}
        for extra in kinds.values():
            probe_parse(NIGHTLY, *extra, env=env)  # fills the bytecode cache; not measured
        samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        attribution: list[list[dict[str, float]]] = []
        for _ in range(args.rounds):  # interleaved: the machine's load falls on all alike
            for kind, extra in kinds.items():
                samples[kind].append(probe_parse(NIGHTLY, *extra, env=env))
            attribution.append(attribute(env))
    median = {
        kind: {key: statistics.median(s[key] for s in runs) for key in ("airflow", "dag")}
        for kind, runs in samples.items()
    }
    now, baseline = median["now"], median["baseline"]
    cache_state = "off" if args.no_bytecode_cache else "on"
    print(f"{NIGHTLY.name}, median of {args.rounds} fresh interpreters (bytecode cache {cache_state}):")
    print(f"  import airflow           {now['airflow']:.3f} s")
    print(f"  the DAG file, now        {now['dag']:.3f} s beyond it (target <= {TARGET_SECONDS} s)")
    ratio = now["dag"] / baseline["dag"]
    print(f"  baseline (storage path)  {baseline['dag']:.3f} s beyond it; now / baseline {ratio:.2f}")
    print(f"  samples now: {[round(s['dag'], 3) for s in samples['now']]}")
    print_attribution(attribution)
    return 0 if now["dag"] <= TARGET_SECONDS else 1
