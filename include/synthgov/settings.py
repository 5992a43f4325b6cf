"""Every SYNTHGOV_* environment variable, declared once, and the typed accessors that read them.

`VARIABLES` is the one list: name, default as documented, one-line doc, and whether it is a secret.
README.md's settings table shows exactly this list (a unit test holds the two equal), and no other
module reads a SYNTHGOV_* variable from the environment (a unit test scans the source for that too).
The defaults run on one machine (the embedded defaults). Secrets have no default and are never
printed: they come from here or, preferably, from an Airflow connection.

Only the standard library is imported: DAG files read their schedule from here at parse time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

_INCLUDE = Path(__file__).resolve().parents[1]
_REPO = _INCLUDE.parent


class SettingsError(ValueError):
    """A setting with a bad value: the message names the variable and what it accepts."""


@dataclass(frozen=True)
class Variable:
    """One SYNTHGOV_* variable as README.md's settings table lists it (backticks aside)."""

    name: str
    default: str
    doc: str
    secret: bool = False

    def raw(self) -> str | None:
        """The variable's value; unset and empty alike are None, so an empty variable means the default."""
        return os.environ.get(self.name) or None


def _secret(name: str, doc: str) -> Variable:
    return Variable(name, "", doc, secret=True)


HOME = Variable("SYNTHGOV_HOME", "./.synthgov", "local state: sandbox, lake, warehouse, lineage, report")
LAKE_URL = Variable("SYNTHGOV_LAKE_URL", "$SYNTHGOV_HOME/lake", "a path, file:///path or s3://bucket/prefix")
S3_ENDPOINT_URL = Variable(
    "SYNTHGOV_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL, else AWS", "an S3-compatible endpoint (MinIO, moto)"
)
AWS_CONN_ID = Variable(
    "SYNTHGOV_AWS_CONN_ID",
    "aws_default",
    "in Airflow: the Amazon connection an S3 lake is reached with; without it, SYNTHGOV_S3_ENDPOINT_URL and AWS_*",
)
TRAINING_LAKE_URL = Variable(
    "SYNTHGOV_TRAINING_LAKE_URL",
    "the lake's training/ prefix",
    "the training zone as a lake of its own (e.g. s3://acme-training)",
)
WAREHOUSE = Variable("SYNTHGOV_WAREHOUSE", "duckdb", "the warehouse, for Python and dbt alike: duckdb or postgres")
WAREHOUSE_CONN_ID = Variable(
    "SYNTHGOV_WAREHOUSE_CONN_ID",
    "synthgov_warehouse",
    "in Airflow: the connection holding the warehouse (postgres or synthgov_duckdb); without it, the variables below",
)
DUCKDB_PATH = Variable(
    "SYNTHGOV_DUCKDB_PATH", "$SYNTHGOV_HOME/warehouse.duckdb", "the DuckDB warehouse file (made absolute)"
)
PG_HOST = Variable("SYNTHGOV_PG_HOST", "127.0.0.1", "the PostgreSQL warehouse's host (the loader and dbt's profile)")
PG_PORT = Variable("SYNTHGOV_PG_PORT", "5432", "its TCP port")
PG_USER = Variable("SYNTHGOV_PG_USER", "postgres", "its user")
PG_PASSWORD = _secret("SYNTHGOV_PG_PASSWORD", "its password; unset leaves it to libpq (PGPASSWORD, ~/.pgpass)")
PG_DATABASE = Variable("SYNTHGOV_PG_DATABASE", "synthgov", "its database")
PG_DSN = _secret(
    "SYNTHGOV_PG_DSN",
    "a libpq DSN or postgresql:// URI instead of the parts, for the loader only (dbt reads the parts)",
)
DBT_TARGET = Variable(
    "SYNTHGOV_DBT_TARGET",
    "SYNTHGOV_WAREHOUSE's",
    "override: another output of dbt_project/profiles.yml for the same warehouse",
)
DBT_PROJECT = Variable("SYNTHGOV_DBT_PROJECT", "dbt_project/", "the dbt project the nightly and the report use")
AS_OF = Variable(
    "SYNTHGOV_AS_OF",
    "the database's now",
    "the instant dbt judges retention and findings at (the nightly sets it per build)",
)
EXTRACT_CONFIG = Variable("SYNTHGOV_EXTRACT_CONFIG", "include/config/extraction.yml", "the object list")
POLICY_DIR = Variable("SYNTHGOV_POLICY_DIR", "include/policies/", "the retention and AI-use policy files")
NIGHTLY_CRON = Variable("SYNTHGOV_NIGHTLY_CRON", "0 2 * * *", "the nightly DAG's schedule (cron, UTC)")
RETRY_DELAY_SECONDS = Variable(
    "SYNTHGOV_RETRY_DELAY_SECONDS", "300", "how long the nightly's failed tasks wait before a retry (0-86400)"
)
ALERT_CONN_ID = Variable(
    "SYNTHGOV_ALERT_CONN_ID", "unset", "the Airflow connection (a webhook) a failed DAG run is reported to"
)
WINDOW_LAG_SECONDS = Variable(
    "SYNTHGOV_WINDOW_LAG_SECONDS", "60", "extraction windows end this far behind the org's clock (0-86400)"
)
PART_ROWS = Variable("SYNTHGOV_PART_ROWS", "250000", "rows per Parquet part of a run (1000-10000000)")
PAGE_SIZE = Variable("SYNTHGOV_PAGE_SIZE", "2000", "REST query page size (200-2000)")
API_RUN_SHARE = Variable(
    "SYNTHGOV_API_RUN_SHARE", "0.25", "the share of the org's daily API budget one run may use (0.001-1)"
)
API_TOTAL_SHARE = Variable(
    "SYNTHGOV_API_TOTAL_SHARE", "0.80", "the share of the org's daily API budget no run takes it past (0.001-1)"
)
MEDIA_MAX_BYTES = Variable(
    "SYNTHGOV_MEDIA_MAX_BYTES", "52428800", "larger media files get a skipped_too_large finding (50 MB)"
)
BULK_POLL_SECONDS = Variable("SYNTHGOV_BULK_POLL_SECONDS", "1.0", "seconds between Bulk API job polls (0-60)")
EVIDENCE_RETENTION_DAYS = Variable(
    "SYNTHGOV_EVIDENCE_RETENTION_DAYS",
    "2557",
    "days each evidence ledger segment is locked where the bucket has Object Lock (seven years)",
)
EVIDENCE_LOCK_MODE = Variable(
    "SYNTHGOV_EVIDENCE_LOCK_MODE", "COMPLIANCE", "the Object Lock mode: COMPLIANCE or GOVERNANCE"
)
SF_INSTANCE_URL = Variable("SYNTHGOV_SF_INSTANCE_URL", "unset", "without an Airflow connection: the org's https:// URL")
SF_CLIENT_ID = _secret("SYNTHGOV_SF_CLIENT_ID", "the connected app's consumer key")
SF_CLIENT_SECRET = _secret("SYNTHGOV_SF_CLIENT_SECRET", "its consumer secret (client credentials flow)")
SF_SESSION_ID = _secret("SYNTHGOV_SF_SESSION_ID", "a session id instead of OAuth")
SF_USERNAME = _secret("SYNTHGOV_SF_USERNAME", "the integration user (JWT bearer flow)")
SF_JWT_KEY_FILE = _secret("SYNTHGOV_SF_JWT_KEY_FILE", "the file holding the JWT bearer flow's private key")
SF_CA_BUNDLE = Variable("SYNTHGOV_SF_CA_BUNDLE", "unset", "a CA bundle the org's certificate is checked against")
SF_API_VERSION = Variable("SYNTHGOV_SF_API_VERSION", "59.0", "the Salesforce REST API version")

