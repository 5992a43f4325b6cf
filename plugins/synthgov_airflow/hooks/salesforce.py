"""The Salesforce hook: an Airflow connection becomes synthgov's budget-guarded SalesforceConnection.

synthgov's connection (OAuth 2.0 client credentials or JWT bearer, retries, the API budget guard)
is used rather than the Salesforce provider's hook, which logs in with username, password and
security token and knows nothing of the budget shares a nightly run must respect.

The connection (conn_type ``salesforce``) carries, in its extras:

- ``instance_url``: the org's https:// My Domain URL (or the connection's host);
- ``client_id`` / ``client_secret``: the connected app (or the connection's login / password);
- ``jwt_private_key`` (PEM text) or ``jwt_private_key_file`` (a path), with ``username``: JWT bearer
  instead of a client secret;
- ``ca_bundle``: a PEM file to trust a private CA (the sandbox org's);
- ``api_version``: the REST API version, e.g. ``59.0``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from synthgov.salesforce.connection import Credentials, SalesforceConnection


class SynthgovSalesforceHook(BaseHook):
    """Reach a Salesforce org through synthgov's SalesforceConnection; the client is made once per hook."""

    conn_name_attr = "salesforce_conn_id"
    default_conn_name = "salesforce_default"
    conn_type = "salesforce"
    hook_name = "Salesforce (synthgov)"

    def __init__(self, salesforce_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.salesforce_conn_id = salesforce_conn_id
        self._client: SalesforceConnection | None = None

    def get_credentials(self) -> Credentials:
        """The connection's credentials; an AirflowException names the connection and the extra that is missing."""
        from synthgov.salesforce.connection import DEFAULT_API_VERSION, Credentials, SalesforceConnectionError

        conn = self.get_connection(self.salesforce_conn_id)
        extras: dict[str, Any] = conn.extra_dejson
        where = f"Salesforce connection {self.salesforce_conn_id!r}"

        def extra(name: str) -> str | None:
            value = extras.get(name)
            return str(value) if value not in (None, "") else None

        instance_url = extra("instance_url") or _url_from_host(conn)
        if not instance_url:
            raise AirflowException(
                f"{where} has no instance_url: set the extra 'instance_url' (or the host) to the org's "
                "https:// My Domain URL"
            )
        client_id = extra("client_id") or conn.login or None
        if not client_id:
            raise AirflowException(
                f"{where} has no client_id: set the extra 'client_id' (or the login) to the connected app's "
                "consumer key"
            )
        client_secret = extra("client_secret") or conn.password or None
        jwt_key = extra("jwt_private_key") or self._read_key_file(extra("jwt_private_key_file"), where)
        username = extra("username")
        if not client_secret and not jwt_key:
            raise AirflowException(
                f"{where} has no credentials: set the extra 'client_secret' (or the password), or "
                "'jwt_private_key' / 'jwt_private_key_file' with 'username' for the JWT bearer flow"
            )
        if jwt_key and not client_secret and not username:
            raise AirflowException(
                f"{where} uses a JWT key but has no extra 'username' (the user the integration runs as)"
            )
        try:
            return Credentials(
                instance_url=instance_url,
                client_id=client_id,
                client_secret=client_secret,
                username=username,
                jwt_private_key=jwt_key,
                ca_bundle=extra("ca_bundle"),
                api_version=extra("api_version") or DEFAULT_API_VERSION,
            )
        except SalesforceConnectionError as exc:
            raise AirflowException(f"{where}: {exc}") from None

    @staticmethod
    def _read_key_file(path: str | None, where: str) -> str | None:
        if path is None:
            return None
        try:
            return Path(path).expanduser().read_text()
        except OSError as exc:
            raise AirflowException(
                f"{where}: cannot read the extra 'jwt_private_key_file' {path!r}: {exc.strerror or exc}"
            ) from None

    def get_conn(self, *, run_share: float | None = None) -> SalesforceConnection:
        """The connection's client, made on first use.

        Its API budget shares come from the environment; `run_share` overrides the per-run share,
        for a task that does one part of a run (a mapped extract gets the run's share divided).
        """
        if self._client is None:
            from synthgov.salesforce.connection import ApiBudget, SalesforceConnection
            from synthgov.settings import Settings

            settings = Settings.from_env()
            budget = ApiBudget(run_share=run_share or settings.api_run_share, total_share=settings.api_total_share)
            self._client = SalesforceConnection(self.get_credentials(), budget)
        return self._client

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the org's clock (one `limits` call)."""
        import requests
        from simple_salesforce.exceptions import SalesforceError

        from synthgov.salesforce.connection import ApiLimitReached, SalesforceConnectionError

        try:
            client = self.get_conn()
            org_time = client.org_now()
        except (
            AirflowException,
            SalesforceConnectionError,
            ApiLimitReached,
            SalesforceError,
            requests.RequestException,
        ) as exc:
            return False, str(exc)
        return True, f"connected to {client.creds.instance_url}; the org's clock says {org_time.isoformat()}"


def _url_from_host(conn: Connection) -> str | None:
    """An https URL from the connection's host (and port), for connections made in the UI's host field."""
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    return f"https://{host}:{conn.port}" if conn.port else f"https://{host}"
