"""The one list of SYNTHGOV_* variables: the README's table matches it, nobody reads around it, and
each typed accessor has its documented default and names the variable when a value is bad."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from synthgov import policies, settings
from synthgov.settings import SettingsError

REPO = Path(__file__).resolve().parents[2]
# A README row of the settings table: | `SYNTHGOV_NAME` | meaning | default |
_ROW = re.compile(r"^\|\s*`(?P<name>SYNTHGOV_[A-Z0-9_]+)`\s*\|(?P<doc>[^|]*)\|(?P<default>[^|]*)\|\s*$")
# Where product code lives; only settings.py may read SYNTHGOV_* variables from the environment.
_SCANNED = (REPO / "include" / "synthgov", REPO / "plugins", REPO / "dags")
_READS = {"get", "getenv", "pop"}


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in settings.VARIABLES:
        monkeypatch.delenv(var.name, raising=False)


# -- (a) the README's table is the declared list -------------------------------------------------


def _plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def test_the_readme_settings_table_is_the_declared_list() -> None:
    rows = [m for line in (REPO / "README.md").read_text().splitlines() if (m := _ROW.match(line))]
    names = [m["name"] for m in rows]
    assert len(names) == len(set(names)), "a variable appears twice in README.md's settings tables"
    declared = {var.name: var for var in settings.VARIABLES}
    assert len(declared) == len(settings.VARIABLES), "a variable is declared twice"
    assert set(names) == set(declared), "README.md's settings table and synthgov.settings.VARIABLES differ"
    for row in rows:
        var = declared[row["name"]]
        assert _plain(row["doc"]) == var.doc, var.name
        assert _plain(row["default"]) == ("(secret)" if var.secret else var.default), var.name


def test_secrets_have_no_default() -> None:
    secrets = [var for var in settings.VARIABLES if var.secret]
    assert {var.name for var in secrets} >= {"SYNTHGOV_PG_PASSWORD", "SYNTHGOV_SF_CLIENT_SECRET"}
    assert all(var.default == "" for var in secrets)
    assert all(var.default for var in settings.VARIABLES if not var.secret)


# -- (b) nothing reads a SYNTHGOV_* variable around synthgov.settings ----------------------------


def _environment_reads(source: str) -> list[str]:
    """The reads of ``os.environ`` / ``os.getenv`` in ``source`` that may be of a SYNTHGOV_* variable.

    A key passes only when it is visibly another variable: a string not starting with SYNTHGOV_, or a
    module constant holding one. Anything else (a SYNTHGOV_* string, an imported constant, a prefix
    plus a name, a loop variable) is a read to route through synthgov.settings. Writes for child
    processes (``os.environ[...] = ...``, ``setdefault``, ``update``) do not count.
    """
    tree = ast.parse(source)
    other_names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        if not node.value.value.startswith("SYNTHGOV_")
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def may_be_synthgov(key: ast.expr) -> bool:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value.startswith("SYNTHGOV_")
        return not (isinstance(key, ast.Name) and key.id in other_names)

    def is_environ(node: ast.expr) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ"
        )

    found: list[str] = []
    for node in ast.walk(tree):
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in _READS and (is_environ(node.func.value) or node.func.attr == "getenv"):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and is_environ(node.value):
            key = node.slice
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            key = node.left
        if key is not None and may_be_synthgov(key):
            found.append(ast.unparse(node))
    return found


def test_the_scan_finds_a_planted_read() -> None:
    planted = """
import os
from os import environ
from synthgov import settings
LAKE_ENV = "SYNTHGOV_LAKE_URL"
a = os.environ.get("SYNTHGOV_HOME", ".")
b = os.getenv(LAKE_ENV)
c = os.environ["SYNTHGOV_WAREHOUSE"]
d = environ.get("SYNTHGOV_SF_" + "CLIENT_ID")
e = "SYNTHGOV_PAGE_SIZE" in os.environ
f = os.environ.get(settings.PART_ROWS.name)
g = os.environ.get(LAKE_ENV)
os.environ.setdefault("SYNTHGOV_DUCKDB_PATH", "/tmp/w.duckdb")
os.environ["SYNTHGOV_HOME"] = "/tmp"
h = os.environ.get(settings.LAKE_URL.name)
for name in ("SYNTHGOV_PG_HOST", "SYNTHGOV_PG_PORT"):
    i = os.environ.get(name)