VARIABLES: tuple[Variable, ...] = (
    HOME,
    LAKE_URL,
    S3_ENDPOINT_URL,
    AWS_CONN_ID,
    TRAINING_LAKE_URL,
    WAREHOUSE,
    WAREHOUSE_CONN_ID,
    DUCKDB_PATH,
    PG_HOST,
    PG_PORT,
    PG_USER,
    PG_PASSWORD,
    PG_DATABASE,
    PG_DSN,
    DBT_TARGET,
    DBT_PROJECT,
    AS_OF,
    EXTRACT_CONFIG,
    POLICY_DIR,
    NIGHTLY_CRON,
    RETRY_DELAY_SECONDS,
    ALERT_CONN_ID,
    WINDOW_LAG_SECONDS,
    PART_ROWS,
    PAGE_SIZE,
    API_RUN_SHARE,
    API_TOTAL_SHARE,
    MEDIA_MAX_BYTES,
    BULK_POLL_SECONDS,
    EVIDENCE_RETENTION_DAYS,
    EVIDENCE_LOCK_MODE,
    SF_INSTANCE_URL,
    SF_CLIENT_ID,
    SF_CLIENT_SECRET,
    SF_SESSION_ID,
    SF_USERNAME,
    SF_JWT_KEY_FILE,
    SF_CA_BUNDLE,
    SF_API_VERSION,
)

