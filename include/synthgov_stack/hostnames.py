"""The hostname each of the stack's Celery workers gives the tasks it runs.

All workers share one machine, so Airflow's default ``[core] hostname_callable`` (the FQDN) would
give every task instance the same hostname, and nobody could tell from Airflow's REST API which
worker ran a task. Worker N runs with ``hostname_callable = synthgov_stack.hostnames.workerN``, which
answers its Celery hostname (``workerN@127.0.0.1``), the name ``celery inspect`` shows too. The
callables are made on attribute access, so any number of workers needs no code here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_WORKER = re.compile(r"worker[1-9][0-9]*")


def celery_hostname(worker: str) -> str:
    """``worker1`` -> ``worker1@127.0.0.1``: on loopback, as every part of the stack."""
    return f"{worker}@127.0.0.1"


def hostname_callable(worker: str) -> str:
    """The ``[core] hostname_callable`` value for ``worker`` (``worker1``, ``worker2``, ...)."""
    return f"{__name__}.{worker}"


def __getattr__(name: str) -> Callable[[], str]:
    if _WORKER.fullmatch(name):
        return lambda: celery_hostname(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
