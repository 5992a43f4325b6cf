"""Fixtures of the integration tier: what several modules start the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgov.lake import Lake, LocalLake, S3Lake


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    """Each test twice: on a local folder and on moto's S3 server (versioned bucket)."""
    if request.param == "local":
        return LocalLake(tmp_path / "lake")
    s3: S3Lake = request.getfixturevalue("s3_lake")
    return s3
