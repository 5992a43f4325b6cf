"""Connecting to a Salesforce org: OAuth 2.0, retries, re-authentication and the API budget guard.

simple-salesforce does the API calls; this module gives it a `requests.Session` whose adapter
retries transient failures (429, 5xx, dropped connections) with backoff, counts every call,
reads `Sforce-Limit-Info` from every response and refuses to send a call that would take the
run past its share of the org's daily API budget.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)
from urllib3.util.retry import Retry

from synthgov import settings

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = settings.SF_API_VERSION.default
_LIMIT_RE = re.compile(r"api-usage=(\d+)/(\d+)")
T = TypeVar("T")


class SalesforceConnectionError(RuntimeError):
    """The org cannot be reached or refuses our credentials; the message says what to check."""


class ApiLimitReached(RuntimeError):
    """The org's daily API budget (or this run's share of it) is spent: the run stops cleanly."""


@dataclass(frozen=True)
class Credentials:
    """How to reach one org. Secrets come from an Airflow connection or the environment, never code."""

    instance_url: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    session_id: str | None = field(default=None, repr=False)
    username: str | None = None
    jwt_private_key: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        url = self.instance_url.rstrip("/")
        if not url.startswith("https://"):
            raise SalesforceConnectionError(
                f"instance_url must be the org's https:// My Domain URL, got {self.instance_url!r}"
            )
        object.__setattr__(self, "instance_url", url)
        if not (self.session_id or (self.client_id and (self.client_secret or self.jwt_private_key))):
            raise SalesforceConnectionError(
                "no way to authenticate: give client_id with client_secret (client credentials) or with a JWT "
                "private key (JWT bearer, needs username), or a session_id"
            )
        if self.jwt_private_key and not self.client_secret and not self.username:
            raise SalesforceConnectionError("JWT bearer needs username (the user the integration runs as)")

    @classmethod
    def from_env(cls) -> Credentials:
        """From the SYNTHGOV_SF_* variables (`synthgov.settings.salesforce_env`), for use without Airflow."""
        env = settings.salesforce_env()
        if not env.instance_url:
            raise SalesforceConnectionError(
                f"{settings.SF_INSTANCE_URL.name} is not set (the org's https:// My Domain URL)"
            )
        return cls(
            instance_url=env.instance_url,
            client_id=env.client_id,
            client_secret=env.client_secret,
            session_id=env.session_id,
            username=env.username,
            jwt_private_key=env.jwt_key_file.read_text() if env.jwt_key_file else None,
            ca_bundle=env.ca_bundle,
            api_version=env.api_version,
        )


class ApiBudget:
    """This run's share of the org's rolling daily API budget, from `Sforce-Limit-Info`.

    A run may use at most `run_share` of the daily maximum, and never take the org past
    `total_share` of it (other integrations share the same budget).
    """

    def __init__(self, run_share: float = 0.25, total_share: float = 0.80) -> None:
        if not 0 < run_share <= 1 or not 0 < total_share <= 1:
            raise ValueError("API budget shares must be in (0, 1]")
        self.run_share = run_share
        self.total_share = total_share
        self.calls = 0
        self.used: int | None = None
        self.maximum: int | None = None
        self.org_time: datetime | None = None
        self._lock = threading.Lock()

    def observe(self, response: requests.Response) -> None:
        with self._lock:
            self.calls += 1
            m = _LIMIT_RE.search(response.headers.get("Sforce-Limit-Info", ""))
            if m:
                self.used, self.maximum = int(m[1]), int(m[2])
            date = response.headers.get("Date")
            if date:
                with contextlib.suppress(TypeError, ValueError):
                    self.org_time = parsedate_to_datetime(date).astimezone(UTC)

    @property
    def used_by_run(self) -> int:
        # Our own count: the org's counter also moves with every other integration's calls.
        return self.calls

    def check(self) -> None:
        """Refuse the next call if it would cross a limit."""
        with self._lock:
            if self.used is None or self.maximum is None:
                return
            run_cap = int(self.maximum * self.run_share)
            total_cap = int(self.maximum * self.total_share)
            if self.used_by_run + 1 > run_cap:
                raise ApiLimitReached(
                    f"this run has used {self.used_by_run} API calls, its cap is {run_cap} "
                    f"({self.run_share:.0%} of the org's {self.maximum}); the rest waits for the next run"
                )
            if self.used + 1 > total_cap:
                raise ApiLimitReached(
                    f"the org has used {self.used} of {self.maximum} daily API calls; synthgov stops at "
                    f"{self.total_share:.0%} ({total_cap}) to leave the rest to other integrations"
                )

    def summary(self) -> dict[str, Any]:
        return {"calls": self.calls, "used_by_run": self.used_by_run, "org_used": self.used, "org_max": self.maximum}


class _GuardedAdapter(HTTPAdapter):
    """Checks the budget before each call and records the answer after it (retries included)."""

    def __init__(self, budget: ApiBudget, retry: Retry) -> None:
        super().__init__(max_retries=retry, pool_maxsize=8)
        self.budget = budget

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.budget.check()
        response = super().send(request, *args, **kwargs)
        self.budget.observe(response)
        return response


def retrying_session(
    budget: ApiBudget, *, ca_bundle: str | None = None, retries: int = 5, backoff: float = 0.5
) -> requests.Session:
    """A session that retries 429/5xx and connection errors with exponential backoff.

    POST and PATCH are not retried by urllib3 (they may not be idempotent); query jobs and
    ingest jobs are driven by GETs once created, and callers re-attach rather than resend.
    """
    retry = Retry(
        total=retries,
        connect=retries,
        read=2,
        status=retries,
        backoff_factor=backoff,
        backoff_max=30,
        status_forcelist=(429, 500, 502, 503, 504),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = _GuardedAdapter(budget, retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if ca_bundle:
        session.verify = ca_bundle
        # REQUESTS_CA_BUNDLE would otherwise override a session's verify (requests merges env settings first).
        session.trust_env = False
    return session


class SalesforceConnection:
    """An authenticated simple-salesforce client that re-authenticates and respects the API budget."""

    def __init__(
        self, creds: Credentials, budget: ApiBudget | None = None, *, retries: int = 5, backoff: float = 0.5
    ) -> None:
        self.creds = creds
        self.budget = budget or ApiBudget()
        self.session = retrying_session(self.budget, ca_bundle=creds.ca_bundle, retries=retries, backoff=backoff)
        self._sf: Salesforce | None = None
        self._token = creds.session_id
        self.logins = 0

    # -- authentication ------------------------------------------------------------------------

    def _login(self) -> str:
        token_url = f"{self.creds.instance_url}/services/oauth2/token"
        if self.creds.jwt_private_key and self.creds.username:
            data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": self._jwt_assertion()}
        elif self.creds.client_id and self.creds.client_secret:
            data = {
                "grant_type": "client_credentials",
                "client_id": self.creds.client_id,
                "client_secret": self.creds.client_secret,
            }
        else:
            raise SalesforceConnectionError(
                "the session expired and there are no credentials to log in again (only a session_id was given)"
            )
        try:
            response = self.session.post(token_url, data=data, timeout=60)
        except requests.exceptions.SSLError as exc:
            raise SalesforceConnectionError(
                f"TLS to {self.creds.instance_url} failed ({exc.__class__.__name__}); if the org uses a private CA, "
                "set ca_bundle in the connection"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise SalesforceConnectionError(
                f"cannot reach {self.creds.instance_url}: {_reason(exc)}; check instance_url and the network"
            ) from None
        if response.status_code != 200:
            try:
                body = response.json()
                detail = f"{body.get('error')}: {body.get('error_description')}"
            except ValueError:
                detail = response.text[:200]
            raise SalesforceConnectionError(
                f"login to {self.creds.instance_url} failed ({response.status_code} {detail}); "
                "check client_id and client_secret of the connected app"
            )
        self.logins += 1
        return str(response.json()["access_token"])

    def _jwt_assertion(self) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": self.creds.client_id,
            "sub": self.creds.username,
            "aud": self.creds.instance_url,
            "exp": now + 180,
        }
        return jwt.encode(claims, self.creds.jwt_private_key or "", algorithm="RS256")

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            if self._token is None:
                self._token = self._login()
            self._sf = Salesforce(
                instance_url=self.creds.instance_url,
                session_id=self._token,
                session=self.session,
                version=self.creds.api_version,
            )
        return self._sf

    def refresh(self) -> None:
        self._token = self._login()
        self._sf = None

    def call(self, fn: Callable[[Salesforce], T]) -> T:
        """Run `fn(sf)`; log in again once if the session expired; turn limit errors into ApiLimitReached."""
        for attempt in (1, 2):
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                if attempt == 2:
                    raise
                log.info("session expired; logging in again")
                self.refresh()
            except SalesforceRefusedRequest as exc:
                if _error_code(exc) == "REQUEST_LIMIT_EXCEEDED":
                    raise ApiLimitReached(
                        "the org refused the call with REQUEST_LIMIT_EXCEEDED: its daily API budget is spent"
                    ) from None
                raise
            except requests.exceptions.ConnectionError as exc:
                raise SalesforceConnectionError(
                    f"cannot reach {self.creds.instance_url}: {_reason(exc)}; check instance_url and the network"
                ) from None
        raise AssertionError("unreachable")

    def org_now(self) -> datetime:
        """The org's clock (from the `Date` header of a `limits` call), which also primes the budget."""
        self.call(lambda sf: sf.limits())
        if self.budget.org_time is None:
            return datetime.now(UTC)
        return self.budget.org_time

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> requests.Response:
        """One REST call to a path under the instance (Bulk 2.0 jobs, composite), re-authenticating once.

        Errors become simple-salesforce's exceptions, so callers handle one family of errors.
        """
        from simple_salesforce.util import exception_handler

        def send(sf: Salesforce) -> requests.Response:
            response = self.session.request(
                method,
                f"{self.creds.instance_url}{path}",
                json=json_body,
                data=data,
                timeout=300,
                headers={"Authorization": f"Bearer {sf.session_id}", "Content-Type": content_type, "Accept": accept},
            )
            if response.status_code >= 300:
                exception_handler(response, path.rsplit("/", 1)[-1] or "request")
            return response

        return self.call(send)

    def get_bytes(self, path: str) -> bytes:
        """GET a path under the instance (blob fields), with re-authentication."""

        def fetch(sf: Salesforce) -> bytes:
            response = self.session.get(
                f"{self.creds.instance_url}{path}", headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=300
            )
            if response.status_code == 401:
                raise SalesforceExpiredSession(response.url, 401, "blob", response.content)
            if response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in response.text:
                raise SalesforceRefusedRequest(response.url, 403, "blob", response.json())
            if response.status_code >= 300:
                raise SalesforceError(response.url, response.status_code, "blob", response.content)
            return response.content

        return self.call(fetch)


def _error_code(exc: SalesforceError) -> str:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", ""))
    return ""


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Max retries exceeded"):
        if marker in text:
            return marker.lower()
    return exc.__class__.__name__


def window_end(org_time: datetime, lag_seconds: int) -> datetime:
    """The exclusive end of an incremental window: the org's now, minus a lag for commits still in flight."""
    return (org_time - timedelta(seconds=lag_seconds)).replace(microsecond=0)
