"""Benchmarks: `make bench` (python -m tests.bench); not part of `make test`."""
