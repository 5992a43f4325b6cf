"""Run every benchmark in tests/bench and print the figures."""

from __future__ import annotations

import sys

from tests.bench import bench_sandbox


def main() -> int:
    return bench_sandbox.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
