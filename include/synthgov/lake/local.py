"""A lake in a local folder: the embedded default (``<SYNTHGOV_HOME>/lake``) and the tests' lake."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from synthgov import settings
from synthgov.lake.storage import (
    TEMP_PREFIX,
    Lake,
    LakeConflict,
    LakeError,
    LakeNotFound,
    Retention,
    check_key,
)

_COPY_CHUNK = 1024 * 1024


class LocalLake(Lake):
    """A lake in a local folder: temp file in the destination folder, then ``os.replace``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _fail(self, action: str, key: str, exc: OSError) -> LakeError:
        reason = exc.strerror or str(exc)
        return LakeError(f"lake {self.url}: cannot {action} {key!r}: {reason} ({exc.filename or self.root})")

    def _write_atomically(self, dest: Path, source: IO[bytes]) -> None:
        """Copy ``source`` to a hidden temp file beside ``dest`` and rename it into place.

        The rename is atomic within one file system, so readers see the old object or the whole
        new one; on any failure the temp file is removed and nothing new becomes visible.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                # mkstemp makes 0600 files; lake objects are meant to be read by other processes and users.
                os.fchmod(out.fileno(), 0o644)
                shutil.copyfileobj(source, out, _COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_file(self, key: str, local_path: Path) -> None:
        dest = self._path(key)
        try:
            with open(local_path, "rb") as source:
                self._write_atomically(dest, source)
        except OSError as exc:
            raise self._fail("write", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        try:
            self._write_atomically(dest, io.BytesIO(data))
        except OSError as exc:
            raise self._fail("write", key, exc) from exc

    def create_bytes(self, key: str, data: bytes, *, retention: Retention | None = None) -> None:
        if retention is not None:
            raise LakeError(
                f"lake {self.url} cannot lock {key!r}: a local folder has no write-once storage "
                "(use an S3 bucket with Object Lock)"
            )
        dest = self._path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=dest.parent)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    # Read-only: a create-only object is meant never to change.
                    os.fchmod(out.fileno(), 0o444)
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                # link() fails if the name exists, where rename() would replace it: create-if-absent
                # and atomic visibility of the whole file in one call.
                os.link(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
        except FileExistsError as exc:
            raise LakeConflict(f"lake {self.url} already has an object {key!r}; it is never overwritten") from exc
        except OSError as exc:
            raise self._fail("write", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as f:
            return f.read()

    def open_read(self, key: str) -> IO[bytes]:
        path = self._path(key)
        try:
            return open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise LakeNotFound(f"lake {self.url} has no object {key!r}") from exc
        except OSError as exc:
            raise self._fail("read", key, exc) from exc

    def download(self, key: str, local_path: Path) -> None:
        with self.open_read(key) as source:
            try:
                self._write_atomically(Path(local_path), source)
            except OSError as exc:
                raise LakeError(f"lake {self.url}: cannot copy {key!r} to {local_path}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        check_key(prefix, prefix=True)
        # Walk only the folder the prefix is certainly inside, then filter by the string prefix.
        base = self.root / prefix.rpartition("/")[0]
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(TEMP_PREFIX)]
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.startswith(TEMP_PREFIX):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._fail("delete", key, exc) from exc

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def check_writable(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise LakeError(
                f"lake {self.url} cannot be written: {self.root} is a file, not a folder; "
                f"check {settings.LAKE_URL.name} (or SYNTHGOV_HOME) points to a folder"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # A temp-named probe: list() never shows it, even to a reader running at the same moment.
            fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise LakeError(
                f"lake {self.url} cannot be written: {exc.strerror or exc} ({exc.filename or self.root}); "
                "check that the folder exists and that this user may create files in it, "
                f"or set {settings.LAKE_URL.name}"
            ) from exc

    @property
    def namespace(self) -> str:
        return "file"

    def dataset_name(self, key: str) -> str:
        return str(self._path(key))
