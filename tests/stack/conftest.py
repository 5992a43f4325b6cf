"""The stack the tests under tests/stack share: started by the first test that asks for it, stopped
right after the last one (so the next module may start a stack of its own: at most one runs at a time).

Every test under tests/stack runs on one xdist worker, in file order (tests/conftest.py), so the e2e
module's nightly and purge come first and the fault module's runs after them, on the same stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.stack.running import RunningStack, running_stack

_SHARED = "stack"
_running = ExitStack()


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    yield _running.enter_context(running_stack())
    _running.close()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # A session fixture lives until the session ends; the shared stack must not outlive its last user.
    uses = _SHARED in getattr(item, "fixturenames", ())
    if uses and (nextitem is None or _SHARED not in getattr(nextitem, "fixturenames", ())):
        _running.close()
