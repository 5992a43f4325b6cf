"""Which lake a URL names: ``open_lake``, the one way in for every caller."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from synthgov import settings
from synthgov.lake.local import LocalLake
from synthgov.lake.s3 import S3Access, S3Lake
from synthgov.lake.storage import Lake, LakeError

_ACCEPTED_URLS = "a local path, file:///absolute/path or s3://bucket[/prefix]"


def open_lake(url: str | None = None, *, home: Path | None = None, s3_access: S3Access | None = None) -> Lake:
    """The lake at ``url``, else ``$SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME or .synthgov>/lake``.

    ``s3://bucket[/prefix]`` opens an S3Lake reached through ``s3_access`` (a session and endpoint, e.g.
    an Airflow connection's), else boto3's credential chain with the endpoint from
    SYNTHGOV_S3_ENDPOINT_URL or AWS_ENDPOINT_URL (for S3-compatible stores); a bare path or a
    ``file://`` URL opens a LocalLake.
    """
    if url is None:
        url = settings.lake_url()
    if url is None:
        return LocalLake((home if home is not None else settings.home()) / "lake")
    if not url.strip():
        raise _bad_url(url, "it is empty")
    if "://" not in url:
        return LocalLake(Path(url))
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in {"", "localhost"}:
            raise _bad_url(url, f"file URLs name no host (got {parsed.netloc!r}); use three slashes")
        if not parsed.path:
            raise _bad_url(url, "it has no path")
        return LocalLake(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise _bad_url(url, "it names no bucket")
        if parsed.query or parsed.fragment:
            raise _bad_url(url, "S3 lake URLs take no query or fragment")
        endpoint = settings.s3_endpoint_url() or os.environ.get("AWS_ENDPOINT_URL") or None
        try:
            return S3Lake(parsed.netloc, unquote(parsed.path), endpoint_url=endpoint, access=s3_access)
        except LakeError as exc:
            raise _bad_url(url, str(exc)) from exc
    raise _bad_url(url, f"unsupported scheme {parsed.scheme!r}")


def _bad_url(url: str, reason: str) -> LakeError:
    return LakeError(f"lake URL {url!r} ({settings.LAKE_URL.name}) is not usable: {reason}; use {_ACCEPTED_URLS}")
