"""Shared test set-up: Airflow's environment before anything imports airflow, and the sandbox org."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

REPO = Path(__file__).resolve().parents[1]
# Under pytest-xdist (make test) each worker is a process started by the controlling pytest, which has
# imported this file too, so what it set below is inherited. A worker must not share the controller's Airflow
# home (one SQLite metadata DB written by two processes): a home this file made is made again, per process.
_MADE_AIRFLOW_HOME = "_SYNTHGOV_TESTS_AIRFLOW_HOME"
if os.environ.get("AIRFLOW_HOME") and os.environ.get("AIRFLOW_HOME") == os.environ.get(_MADE_AIRFLOW_HOME):
    del os.environ["AIRFLOW_HOME"]

# Where `make marquez` put Marquez's jars, read before the synthgov home moves: tests never write a
# developer's (or make's) synthgov home, and two workers never share one DuckDB file or lineage log.
from synthgov_stack.marquez import LIB_ENV, marquez_lib  # noqa: E402

os.environ.setdefault(LIB_ENV, str(marquez_lib()))
os.environ["SYNTHGOV_HOME"] = tempfile.mkdtemp(prefix="synthgov-home-")
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="synthgov-airflow-"))
if "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = os.environ[_MADE_AIRFLOW_HOME] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# Tests reach loopback only: Cosmos's usage telemetry would try a public host from every dbt task.
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")

from synthgov_airflow.lineage import configure_openlineage_env  # noqa: E402

# OpenLineage on, as in make demo and make airflow: every dag.test() emits, into a log of the session's
# own (tests that read events point the transport at a file of theirs).
# An xdist worker inherits the controller's settings, which name the controller's log: they are dropped
# first, or this process's events would go to a log its tests never read.
_MADE_LINEAGE_ENV = "_SYNTHGOV_TESTS_LINEAGE_ENV"
for _name in os.environ.pop(_MADE_LINEAGE_ENV, "").split():
    os.environ.pop(_name, None)
LINEAGE_HOME = Path(tempfile.mkdtemp(prefix="synthgov-lineage-"))
os.environ[_MADE_LINEAGE_ENV] = " ".join(configure_openlineage_env(LINEAGE_HOME))

from synthgov_sandbox.process import SandboxProcess  # noqa: E402


@pytest.fixture(scope="session")
def demo_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """The demo org at scale 1, served by its own process over HTTPS."""
    with SandboxProcess(tmp_path_factory.mktemp("sandbox-demo")) as org:
        yield org


@pytest.fixture
def salesforce_default(demo_org: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """The demo org as Airflow's `salesforce_default` connection (what the DAGs' hook reads)."""
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", demo_org.airflow_connection())
    return demo_org


@pytest.fixture
def org(demo_org: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """The demo org, freshly reseeded with no faults armed; clients trust its CA."""
    demo_org.control("DELETE", "faults")
    demo_org.control("POST", "seed", {"profile": "demo", "scale": 1, "seed": 42})
    demo_org.token(fresh=True)  # a reseed ends every session
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
    return demo_org


# ---------------------------------------------------------------------------
# S3 lake on moto's real server (loopback)
# ---------------------------------------------------------------------------

import uuid  # noqa: E402
from typing import Any  # noqa: E402

from synthgov.lake import S3Lake  # noqa: E402

_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 as a real HTTP server on 127.0.0.1 (port picked by the OS); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _s3_admin(s3_server: str) -> Any:
    """One client for bucket set-up, shared by the session (a boto3 client costs ~70 ms to build)."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=s3_server,
        region_name=_FAKE_AWS_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=_FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=_FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def s3_lake(s3_server: str, _s3_admin: Any, monkeypatch: pytest.MonkeyPatch) -> S3Lake:
    """An S3Lake in a fresh versioned bucket, under a prefix; fake credentials so nothing reaches AWS."""
    for name, value in _FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"synthgov-test-{uuid.uuid4().hex[:12]}"
    _s3_admin.create_bucket(Bucket=bucket)
    _s3_admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return S3Lake(bucket, prefix="synthgov", endpoint_url=s3_server)


