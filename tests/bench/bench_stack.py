"""The nightly on the CeleryExecutor stack: wall time by phase, Airflow's share of it, two workers against one.

Issue 13 part 5. For each scale a fresh stack is started twice, once with two Celery workers and once
with one, its org reseeded at that scale through the sandbox's control API before the first nightly
(so both runs do the same work: a first nightly extracts everything). Everything is read the way an
operator would read it: Airflow's REST API for the task instances (queued, started, ended) and the
process table for the workers' memory. Measured once per scale; nothing is asserted.

Reported per run:
- wall time of the run (REST: the run's start to its end) and per phase (extract, media, load, dbt,
  report, other): the time covered by at least one running task of that phase;
- Airflow's overhead: the share of the run's wall time during which no task of it was running (the
  scheduler deciding, a task queued in Redis, a worker picking it up), and the median and total time
  from a task instance being queued to its start. The start of the task process inside a worker (fork,
  imports) is part of each task's own duration and is not separated here;
- peak resident memory per worker: the whole process tree of each Celery worker (the worker and the
  task processes it forks), sampled every 0.5 s;
- the extract phase with two workers against one (target: at least 1.6x).

`python -m tests.bench stack [--scale N ...]`: scale 1 is the demo org; each unit of scale adds about
940 background records (the sandbox's seed), so about 1M records is `--scale 1060`. The records the
org holds are counted and printed with each result.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from synthgov_sandbox.process import SandboxProcess
from synthgov_stack.rest import AirflowREST
from synthgov_stack.stack import Stack, StackInfo

NIGHTLY = "synthgov_nightly"
RUN_TIMEOUT_S = 4 * 3600
SAMPLE_S = 0.5
PHASES = ("extract", "media", "load", "dbt", "report", "other")
# Variables of the caller's Airflow or synthgov session that must not leak into the stack's processes
# (the stack gets its lake, warehouse and lineage only through its own connections and settings).
_CALLER_PREFIXES = ("AIRFLOW", "SYNTHGOV_", "OPENLINEAGE", "AWS_")


def phase_of(task_id: str) -> str:
    if task_id == "extract":
        return "extract"
    if task_id == "inspect_media":
        return "media"
    if task_id == "load":
        return "load"
    if task_id.startswith("dbt"):
        return "dbt"
    if task_id == "report":
        return "report"
    return "other"


def _when(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of ``intervals``."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


@dataclass
class WorkerMemory:
    """Peak RSS of each worker's process tree, sampled in a thread while a run goes on."""

    pids: dict[str, int]
    peaks: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _tree_rss(self, pid: int) -> int:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        rss = 0
        for proc in procs:
            try:
                rss += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return rss

    def _sample(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peaks[name] = max(self.peaks.get(name, 0), self._tree_rss(pid))
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> WorkerMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Measured:
    workers: int
    records: int
    wall_s: float
    phases: dict[str, float]
    idle_share: float
    queued_to_start_median_s: float
    queued_to_start_total_s: float
    tasks: int
    peak_rss_mb: dict[str, float]


def measure_run(api: AirflowREST, run_id: str) -> tuple[float, dict[str, float], float, list[float], int]:
    run = api.run(NIGHTLY, run_id)
    if run["state"] != "success":
        raise RuntimeError(f"{NIGHTLY} {run_id} ended {run['state']}: the benchmark measures successful runs only")
    begin, end = _when(run["start_date"]), _when(run["end_date"])
    assert begin is not None and end is not None
    rows = api.call("GET", f"/dags/{NIGHTLY}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
    by_phase: dict[str, list[tuple[float, float]]] = {p: [] for p in PHASES}
    running: list[tuple[float, float]] = []
    waits: list[float] = []
    for row in rows["task_instances"]:
        start, stop, queued = _when(row.get("start_date")), _when(row.get("end_date")), _when(row.get("queued_when"))
        if start is None or stop is None:
            continue  # skipped: never ran
        by_phase[phase_of(str(row["task_id"]))].append((start, stop))
        running.append((start, stop))
        if queued is not None:
            waits.append(max(0.0, start - queued))
    wall = end - begin
    phases = {p: covered(spans) for p, spans in by_phase.items()}
    idle = max(0.0, wall - covered(running)) / wall
    return wall, phases, idle, waits, len(running)


def nightly_on_stack(state_dir: Path, workers: int, scale: int) -> Measured:
    stack = Stack(state_dir, workers=workers, marquez=False, say=lambda line: print(f"    {line}", flush=True))
    info: StackInfo = stack.start()
    try:
        org = SandboxProcess(Path(info.state_dir) / "sandbox")
        org.ready = dict(info.salesforce)
        if scale != 1:
            print(f"    reseeding the org at scale {scale}", flush=True)
            org.control("POST", "seed", {"profile": "demo", "scale": scale}, timeout=RUN_TIMEOUT_S)
        stats = org.control("GET", "stats")
        records = sum(sum(counts.values()) for counts in stats["objects"].values())
        api = AirflowREST(info.airflow_url)
        api.wait_for_dag(NIGHTLY)
        api.unpause(NIGHTLY)
        worker_pids = {name: pid for name, pid in info.pids.items() if name.startswith("worker")}
        with WorkerMemory(worker_pids) as memory:
            run_id = api.trigger(NIGHTLY)
            api.wait_for_run(NIGHTLY, run_id, RUN_TIMEOUT_S)
        wall, phases, idle, waits, tasks = measure_run(api, run_id)
        return Measured(
            workers=workers,
            records=records,
            wall_s=wall,
            phases=phases,
            idle_share=idle,
            queued_to_start_median_s=statistics.median(waits) if waits else 0.0,
            queued_to_start_total_s=sum(waits),
            tasks=tasks,
            peak_rss_mb={name: rss / 2**20 for name, rss in sorted(memory.peaks.items())},
        )
    finally:
        stack.stop()


def report(scale: int, two: Measured, one: Measured) -> None:
    print(f"\nscale {scale}: {two.records} records in the org, {two.tasks} task instances ran")
    print(f"  {'':<28}{'2 workers':>12}{'1 worker':>12}")
    print(f"  {'wall time of the nightly':<28}{two.wall_s:>11.1f}s{one.wall_s:>11.1f}s")
    for phase in PHASES:
        print(f"  {'  ' + phase:<28}{two.phases[phase]:>11.1f}s{one.phases[phase]:>11.1f}s")
    print(f"  {'no task running (share)':<28}{two.idle_share:>12.1%}{one.idle_share:>12.1%}")
    median = "queued to start, median"
    print(f"  {median:<28}{two.queued_to_start_median_s:>11.2f}s{one.queued_to_start_median_s:>11.2f}s")
    total = "queued to start, total"
    print(f"  {total:<28}{two.queued_to_start_total_s:>11.1f}s{one.queued_to_start_total_s:>11.1f}s")
    for name in sorted(set(two.peak_rss_mb) | set(one.peak_rss_mb)):
        print(
            f"  {'peak RSS ' + name:<28}{two.peak_rss_mb.get(name, 0):>10.0f}MB"
            + (f"{one.peak_rss_mb[name]:>10.0f}MB" if name in one.peak_rss_mb else f"{'-':>12}")
        )
    speedup = one.phases["extract"] / two.phases["extract"] if two.phases["extract"] else float("nan")
    print(f"  extract, one worker / two workers: {speedup:.2f}x (target: at least 1.6x)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench stack", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=int,
        action="append",
        help="the sandbox org's scale (1: the demo org; about 1060: 1M records); repeat for several (default: 1)",
    )
    args = parser.parse_args(argv)
    for name in [n for n in os.environ if n.startswith(_CALLER_PREFIXES)]:
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="synthgov-bench-stack-") as tmp:
        home = Path(tmp)
        home.chmod(0o755)  # as root, PostgreSQL runs as its own OS user and must get into the state dir
        for scale in args.scale or [1]:
            runs: dict[int, Measured] = {}
            for workers in (2, 1):
                print(f"scale {scale}, {workers} worker(s): starting a fresh stack", flush=True)
                begin = time.monotonic()
                runs[workers] = nightly_on_stack(home / f"stack-{scale}-{workers}", workers, scale)
                print(f"    done in {time.monotonic() - begin:.0f} s", flush=True)
            report(scale, runs[2], runs[1])
    return 0
