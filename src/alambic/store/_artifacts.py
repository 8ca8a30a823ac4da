"""The content-addressed artifact store, on any fsspec file system.

An artifact is one blob named by the sha256 of its bytes
(``objects/ab/abcdef…``). Writes are atomic: on a local disk the blob is written to
a temporary name in the same folder and renamed; object stores (S3, GCS, Azure)
publish an object only once it is complete. Every read checks the hash, so a blob
changed on disk is refused, never silently used.

Example:
    >>> import tempfile
    >>> store = ArtifactStore(tempfile.mkdtemp())  # or "s3://bucket/prefix"
    >>> key = store.put_bytes(b"hello")
    >>> key[:12], store.get_bytes(key)
    ('2cf24dba5fb0', b'hello')
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alambic.core import sha256_bytes, sha256_file, sha256_stream
from alambic.errors import ArtifactError, IntegrityError

__all__ = ["ArtifactStore"]

_CHUNK = 1 << 20


class ArtifactStore:
    """Content-addressed blobs under ``url`` (a local path or any fsspec URL).

    Args:
        url: where artifacts live, for example ``/data/alambic/artifacts`` or
            ``s3://bucket/alambic``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.local = "://" not in url or url.startswith("file://")
        self._fs: Any = None
        if self.local:
            # Plain os calls on a local disk: no fsspec import in every worker.
            self.root = os.path.abspath(url.removeprefix("file://"))
            return
        try:
            import fsspec

            self._fs, self.root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise ArtifactError(
                f"cannot open the artifact store {url!r}: {exc}; install the fsspec backend "
                "for this protocol (for example s3fs for s3://)"
            ) from exc

    @property
    def fs(self) -> Any:
        """The fsspec file system (created on first use for a local store)."""
        if self._fs is None:
            from fsspec.implementations.local import LocalFileSystem

            self._fs = LocalFileSystem()
        return self._fs

    def path(self, key: str) -> str:
        """Return the backend path of the blob ``key``."""
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ArtifactError(f"{key!r} is not an artifact hash (64 hex digits)")
        return f"{self.root.rstrip('/')}/objects/{key[:2]}/{key}"

    def exists(self, key: str) -> bool:
        """Return whether the blob ``key`` is present."""
        if self.local:
            return os.path.exists(self.path(key))
        return bool(self.fs.exists(self.path(key)))

    # -- writing ---------------------------------------------------------------------
    def put_file(self, local_path: str | Path, *, key: str | None = None) -> str:
        """Store a local file; return its hash. Storing the same content twice is free."""
        key = key or sha256_file(local_path)
        target = self.path(key)
        if self.exists(key):
            return key
        if self.local:
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            temp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
            try:
                shutil.copyfile(local_path, temp)
                os.replace(temp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
        else:
            # Object stores make an object visible only once its upload completes.
            self.fs.put_file(str(local_path), target)
        return key

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; return their hash."""
        key = sha256_bytes(data)
        if self.exists(key):
            return key
        if self.local:
            target = self.path(key)
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            temp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
            try:
                with open(temp, "wb") as handle:
                    handle.write(data)
                os.replace(temp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
            return key
        with tempfile.NamedTemporaryFile(delete=False) as spool:
            spool.write(data)
        try:
            return self.put_file(spool.name, key=key)
        finally:
            os.unlink(spool.name)

    # -- reading ---------------------------------------------------------------------
    def _missing(self, key: str) -> ArtifactError:
        return ArtifactError(
            f"artifact {key} is missing from {self.url}; it was deleted or the store moved. "
            "Re-run the step that made it (alambic resume re-executes steps whose outputs are gone)"
        )

    def _corrupt(self, key: str, actual: str) -> IntegrityError:
        return IntegrityError(
            f"artifact {key} is corrupted: its content now hashes to {actual}, not {key}. "
            f"It will not be used; delete {self.path(key)} and re-run the step that made it"
        )

    def get_bytes(self, key: str) -> bytes:
        """Return the bytes of ``key`` after checking their hash."""
        try:
            if self.local:
                with open(self.path(key), "rb") as stream:
                    data: bytes = stream.read()
            else:
                data = self.fs.cat_file(self.path(key))
        except FileNotFoundError:
            raise self._missing(key) from None
        actual = sha256_bytes(data)
        if actual != key:
            raise self._corrupt(key, actual)
        return data

    def verify(self, key: str) -> None:
        """Check that the blob ``key`` is present and intact."""
        try:
            opener = open if self.local else self.fs.open
            with opener(self.path(key), "rb") as stream:
                actual = sha256_stream(stream)
        except FileNotFoundError:
            raise self._missing(key) from None
        if actual != key:
            raise self._corrupt(key, actual)

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        """Yield a local, verified copy of the blob (the blob itself on a local disk).

        The file must be treated as read-only.
        """
        if self.local:
            path = Path(self.path(key))
            self.verify(key)
            yield path
            return
        with tempfile.TemporaryDirectory(prefix="alambic-") as folder:
            path = Path(folder) / key
            digest = hashlib.sha256()
            try:
                with self.fs.open(self.path(key), "rb") as source, open(path, "wb") as target:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        target.write(chunk)
            except FileNotFoundError:
                raise self._missing(key) from None
            if digest.hexdigest() != key:
                raise self._corrupt(key, digest.hexdigest())
            yield path