# ---------------------------------------------------------------------------
# Airflow metadata DB for dag.test() (synthgov_airflow; DAG tests)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A ready Airflow metadata DB, once per session: dag.test() records its runs and XComs there.

    The SQLite DB in the throw-away AIRFLOW_HOME made above is reset (dropped and created from the
    ORM, about 2 s). When AIRFLOW_HOME came from the environment it is only migrated: a test run must
    never drop a developer's own Airflow state.
    """
    from airflow import settings as airflow_settings
    from airflow.utils import db

    # dag.test() runs tasks itself and never checks pools, so none are created here.
    if str(_AIRFLOW_HOME) in (airflow_settings.SQL_ALCHEMY_CONN or ""):
        db.resetdb()
    else:
        db.upgradedb()


# ---------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster of our own (tests/postgres.py), once per session
# ---------------------------------------------------------------------------

from tests.postgres import PostgresInfo, admin, postgres_cluster  # noqa: E402


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresInfo]:
    """A PostgreSQL server on 127.0.0.1 with an empty ``synthgov`` database; skips when no server is installed.

    The cluster lives in a fresh directory under the system temp dir rather than pytest's tmp_path, whose
    parents are private to the invoking user: as root the server runs as the ``postgres`` OS user and must
    reach it.
    """
    with (
        tempfile.TemporaryDirectory(prefix="synthgov-pg-", ignore_cleanup_errors=True) as directory,
        postgres_cluster(Path(directory)) as info,
    ):
        yield info


@pytest.fixture
def database(postgres: PostgresInfo) -> Iterator[str]:
    """A fresh, empty database on the session's cluster; yields its DSN."""
    import uuid

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin(postgres, f"CREATE DATABASE {name}")
    try:
        yield postgres.dsn_for(name)
    finally:
        admin(postgres, f"DROP DATABASE {name} WITH (FORCE)")


# ---------------------------------------------------------------------------
# The retention world: the demo org extracted, loaded and built once per session (tests/retention_world.py);
# each test gets the org reseeded and its own copy of the lake and the warehouse.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def built(demo_org: SandboxProcess, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.retention_world import build

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
        return build(demo_org, tmp_path_factory.mktemp("retention-built"))


@pytest.fixture
def world(demo_org: SandboxProcess, built: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh copy of the built world; synthgov's own state (reports, lineage) under the test's temp folder."""
    from tests.retention_world import fresh

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "home"))
    yield from fresh(demo_org, built, tmp_path)


# ---------------------------------------------------------------------------
# Parallel runs (make test: pytest-xdist, scheduled by the hook below): what runs together
# ---------------------------------------------------------------------------

# Each module is one unit of work (its module-scoped servers and builds made once), and the stack's modules
# are one unit between them: two CeleryExecutor stacks side by side on a two-core machine would starve each
# other. Units start slowest suite first, so the longest begin at once and the two workers end close together.
_SUITE_ORDER = ("stack", "e2e", "integration", "dags", "sandbox", "unit")


def _suite_of(nodeid: str) -> str:
    parts = nodeid.split("::", maxsplit=1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "unit"


class _ByModule(LoadScopeScheduling):  # type: ignore[misc]  # xdist is not followed by mypy here
    """xdist's module scheduling, with every test under tests/stack/ in one unit."""

    def _split_scope(self, nodeid: str) -> str:
        return "stack" if _suite_of(nodeid) == "stack" else nodeid.split("::", maxsplit=1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling:
    return _ByModule(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller schedules units in this order
        rank = {suite: index for index, suite in enumerate(_SUITE_ORDER)}
        items.sort(key=lambda item: rank.get(_suite_of(item.nodeid), len(rank)))
