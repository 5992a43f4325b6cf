"""Shared test set-up: Airflow's environment before anything imports airflow, and the sandbox org."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="synthgov-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

from synthgov.sandbox.process import SandboxProcess  # noqa: E402


@pytest.fixture(scope="session")
def demo_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """The demo org at scale 1, served by its own process over HTTPS."""
    with SandboxProcess(tmp_path_factory.mktemp("sandbox-demo")) as org:
        yield org


@pytest.fixture
def org(demo_org: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """The demo org, freshly reseeded with no faults armed; clients trust its CA."""
    demo_org.control("DELETE", "faults")
    demo_org.control("POST", "seed", {"profile": "demo", "scale": 1, "seed": 42})
    demo_org.token(fresh=True)  # a reseed ends every session
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
    return demo_org
