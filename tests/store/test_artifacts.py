"""The content-addressed artifact store, on a local disk and on an fsspec object store."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from alambic.errors import ArtifactError, IntegrityError
from alambic.store import ArtifactStore


@pytest.fixture
def local_store(tmp_path: Path) -> ArtifactStore:
    """A fresh store on the local disk (atomic rename branch)."""
    return ArtifactStore(str(tmp_path / "artifacts"))


@pytest.fixture
def memory_store() -> Iterator[ArtifactStore]:
    """A fresh store on fsspec's in-memory file system (the object-store branch)."""
    memory = ArtifactStore(f"memory://alambic-test-{uuid.uuid4().hex}")
    yield memory
    if memory.fs.exists(memory.root):
        memory.fs.rm(memory.root, recursive=True)


@pytest.fixture(params=["local_store", "memory_store"], ids=["local", "memory"])
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    """Each test using it runs on both branches of ArtifactStore."""
    return request.getfixturevalue(request.param)


def _blobs(store: ArtifactStore) -> list[str]:
    """Every file under the store's objects folder (hidden temporary files included)."""
    return sorted(store.fs.find(f"{store.root.rstrip('/')}/objects", withdirs=False))


def _read_with(store: ArtifactStore, reader: str, key: str) -> bytes:
    if reader == "get_bytes":
        return store.get_bytes(key)
    if reader == "verify":
        store.verify(key)
        return b""
    with store.local_file(key) as path:
        return path.read_bytes()


READERS = ["get_bytes", "verify", "local_file"]


def test_backends_take_the_expected_branch(
    local_store: ArtifactStore, memory_store: ArtifactStore
) -> None:
    assert local_store.local is True
    assert memory_store.local is False
    assert memory_store.root.startswith("/alambic-test-")


