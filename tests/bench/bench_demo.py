"""Demo benchmark: two consecutive `synthgov demo` runs in one SYNTHGOV_HOME, the second with nothing new.

The first run seeds the sandbox org, extracts everything and builds every model; the second finds the
org unchanged (incremental objects have nothing past their watermark). Each run is its own process, as
a user's `make demo` is (without make's own steps: the dbt manifest is built beforehand). Reported: each
run's wall time, the ratio first / second (target, issue 14 part 5: at least 2), and each run's
account length in lines. Measured once; nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_demo(home: Path) -> tuple[float, int]:
    """One `synthgov demo` as a user's shell runs it (no OpenLineage settings of a test session)."""
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k}
    env["SYNTHGOV_HOME"] = str(home)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "synthgov.cli", "demo"], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"synthgov demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, len(done.stdout.splitlines())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench demo", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="SYNTHGOV_HOME to use (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="synthgov-bench-demo-") as tmp:
        home = args.home or Path(tmp) / "home"
        first, first_lines = run_demo(home)
        second, second_lines = run_demo(home)
    print(f"demo, first run (fresh home):     {first:7.1f} s, {first_lines} lines on stdout")
    print(f"demo, second run (nothing new):   {second:7.1f} s, {second_lines} lines on stdout")
    print(f"ratio first / second:             {first / second:7.2f}  (target: at least 2)")
    return 0
