"""Bulk API 2.0 query jobs: create the job, poll it, read its CSV result pages by locator.

Extraction and retention (plan read-back, verification) both read through here, so both get the
same guarantees: every call goes through `SalesforceConnection.request` on its own (an expired
session is renewed, transient errors retried, the API budget counted, REQUEST_LIMIT_EXCEEDED
raised as ApiLimitReached, and a read resumes at the same locator), and no page is accepted with
fewer rows than its `Sforce-NumberOfRecords` header declares: a cut-off body parses as fewer rows
and must never count as the whole answer.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass

from synthgov.salesforce.connection import SalesforceConnection

PAGE_ROWS = 50_000  # rows per results page (maxRecords)
MAX_POLL_SECONDS = 30.0  # the poll interval doubles from the configured one up to this


class BulkQueryError(RuntimeError):
    """A query job that failed or was aborted, or a result page that lost rows: the message says which."""


@dataclass(frozen=True)
class ResultPage:
    """One page of a job's CSV results, with the row count the org declared for it."""

    job_id: str
    body: bytes
    declared_rows: int

    def check(self, parsed_rows: int) -> None:
        """Refuse the page when parsing found other than the declared number of rows."""
        if parsed_rows != self.declared_rows:
            raise BulkQueryError(
                f"Bulk API 2.0 page of job {self.job_id} has {parsed_rows} rows, the header says {self.declared_rows}"
            )

    def records(self) -> list[dict[str, str]]:
        """The page as rows keyed by the CSV header (the SOQL paths), checked against the declared count."""
        rows = list(csv.DictReader(io.StringIO(self.body.decode("utf-8"))))
        self.check(len(rows))
        return rows


def _base(conn: SalesforceConnection) -> str:
    return f"/services/data/v{conn.creds.api_version}/jobs/query"


def run_query_job(conn: SalesforceConnection, soql: str, *, include_deleted: bool, poll_seconds: float) -> str:
    """Create a query job (queryAll with `include_deleted`) and wait for it; returns the job id."""
    base = _base(conn)
    body = {
        "operation": "queryAll" if include_deleted else "query",
        "query": soql,
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    job_id = str(conn.request("POST", base, json_body=body).json()["id"])
    delay = poll_seconds
    while True:
        info = conn.request("GET", f"{base}/{job_id}").json()
        state = info["state"]
        if state == "JobComplete":
            return job_id
        if state in ("Failed", "Aborted"):
            raise BulkQueryError(f"Bulk API 2.0 query job {job_id} ended {state}: {info.get('errorMessage', '')}")
        time.sleep(delay)
        delay = min(delay * 2, MAX_POLL_SECONDS)


def result_pages(conn: SalesforceConnection, job_id: str, *, page_rows: int = PAGE_ROWS) -> Iterator[ResultPage]:
    """The job's result pages in order, following `Sforce-Locator` until the org says there is no more."""
    base = _base(conn)
    locator = ""
    while True:
        suffix = f"?maxRecords={page_rows}" + (f"&locator={locator}" if locator else "")
        response = conn.request("GET", f"{base}/{job_id}/results{suffix}", accept="text/csv")
        yield ResultPage(job_id, response.content, int(response.headers["Sforce-NumberOfRecords"]))
        locator = response.headers.get("Sforce-Locator", "null")
        if not locator or locator == "null":
            return


def query_pages(
    conn: SalesforceConnection, soql: str, *, include_deleted: bool = False, poll_seconds: float | None = None
) -> Iterator[ResultPage]:
    """One query job from creation to its last page. `poll_seconds`: the first poll interval
    (default: `Settings.bulk_poll_seconds`, i.e. SYNTHGOV_BULK_POLL_SECONDS)."""
    if poll_seconds is None:
        from synthgov.settings import Settings

        poll_seconds = Settings.from_env().bulk_poll_seconds
    job_id = run_query_job(conn, soql, include_deleted=include_deleted, poll_seconds=poll_seconds)
    yield from result_pages(conn, job_id)
