"""The lake hook: synthgov's lake, an S3 bucket reached through the Amazon provider's connection.

An ``s3://`` lake (``SYNTHGOV_LAKE_URL``) is opened with a boto3 session from
``S3Hook(aws_conn_id=...)``: the connection's login / password (or, without them, the default AWS
credential chain), its region, and for S3-compatible stores (MinIO, moto) the extra ``endpoint_url``.
The connection is ``aws_default`` unless ``SYNTHGOV_AWS_CONN_ID`` names another. When it does not
exist, the lake is opened as outside Airflow (``SYNTHGOV_S3_ENDPOINT_URL``, ``AWS_*``). A local lake
needs no connection. synthgov.lake itself only ever takes a session, never Airflow.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

from synthgov import settings

if TYPE_CHECKING:
    from synthgov.lake import Lake, S3Access


class LakeHook(BaseHook):
    """Open the lake (``lake_url``, else ``SYNTHGOV_LAKE_URL``) with the AWS connection's session when it is on S3."""

    conn_name_attr = "aws_conn_id"
    default_conn_name = settings.AWS_CONN_ID.default

    def __init__(self, aws_conn_id: str | None = None, lake_url: str | None = None) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id or settings.aws_conn_id()
        self.lake_url = lake_url

    def s3_access(self) -> S3Access | None:
        """The connection's session and endpoint, or None when the connection does not exist (the environment then)."""
        try:
            self.get_connection(self.aws_conn_id)
        except AirflowNotFoundException:
            return None
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from synthgov.lake import S3Access

        hook = S3Hook(aws_conn_id=self.aws_conn_id)
        where = f"the Airflow connection {self.aws_conn_id!r}"
        return S3Access(
            session=hook.get_session(region_name=hook.region_name),
            # An endpoint in the connection wins; without one the variables still apply (AWS's own otherwise).
            endpoint_url=hook.conn_config.get_service_endpoint_url("s3") or _env_endpoint(),
            credentials=f"{where} (its login / password, else the default AWS credential chain)",
            endpoint_from=f"the extra 'endpoint_url' of {where} (or {settings.S3_ENDPOINT_URL.name})",
        )

    def get_conn(self) -> Lake:
        """The lake; an S3 lake's client is made on first use."""
        from synthgov.lake import LakeError, open_lake

        url = self.lake_url or settings.lake_url()
        access = self.s3_access() if url and url.startswith("s3://") else None
        try:
            return open_lake(url, s3_access=access)
        except LakeError as exc:
            raise AirflowException(str(exc)) from None

    def test_connection(self) -> tuple[bool, str]:
        """An S3 lake: ``head_bucket`` on its bucket with these credentials. A local lake: it can be written."""
        from botocore.exceptions import BotoCoreError, ClientError

        from synthgov.lake import LakeError, S3Lake, s3_error_code

        try:
            opened = self.get_conn()
            if not isinstance(opened, S3Lake):
                opened.check_writable()
                return True, f"the lake {opened.url} is a local folder and can be written (no AWS connection needed)"
        except (AirflowException, LakeError) as exc:
            return False, str(exc)
        lake = opened
        try:
            lake.client.head_bucket(Bucket=lake.bucket)
        except (ClientError, BotoCoreError) as exc:
            # head_bucket answers a bare 404, which describe_s3_error would not call a missing bucket.
            if s3_error_code(exc) in {"404", "NoSuchBucket", "NotFound"}:
                return False, (
                    f"lake {lake.url}: bucket {lake.bucket!r} does not exist at {lake.endpoint_url or 'AWS S3'}; "
                    f"check {settings.LAKE_URL.name} or create the bucket"
                )
            return False, f"lake {lake.url}: {lake.explain(exc)}"
        return True, f"bucket {lake.bucket!r} is reachable at {lake.endpoint_url or 'AWS S3'} with {self.aws_conn_id!r}"


def _env_endpoint() -> str | None:
    return settings.s3_endpoint_url() or os.environ.get("AWS_ENDPOINT_URL") or None


def open_airflow_lake(url: str | None = None, aws_conn_id: str | None = None) -> Lake:
    """The lake for a task: ``url`` (else ``SYNTHGOV_LAKE_URL``), through the AWS connection when it exists."""
    return LakeHook(aws_conn_id, url).get_conn()
