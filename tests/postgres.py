"""The tests' throwaway PostgreSQL cluster: synthgov_stack.postgres, with "not installed" as a skip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from synthgov_stack.postgres import (
    NOT_INSTALLED,
    PostgresInfo,
    PostgresUnavailable,
    admin,
    find_bindir,
    query,
)

__all__ = ["SKIP_REASON", "PostgresInfo", "admin", "find_bindir", "postgres_cluster", "query"]

SKIP_REASON = f"{NOT_INSTALLED} to run the PostgreSQL tests"


@contextmanager
def postgres_cluster(tmp: Path) -> Iterator[PostgresInfo]:
    """A new cluster in ``tmp`` with an empty ``synthgov`` database; skips the test where none can run."""
    from synthgov_stack import postgres

    with ExitStack() as stack:
        try:
            info = stack.enter_context(postgres.postgres_cluster(tmp))
        except PostgresUnavailable as unavailable:
            pytest.skip(f"{unavailable} to run the PostgreSQL tests")
        yield info