# -- writing and reading -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", bytes(range(256)) * 10, b"\x00" * ((1 << 20) + 7)],
    ids=["empty", "small", "binary", "over-one-chunk"],
)
def test_put_bytes_get_bytes_round_trip(store: ArtifactStore, data: bytes) -> None:
    key = store.put_bytes(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert store.exists(key)
    assert store.get_bytes(key) == data
    store.verify(key)
    with store.local_file(key) as path:
        assert path.read_bytes() == data


def test_same_content_is_stored_once_under_the_same_key(store: ArtifactStore) -> None:
    first = store.put_bytes(b"same")
    second = store.put_bytes(b"same")
    other = store.put_bytes(b"other")
    assert first == second != other
    assert len(_blobs(store)) == 2


def test_blobs_are_laid_out_by_hash_prefix(store: ArtifactStore) -> None:
    key = store.put_bytes(b"layout")
    assert store.path(key).endswith(f"/objects/{key[:2]}/{key}")
    assert [Path(p).name for p in _blobs(store)] == [key]


def test_put_file_stores_a_local_file_under_its_hash(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 1000)
    key = store.put_file(source)
    assert key == hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.put_file(str(source)) == key
    assert store.put_bytes(source.read_bytes()) == key
    assert store.get_bytes(key) == source.read_bytes()
    assert source.exists(), "the source file is copied, not moved"
    assert len(_blobs(store)) == 1


def test_exists_is_false_for_an_unknown_key(store: ArtifactStore) -> None:
    key = hashlib.sha256(b"never stored").hexdigest()
    assert store.exists(key) is False
    store.put_bytes(b"never stored")
    assert store.exists(key) is True


def test_local_file_of_a_local_store_is_the_blob_itself(local_store: ArtifactStore) -> None:
    key = local_store.put_bytes(b"in place")
    with local_store.local_file(key) as path:
        assert path == Path(local_store.path(key))


def test_local_file_of_an_object_store_is_a_temporary_copy(memory_store: ArtifactStore) -> None:
    key = memory_store.put_bytes(b"copied")
    with memory_store.local_file(key) as path:
        assert path.read_bytes() == b"copied"
    assert not path.exists(), "the temporary copy is removed afterwards"


# -- integrity -----------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_a_changed_blob_is_refused(store: ArtifactStore, reader: str) -> None:
    key = store.put_bytes(b"the real content")
    tampered = b"the fake content"
    store.fs.pipe_file(store.path(key), tampered)
    with pytest.raises(IntegrityError) as caught:
        _read_with(store, reader, key)
    message = str(caught.value)
    assert f"artifact {key} is corrupted" in message
    assert f"hashes to {hashlib.sha256(tampered).hexdigest()}" in message
    assert "re-run the step" in message


@pytest.mark.parametrize("reader", READERS)
def test_a_truncated_blob_on_disk_is_refused(local_store: ArtifactStore, reader: str) -> None:
    key = local_store.put_bytes(b"0123456789" * 100)
    with open(local_store.path(key), "r+b") as blob:
        blob.truncate(10)
    with pytest.raises(IntegrityError, match=key):
        _read_with(local_store, reader, key)


@pytest.mark.parametrize("reader", READERS)
def test_a_missing_blob_is_reported_as_missing(store: ArtifactStore, reader: str) -> None:
    key = store.put_bytes(b"soon gone")
    store.fs.rm(store.path(key))
    with pytest.raises(ArtifactError, match="is missing") as caught:
        _read_with(store, reader, key)
    assert not isinstance(caught.value, IntegrityError)
    assert key in str(caught.value)
    assert store.url in str(caught.value)


def test_storing_again_after_a_blob_went_missing_restores_it(store: ArtifactStore) -> None:
    key = store.put_bytes(b"restore me")
    store.fs.rm(store.path(key))
    assert store.put_bytes(b"restore me") == key
    assert store.get_bytes(key) == b"restore me"


# -- atomic writes -------------------------------------------------------------------


def test_writes_leave_no_temporary_files(local_store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"file")
    keys = {local_store.put_bytes(bytes([i]) * i) for i in range(20)}
    keys.add(local_store.put_file(source))
    keys.add(local_store.put_bytes(b"file"))
    names = [Path(p).name for p in _blobs(local_store)]
    assert sorted(names) == sorted(keys)
    assert not [n for n in names if n.startswith(".tmp-")]


@pytest.mark.parametrize("writer", ["put_bytes", "put_file"])
def test_a_write_that_fails_before_publishing_leaves_nothing_behind(
    local_store: ArtifactStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, writer: str
) -> None:
    data = b"never published"
    source = tmp_path / "source"
    source.write_bytes(data)

    def write() -> str:
        return (
            local_store.put_bytes(data) if writer == "put_bytes" else local_store.put_file(source)
        )

    def crash(*_: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)  # the last step: the rename that publishes
        with pytest.raises(OSError, match="disk full"):
            write()
    key = hashlib.sha256(data).hexdigest()
    assert not local_store.exists(key)
    assert _blobs(local_store) == [], "neither the blob nor a .tmp- file is left"
    assert write() == key
    assert local_store.get_bytes(key) == data


# -- keys and URLs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "abc",
        "A" * 64,
        "g" * 64,
        "0" * 63,
        "0" * 65,
        "../" * 21 + "0",
        "",
    ],
    ids=["short", "upper-case", "not-hex", "63-digits", "65-digits", "traversal", "empty"],
)
def test_a_key_that_is_not_64_hex_digits_is_refused(store: ArtifactStore, key: str) -> None:
    for use in (store.path, store.exists, store.get_bytes, store.verify):
        with pytest.raises(ArtifactError, match="is not an artifact hash"):
            use(key)
    with pytest.raises(ArtifactError, match="is not an artifact hash"), store.local_file(key):
        pass


def test_an_unknown_protocol_names_the_url() -> None:
    with pytest.raises(ArtifactError, match="nosuchproto://bucket") as caught:
        ArtifactStore("nosuchproto://bucket/alambic")
    assert "install the fsspec backend" in str(caught.value)
