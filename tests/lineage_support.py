"""Test support for OpenLineage: point Airflow's OpenLineage provider at a transport of the test's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from synthgov_airflow.lineage import TRANSPORT_ENV, wait_for_openlineage


@contextmanager
def openlineage_transport(config: dict[str, Any]) -> Iterator[None]:
    """Point the provider at ``config`` for a while, as if Airflow had started with it.

    The provider caches its client (task events, sent from this process) and keeps a process pool for
    DAG events whose workers hold a client each: both are renewed, and the pool drained on the way out
    so that every event of the block reaches this transport.
    """
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    listener = get_openlineage_listener()

    def renew() -> None:
        listener.before_stopping(None)  # a new pool, forked with the settings in force now
        listener.adapter._client = None  # a new client on the next task event

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TRANSPORT_ENV, json.dumps(config))
        renew()
        try:
            yield
        finally:
            wait_for_openlineage()
    renew()