REGION_ENV = "AWS_REGION"
j = os.environ.get("AWS_REGION") or os.getenv(REGION_ENV)
"""
    assert len(_environment_reads(planted)) == 9  # a to i; the writes and the AWS reads pass


def test_only_settings_reads_synthgov_variables() -> None:
    offenders = {
        f"{path.relative_to(REPO)}: {read}"
        for root in _SCANNED
        for path in sorted(root.rglob("*.py"))
        if path != REPO / "include" / "synthgov" / "settings.py"
        for read in _environment_reads(path.read_text())
    }
    assert not offenders, "read these through synthgov.settings:\n" + "\n".join(sorted(offenders))


# -- (c) each typed accessor: its default and its bad values ------------------------------------


def test_paths_default_to_home_and_the_bundled_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings.home() == tmp_path / ".synthgov"
    assert settings.duckdb_path() == tmp_path / ".synthgov" / "warehouse.duckdb"
    assert settings.dbt_project() == policies.DBT_PROJECT
    assert settings.policy_dir() == policies.POLICY_DIR
    assert settings.extract_config() == REPO / "include" / "config" / "extraction.yml"
    assert settings.extract_config().is_file()

    monkeypatch.setenv("SYNTHGOV_HOME", "state")
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", "w.duckdb")
    assert settings.home() == tmp_path / "state"
    assert settings.duckdb_path() == tmp_path / "w.duckdb"  # made absolute: dbt runs elsewhere
    for name, accessor in (
        ("SYNTHGOV_DBT_PROJECT", settings.dbt_project),
        ("SYNTHGOV_POLICY_DIR", settings.policy_dir),
        ("SYNTHGOV_EXTRACT_CONFIG", settings.extract_config),
    ):
        monkeypatch.setenv(name, str(tmp_path / name))
        assert accessor() == tmp_path / name


def test_text_settings_are_unset_by_default_and_empty_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    optional = {
        "SYNTHGOV_LAKE_URL": settings.lake_url,
        "SYNTHGOV_S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "SYNTHGOV_TRAINING_LAKE_URL": settings.training_lake_url,
        "SYNTHGOV_ALERT_CONN_ID": settings.alert_conn_id,
        "SYNTHGOV_PG_DSN": settings.postgres_dsn_override,
    }
    assert all(accessor() is None for accessor in optional.values())
    for name, accessor in optional.items():
        monkeypatch.setenv(name, "")
        assert accessor() is None, name
        monkeypatch.setenv(name, "s3://x")
        assert accessor() == "s3://x", name
    assert settings.nightly_cron() == "0 2 * * *"
    monkeypatch.setenv("SYNTHGOV_NIGHTLY_CRON", "30 3 * * 1-5")
    assert settings.nightly_cron() == "30 3 * * 1-5"


def test_postgres_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.postgres_parts() == {"host": "127.0.0.1", "port": "5432", "user": "postgres", "dbname": "synthgov"}
    monkeypatch.setenv("SYNTHGOV_PG_PASSWORD", "s3cret")
    assert settings.postgres_parts()["password"] == "s3cret"
    monkeypatch.setenv("SYNTHGOV_PG_PORT", "54x")
    with pytest.raises(SettingsError, match="SYNTHGOV_PG_PORT must be a TCP port number, got '54x'"):
        settings.postgres_parts()


def test_the_tuning_settings_default_to_the_documented_values() -> None:
    tuned = settings.Settings.from_env()
    assert tuned == settings.Settings(home=settings.home())
    documented = {
        "window_lag_seconds": settings.WINDOW_LAG_SECONDS,
        "part_rows": settings.PART_ROWS,
        "page_size": settings.PAGE_SIZE,
        "api_run_share": settings.API_RUN_SHARE,
        "api_total_share": settings.API_TOTAL_SHARE,
        "media_max_bytes": settings.MEDIA_MAX_BYTES,
        "bulk_poll_seconds": settings.BULK_POLL_SECONDS,
    }
    for field, var in documented.items():
        assert getattr(tuned, field) == float(var.default), var.name


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SYNTHGOV_WINDOW_LAG_SECONDS", "1.5", "must be a whole number, got '1.5'"),
        ("SYNTHGOV_WINDOW_LAG_SECONDS", "90000", "must be between 0 and 86400, got 90000"),
        ("SYNTHGOV_PART_ROWS", "999", "must be between 1000 and 1e+07, got 999"),
        ("SYNTHGOV_PAGE_SIZE", "5000", "must be between 200 and 2000, got 5000"),
        ("SYNTHGOV_API_RUN_SHARE", "a quarter", "must be a number, got 'a quarter'"),
        ("SYNTHGOV_API_TOTAL_SHARE", "0", "must be between 0.001 and 1, got 0"),
        ("SYNTHGOV_MEDIA_MAX_BYTES", "50MB", "must be a whole number, got '50MB'"),
        ("SYNTHGOV_BULK_POLL_SECONDS", "-1", "must be between 0 and 60, got -1"),
    ],
)
def test_a_bad_tuning_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(f"{name} {message}")):
        settings.Settings.from_env()


def test_retention_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.evidence_retention_days() == 7 * 365 + 2
    assert settings.evidence_lock_mode() == "COMPLIANCE"
    monkeypatch.setenv("SYNTHGOV_EVIDENCE_RETENTION_DAYS", "30")
    monkeypatch.setenv("SYNTHGOV_EVIDENCE_LOCK_MODE", "governance")
    assert (settings.evidence_retention_days(), settings.evidence_lock_mode()) == (30, "GOVERNANCE")
    monkeypatch.setenv("SYNTHGOV_EVIDENCE_RETENTION_DAYS", "forever")
    with pytest.raises(SettingsError, match="SYNTHGOV_EVIDENCE_RETENTION_DAYS must be a whole number"):
        settings.evidence_retention_days()
    monkeypatch.setenv("SYNTHGOV_EVIDENCE_LOCK_MODE", "shred")
    with pytest.raises(SettingsError, match="SYNTHGOV_EVIDENCE_LOCK_MODE must be one of COMPLIANCE, GOVERNANCE"):
        settings.evidence_lock_mode()


def test_salesforce_env_has_no_defaults_but_the_api_version_and_hides_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = settings.salesforce_env()
    assert (env.instance_url, env.client_id, env.client_secret, env.session_id) == (None, None, None, None)
    assert env.api_version == "59.0"
    key = tmp_path / "server.key"
    monkeypatch.setenv("SYNTHGOV_SF_CLIENT_SECRET", "hunter2")
    monkeypatch.setenv("SYNTHGOV_SF_SESSION_ID", "00Dxx!session")
    monkeypatch.setenv("SYNTHGOV_SF_JWT_KEY_FILE", str(key))
    env = settings.salesforce_env()
    assert (env.client_secret, env.jwt_key_file) == ("hunter2", key)
    assert "hunter2" not in repr(env) and "session" not in repr(env)
