"""The lineage section of the pack: OpenLineage run events (JSON lines) read back into a graph, and its layout.

The event log grows with every run, and each run writes new lake folders, so drawing every event ever
recorded would bury the pipeline under old datasets. The graph shows each job's latest generation:
the runs of the job that share its newest parent run (one Airflow DAG run for a task, mapped
instances included; one task run for a dbt model), or its newest run when events carry no parent.
Every run stays listed in the bundle.

The layout is a plain layered drawing computed here (no JavaScript, nothing fetched): a node's layer
is the longest path to it from a node with no inputs, and a few barycenter sweeps order each layer
to cut edge crossings.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgov.lineage import event_log_path
from synthgov.lineage.facets import REGULATORY_CONTROLS_KEY
from synthgov.report.lineage_groups import grouped

TERMINAL = ("COMPLETE", "FAIL", "ABORT")
MAX_DRAWN_NODES = 400
NODE_WIDTH = 232
NODE_HEIGHT = 30
LAYER_GAP = 96
ROW_GAP = 14
MARGIN = 16
LABEL_CHARS = 32


@dataclass
class Run:
    run_id: str
    job: tuple[str, str]  # (namespace, name)
    parent: str | None = None
    first_time: str = ""
    last_time: str = ""
    state: str = ""
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    dropped: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class EventLog:
    path: Path
    present: bool
    events: int = 0
    unreadable_lines: int = 0
    other_events: int = 0  # valid JSON but no run event (dataset or job events, or no job)
    runs: dict[str, Run] = field(default_factory=dict)
    controls: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # job -> "control (articles)"
    facets: Counter[str] = field(default_factory=Counter)  # facet name -> events carrying it


def _dataset(item: Any) -> tuple[str, str] | None:
    if isinstance(item, dict) and isinstance(item.get("namespace"), str) and isinstance(item.get("name"), str):
        return item["namespace"], item["name"]
    return None


def _facet_names(*holders: Any) -> Iterator[str]:
    for holder in holders:
        if isinstance(holder, dict):
            for key in ("facets", "inputFacets", "outputFacets"):
                facets = holder.get(key)
                if isinstance(facets, dict):
                    yield from (str(name) for name in facets)


def _controls(job: Any) -> list[str]:
    """The regulatory controls a job says it serves (synthgov's job facet), as ``control (articles)``."""
    facets = job.get("facets") if isinstance(job, dict) else None
    facet = facets.get(REGULATORY_CONTROLS_KEY) if isinstance(facets, dict) else None
    controls = facet.get("controls") if isinstance(facet, dict) else None
    out = []
    for control in controls if isinstance(controls, list) else []:
        if isinstance(control, dict) and isinstance(control.get("control"), str):
            regulations = control.get("regulations")
            cited = "; ".join(map(str, regulations)) if isinstance(regulations, list) else ""
            out.append(f"{control['control']} ({cited})" if cited else control["control"])
    return out


def _is_drop(item: dict[str, Any]) -> bool:
    facets = item.get("facets")
    change = facets.get("lifecycleStateChange") if isinstance(facets, dict) else None
    return isinstance(change, dict) and change.get("lifecycleStateChange") == "DROP"


def read_events(path: Path) -> EventLog:
    """Every run event in the file; a missing file is an empty log, a damaged line is counted and skipped."""
    log = EventLog(path=path, present=path.is_file())
    if not log.present:
        return log
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                log.unreadable_lines += 1
                continue
            if not isinstance(event, dict):
                log.unreadable_lines += 1
                continue
            log.events += 1
            _add_event(log, event)
    return log


def _add_event(log: EventLog, event: dict[str, Any]) -> None:
    run, job = event.get("run"), event.get("job")
    run_id = run.get("runId") if isinstance(run, dict) else None
    job_key = _dataset(job)
    if not isinstance(run_id, str) or job_key is None:
        log.other_events += 1
        return
    assert isinstance(run, dict)
    inputs = [i for i in event.get("inputs") or [] if _dataset(i)]
    outputs = [o for o in event.get("outputs") or [] if _dataset(o)]
    log.facets.update(set(_facet_names(run, job, *inputs, *outputs)))
    served = _controls(job)
    if served:
        log.controls[job_key] = served
    entry = log.runs.get(run_id)
    if entry is None:
        entry = log.runs[run_id] = Run(run_id=run_id, job=job_key)
    parent = run.get("facets", {}).get("parent") if isinstance(run.get("facets"), dict) else None
    if isinstance(parent, dict) and isinstance(parent.get("run"), dict):
        parent_id = parent["run"].get("runId")
        entry.parent = parent_id if isinstance(parent_id, str) else entry.parent
    when = str(event.get("eventTime") or "")
    entry.first_time = min(entry.first_time, when) if entry.first_time else when
    kind = str(event.get("eventType") or "")
    # Later events win, except that a terminal state is never replaced by a late START or RUNNING.
    if when >= entry.last_time and (kind in TERMINAL or entry.state not in TERMINAL):
        entry.state = kind or entry.state
    entry.last_time = max(entry.last_time, when)
    entry.inputs |= {key for key in map(_dataset, inputs) if key is not None}
    for item in outputs:
        key = _dataset(item)
        assert key is not None
        entry.outputs.add(key)
        if _is_drop(item):
            entry.dropped.add(key)


def latest_generation(runs: Iterable[Run]) -> list[Run]:
    """Each job's runs that belong to its newest parent run (or its newest run, without a parent)."""
    by_job: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        by_job.setdefault(run.job, []).append(run)
    chosen: list[Run] = []
    for job_runs in by_job.values():
        newest = max(job_runs, key=lambda r: (r.last_time, r.run_id))
        generation = newest.parent if newest.parent is not None else newest.run_id
        chosen += [r for r in job_runs if (r.parent if r.parent is not None else r.run_id) == generation]
    return sorted(chosen, key=lambda r: (r.job, r.first_time, r.run_id))


def node_id(kind: str, key: tuple[str, str]) -> str:
    return f"{kind}:{key[0]}/{key[1]}"


def short_label(kind: str, key: tuple[str, str]) -> str:
    """What fits in a node: a job's name, a dataset's last two path parts that are not partitions
    (``salesforce/Lead`` for ``.../raw/salesforce/Lead/run_date=.../run_id=...``)."""
    _, name = key
    if kind == "dataset" and "/" in name:
        parts = [part for part in name.rstrip("/").split("/") if part and "=" not in part]
        name = "/".join(parts[-2:]) or name
    if len(name) <= LABEL_CHARS:
        return name
    keep = LABEL_CHARS - 1
    return name[: keep // 2] + "…" + name[-(keep - keep // 2) :]


def graph(runs: list[Run]) -> dict[str, Any]:
    """Jobs and datasets as nodes, inputs and outputs as edges, for the runs given (see latest_generation)."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str]] = set()
    for run in runs:
        if not run.inputs and not run.outputs:
            continue  # a DAG run or a task that reports no datasets: listed with the jobs, not drawn
        job = node_id("job", run.job)
        record = nodes.setdefault(
            job,
            {"id": job, "kind": "job", "namespace": run.job[0], "name": run.job[1], "runs": 0, "states": Counter()},
        )
        record["runs"] += 1
        record["states"][run.state or "UNKNOWN"] += 1
        for direction, keys in (("in", run.inputs), ("out", run.outputs)):
            for key in keys:
                dataset = node_id("dataset", key)
                nodes.setdefault(
                    dataset, {"id": dataset, "kind": "dataset", "namespace": key[0], "name": key[1], "dropped": False}
                )
                if key in run.dropped:
                    nodes[dataset]["dropped"] = True
                edges.add((dataset, job) if direction == "in" else (job, dataset))
    for record in nodes.values():
        if record["kind"] == "job":
            states: Counter[str] = record.pop("states")
            record["state"] = _worst(states)
    return {
        "nodes": sorted(nodes.values(), key=lambda n: n["id"]),
        "edges": [{"source": s, "target": t} for s, t in sorted(edges)],
    }


def _worst(states: Counter[str]) -> str:
    for state in ("FAIL", "ABORT", "RUNNING", "START", "UNKNOWN", "OTHER"):
        if states.get(state):
            return state
    return "COMPLETE" if states.get("COMPLETE") else next(iter(states), "UNKNOWN")


def layout(data: dict[str, Any]) -> dict[str, Any] | None:
    """Positions for an inline SVG drawing of ``graph()``'s output; None when there is nothing to draw or too much."""
    nodes = data["nodes"]
    if not nodes or len(nodes) > MAX_DRAWN_NODES:
        return None
    ids = [n["id"] for n in nodes]
    successors: dict[str, list[str]] = {i: [] for i in ids}
    predecessors: dict[str, list[str]] = {i: [] for i in ids}
    for edge in _acyclic(ids, [(e["source"], e["target"]) for e in data["edges"]]):
        successors[edge[0]].append(edge[1])
        predecessors[edge[1]].append(edge[0])
    layer = dict.fromkeys(ids, 0)
    for node in _topological(ids, successors, predecessors):
        for after in successors[node]:
            layer[after] = max(layer[after], layer[node] + 1)
    layers: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for node in ids:
        layers[layer[node]].append(node)
    _order(layers, successors, predecessors)
    tallest = max(len(column) for column in layers)
    height = 2 * MARGIN + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP
    position: dict[str, tuple[int, int]] = {}
    for index, column in enumerate(layers):
        span = len(column) * NODE_HEIGHT + (len(column) - 1) * ROW_GAP
        top = (height - span) // 2
        for row, node in enumerate(column):
            position[node] = (MARGIN + index * (NODE_WIDTH + LAYER_GAP), top + row * (NODE_HEIGHT + ROW_GAP))
    by_id = {n["id"]: n for n in nodes}
    drawn_nodes = []
    for node_key, (x, y) in position.items():
        node = by_id[node_key]
        drawn_nodes.append(
            {
                "dropped": False,
                "state": "",
                "runs": 0,
                **node,
                "x": x,
                "y": y,
                "label": short_label(node["kind"], (node["namespace"], node["name"])),
                "title": f"{node['kind']} {node['namespace']} {node['name']}",
            }
        )
    drawn_edges = []
    for edge in data["edges"]:
        (x1, y1), (x2, y2) = position[edge["source"]], position[edge["target"]]
        start = (x1 + NODE_WIDTH, y1 + NODE_HEIGHT // 2)
        end = (x2, y2 + NODE_HEIGHT // 2)
        if end[0] <= start[0]:  # a back edge of a cycle: loop around below the nodes
            below = max(y1, y2) + NODE_HEIGHT + ROW_GAP // 2
            path = (
                f"M{start[0]},{start[1]} C{start[0] + 40},{below} {end[0] - 40},{below} {end[0]},{end[1]}"
                if start[0] != end[0]
                else f"M{start[0]},{start[1]} L{end[0]},{end[1]}"
            )
        else:
            bend = (end[0] - start[0]) // 2
            path = f"M{start[0]},{start[1]} C{start[0] + bend},{start[1]} {end[0] - bend},{end[1]} {end[0]},{end[1]}"
        drawn_edges.append({"d": path})
    width = 2 * MARGIN + len(layers) * NODE_WIDTH + (len(layers) - 1) * LAYER_GAP
    return {
        "width": width,
        "height": height,
        "nodes": drawn_nodes,
        "edges": drawn_edges,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
    }


def _acyclic(ids: list[str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges without those that close a cycle (found by depth-first search), so layers are defined."""
    out: dict[str, list[str]] = {i: [] for i in ids}
    for source, target in edges:
        out[source].append(target)
    # From the nodes nothing feeds first: a cycle (a Salesforce object extracted, then purged) is then cut
    # where it closes (the purge's edge back into the object), not somewhere in the middle of the pipeline.
    fed = {target for _, target in edges}
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[tuple[str, str]] = set()
    for root in [i for i in ids if i not in fed] + [i for i in ids if i in fed]:
        if root in state:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(out[child])))
    return [edge for edge in edges if edge not in back and edge[0] != edge[1]]


def _topological(ids: list[str], successors: dict[str, list[str]], predecessors: dict[str, list[str]]) -> list[str]:
    waiting = {i: len(predecessors[i]) for i in ids}
    ready = [i for i in ids if waiting[i] == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for after in successors[node]:
            waiting[after] -= 1
            if waiting[after] == 0:
                ready.append(after)
    return order


def _order(layers: list[list[str]], successors: dict[str, list[str]], predecessors: dict[str, list[str]]) -> None:
    """Barycenter sweeps, down then up, a few times: each node moves toward the mean row of its neighbours."""
    for _ in range(4):
        for index in range(1, len(layers)):
            _sort_by_neighbours(layers[index], layers[index - 1], predecessors)
        for index in range(len(layers) - 2, -1, -1):
            _sort_by_neighbours(layers[index], layers[index + 1], successors)


def _sort_by_neighbours(column: list[str], fixed: list[str], neighbours: dict[str, list[str]]) -> None:
    rank = {node: row for row, node in enumerate(fixed)}
    current = {node: row for row, node in enumerate(column)}

    def key(node: str) -> tuple[float, str]:
        rows = [rank[n] for n in neighbours[node] if n in rank]
        return (sum(rows) / len(rows) if rows else float(current[node]), node)

    column.sort(key=key)


def section(path: Path | None = None) -> dict[str, Any]:
    """The lineage part of the bundle (JSON-ready) and, under ``_drawing``, the SVG layout for the page."""
    log = read_events(path or event_log_path())
    runs = sorted(log.runs.values(), key=lambda r: (r.first_time, r.run_id))
    shown = latest_generation(runs)
    data = graph(shown)
    jobs: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        job = jobs.setdefault(
            run.job,
            {
                "namespace": run.job[0],
                "name": run.job[1],
                "runs": 0,
                "latest_state": "",
                "latest_time": "",
                "controls": log.controls.get(run.job, []),
            },
        )
        job["runs"] += 1
        if run.last_time >= job["latest_time"]:
            job["latest_state"], job["latest_time"] = run.state, run.last_time
    return {
        "events_file": str(log.path),
        "events_file_present": log.present,
        "events": log.events,
        "unreadable_lines": log.unreadable_lines,
        "other_events": log.other_events,
        "runs": [
            {
                "run_id": r.run_id,
                "job_namespace": r.job[0],
                "job": r.job[1],
                "parent_run_id": r.parent,
                "state": r.state,
                "started": r.first_time,
                "ended": r.last_time,
                "inputs": [{"namespace": n, "name": d} for n, d in sorted(r.inputs)],
                "outputs": [{"namespace": n, "name": d} for n, d in sorted(r.outputs)],
                "dropped": [{"namespace": n, "name": d} for n, d in sorted(r.dropped)],
            }
            for r in runs
        ],
        "jobs": sorted(jobs.values(), key=lambda j: (j["namespace"], j["name"])),
        "graph": {"runs_shown": len(shown), **data},
        "groups": grouped(data),
        "facets": dict(sorted(log.facets.items())),
        "_drawing": layout(data),
    }