# libpq keyword -> variable. dbt_project/profiles.yml's postgres output carries the same defaults (a
# unit test holds them equal), so Python and dbt reach the same database when nothing is set; the
# password's empty default is left to libpq (PGPASSWORD, ~/.pgpass), as dbt's '' is.
PG_PARTS: dict[str, Variable] = {
    "host": PG_HOST,
    "port": PG_PORT,
    "user": PG_USER,
    "password": PG_PASSWORD,
    "dbname": PG_DATABASE,
}

# dbt's flags (as environment variables) for scheduled builds. Unit tests check the SQL's logic on
# fixed inputs, so their result cannot change from one night to the next: they run in `make test`
# (CI) before code reaches a scheduler, as dbt recommends, and production spends nothing on them.
DBT_PRODUCTION_FLAGS = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}


def _number(var: Variable, *, low: float, high: float, whole: bool = False) -> float:
    """The variable as a number in [low, high]; unset means its documented default."""
    raw = var.raw() or var.default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise SettingsError(f"{var.name} must be {kind}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{var.name} must be between {low:g} and {high:g}, got {raw}")
    return value


def _whole(var: Variable, *, low: int, high: int) -> int:
    return int(_number(var, low=low, high=high, whole=True))


def home() -> Path:
    """Where local state lives (sandbox, lake, warehouse, lineage), made absolute."""
    return Path(HOME.raw() or HOME.default).resolve()


def duckdb_path() -> Path:
    """The DuckDB file: ``$SYNTHGOV_DUCKDB_PATH`` (made absolute), else ``<SYNTHGOV_HOME>/warehouse.duckdb``.

    Always absolute, because Airflow tasks and dbt run from different working directories (Cosmos
    copies the dbt project to a temp dir) and must open the same file.
    """
    configured = DUCKDB_PATH.raw()
    if configured:
        return Path(configured).expanduser().resolve()
    return home() / "warehouse.duckdb"


def lake_url() -> str | None:
    """The lake's URL, or None for ``<SYNTHGOV_HOME>/lake`` (``synthgov.lake.open_lake`` opens it)."""
    return LAKE_URL.raw()


def s3_endpoint_url() -> str | None:
    """An S3-compatible endpoint for the lake, or None (AWS_ENDPOINT_URL, else AWS: the caller's fallback)."""
    return S3_ENDPOINT_URL.raw()


def aws_conn_id() -> str:
    """The Airflow connection (Amazon provider's ``aws`` type) an S3 lake is opened with in Airflow."""
    return AWS_CONN_ID.raw() or AWS_CONN_ID.default


def warehouse_conn_id() -> str:
    """The Airflow connection that names the warehouse in Airflow; when it does not exist, the variables do."""
    return WAREHOUSE_CONN_ID.raw() or WAREHOUSE_CONN_ID.default


def training_lake_url() -> str | None:
    """The training zone's own lake URL, or None for the ``training/`` prefix of the lake."""
    return TRAINING_LAKE_URL.raw()


WarehouseKind = Literal["duckdb", "postgres"]


def warehouse_kind() -> WarehouseKind:
    """The warehouse for Python and dbt alike: ``duckdb`` (default) or ``postgres`` (or ``postgresql``)."""
    raw = os.environ.get(WAREHOUSE.name, "")
    kind = raw.strip().lower() or WAREHOUSE.default
    if kind == "duckdb":
        return "duckdb"
    if kind in ("postgres", "postgresql"):
        return "postgres"
    raise SettingsError(f"{WAREHOUSE.name} must be 'duckdb' or 'postgres', got {raw!r}")


def dbt_target() -> str:
    """The dbt_project/profiles.yml output dbt runs on: the warehouse's, unless ``$SYNTHGOV_DBT_TARGET`` overrides it.

    The override is for a profile of one's own (another output name for the same database); pointing
    it at the other warehouse splits the nightly between two databases.
    """
    return DBT_TARGET.raw() or warehouse_kind()


def postgres_dsn_override() -> str | None:
    """``$SYNTHGOV_PG_DSN`` (a secret: it may carry the password), or None to build the DSN from the parts."""
    return PG_DSN.raw()


