"""DAG parse benchmark: what the DAG processor pays for the nightly DAG file beyond `import airflow`.

Each sample is a fresh interpreter running the DAG integrity test's probe
(`tests.dags.test_dag_integrity.PARSE_PROBE`): `import airflow` timed, then the DAG file executed
(Cosmos rendering the dbt task group from the manifest included). Reported: the median of
`--rounds` samples (5) for the file as it is, and for the same file after an object-storage path was
opened first, as Cosmos does when it reads the manifest through one (every provider's filesystem
registered, which imports boto3): the baseline in the same run, what parsing cost before the
manifest was handed to Cosmos as a plain path. Target: at most 0.3 s beyond `import airflow`.

Python's bytecode cache is on (in a temp folder, filled by one unmeasured parse of each kind), as on
a DAG processor that parses every interval; `--no-bytecode-cache` measures compiling from source.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from tests.dags.test_dag_integrity import DAGS, probe_parse

TARGET_SECONDS = 0.3
NIGHTLY = DAGS / "synthgov_nightly.py"


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
        for _ in range(args.rounds):  # interleaved: the machine's load falls on both alike
            for kind, extra in kinds.items():
                samples[kind].append(probe_parse(NIGHTLY, *extra, env=env))
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
    return 0 if now["dag"] <= TARGET_SECONDS else 1
