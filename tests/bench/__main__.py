"""Run the benchmarks in tests/bench (all by default).

`python -m tests.bench [sandbox|extract|dbt|retention|c2pa|demo|parse|stack|governance] [options]`
"""

from __future__ import annotations

import sys

from tests.bench import (
    bench_c2pa,
    bench_dbt,
    bench_demo,
    bench_extract,
    bench_governance,
    bench_parse,
    bench_retention,
    bench_sandbox,
    bench_stack,
)

BENCHES = {
    "sandbox": bench_sandbox.main,
    "extract": bench_extract.main,
    "dbt": bench_dbt.main,
    "retention": bench_retention.main,
    "c2pa": bench_c2pa.main,
    "demo": bench_demo.main,
    "parse": bench_parse.main,
    "stack": bench_stack.main,
    "governance": bench_governance.main,
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHES:
        return BENCHES[argv[0]](argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    for name, bench in BENCHES.items():
        print(f"== {name}", flush=True)
        if bench([]) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