def postgres_parts() -> dict[str, str]:
    """The libpq keywords of the PostgreSQL warehouse, defaults applied; an unset password is left out."""
    parts = {keyword: var.raw() or var.default for keyword, var in PG_PARTS.items()}
    port = parts["port"]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{PG_PORT.name} must be a TCP port number, got {port!r}")
    return {keyword: value for keyword, value in parts.items() if value}


def dbt_project() -> Path:
    """The dbt project: ``$SYNTHGOV_DBT_PROJECT``, else the repository's ``dbt_project/``."""
    return Path(DBT_PROJECT.raw() or _REPO / DBT_PROJECT.default)


def extract_config() -> Path:
    """The extraction config: ``$SYNTHGOV_EXTRACT_CONFIG``, else the bundled ``include/config/extraction.yml``."""
    return Path(EXTRACT_CONFIG.raw() or _REPO / EXTRACT_CONFIG.default)


def policy_dir() -> Path:
    """The policy files: ``$SYNTHGOV_POLICY_DIR``, else the bundled ``include/policies``."""
    return Path(POLICY_DIR.raw() or _REPO / POLICY_DIR.default)


def nightly_cron() -> str:
    """The nightly DAG's cron expression (UTC); Airflow checks it when the DAG file is parsed."""
    return NIGHTLY_CRON.raw() or NIGHTLY_CRON.default


def retry_delay_seconds() -> int:
    """How long a failed task of the nightly waits before its retry (a dbt model's task retries its model)."""
    return _whole(RETRY_DELAY_SECONDS, low=0, high=86400)


def alert_conn_id() -> str | None:
    """The Airflow connection a failed DAG run is reported to (none by default)."""
    return ALERT_CONN_ID.raw()


LockMode = Literal["COMPLIANCE", "GOVERNANCE"]


def evidence_retention_days() -> int:
    """How long each evidence ledger segment is locked where the bucket has Object Lock."""
    return _whole(EVIDENCE_RETENTION_DAYS, low=1, high=36500)


def evidence_lock_mode() -> LockMode:
    """COMPLIANCE (default; nobody can shorten the lock) or GOVERNANCE (case does not matter)."""
    raw = EVIDENCE_LOCK_MODE.raw() or EVIDENCE_LOCK_MODE.default
    mode = raw.upper()
    if mode == "COMPLIANCE":
        return "COMPLIANCE"
    if mode == "GOVERNANCE":
        return "GOVERNANCE"
    raise SettingsError(f"{EVIDENCE_LOCK_MODE.name} must be one of COMPLIANCE, GOVERNANCE, got {raw!r}")


@dataclass(frozen=True)
class SalesforceEnv:
    """The SYNTHGOV_SF_* variables, for running without an Airflow connection; secrets stay out of repr."""

    instance_url: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    session_id: str | None = field(repr=False)
    username: str | None
    jwt_key_file: Path | None = field(repr=False)
    ca_bundle: str | None
    api_version: str


def salesforce_env() -> SalesforceEnv:
    """The org's address and credentials from the environment (no defaults but the API version)."""
    key_file = SF_JWT_KEY_FILE.raw()
    return SalesforceEnv(
        instance_url=SF_INSTANCE_URL.raw(),
        client_id=SF_CLIENT_ID.raw(),
        client_secret=SF_CLIENT_SECRET.raw(),
        session_id=SF_SESSION_ID.raw(),
        username=SF_USERNAME.raw(),
        jwt_key_file=Path(key_file) if key_file else None,
        ca_bundle=SF_CA_BUNDLE.raw(),
        api_version=SF_API_VERSION.raw() or SF_API_VERSION.default,
    )


@dataclass(frozen=True)
class Settings:
    """The extraction's tuning settings, read together at the start of a task."""

    home: Path
    window_lag_seconds: int = 60
    part_rows: int = 250_000
    page_size: int = 2000
    api_run_share: float = 0.25
    api_total_share: float = 0.80
    media_max_bytes: int = 50 * 1024 * 1024
    bulk_poll_seconds: float = 1.0

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            home=home(),
            window_lag_seconds=_whole(WINDOW_LAG_SECONDS, low=0, high=86400),
            part_rows=_whole(PART_ROWS, low=1000, high=10_000_000),
            page_size=_whole(PAGE_SIZE, low=200, high=2000),
            api_run_share=_number(API_RUN_SHARE, low=0.001, high=1),
            api_total_share=_number(API_TOTAL_SHARE, low=0.001, high=1),
            media_max_bytes=_whole(MEDIA_MAX_BYTES, low=1, high=2**40),
            bulk_poll_seconds=_number(BULK_POLL_SECONDS, low=0, high=60),
        )
