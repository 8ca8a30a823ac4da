"""Values in and out of the artifact store, through their materializer."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alambic.errors import AlambicError, MaterializerError
from alambic.store._artifacts import ArtifactStore
from alambic.store._materializers import find_materializer, get_materializer, type_name

__all__ = ["ArtifactRef", "load_value", "save_value"]


@dataclass(frozen=True)
class ArtifactRef:
    """How to find and read a stored value: its hash and the materializer that wrote it."""

    hash: str
    materializer: str
    type_name: str
    size: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form (stored in step runs and sent to workers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactRef:
        """Rebuild a reference from :meth:`to_dict`'s output."""
        return cls(**data)


def save_value(
    store: ArtifactStore, value: Any, *, allow_pickle: bool = False, what: str = "value"
) -> ArtifactRef:
    """Materialize ``value`` into one file and store it; return its reference.

    Raises:
        MaterializerError: no materializer handles the value (and pickle is not allowed).
    """
    materializer = find_materializer(value, allow_pickle=allow_pickle, what=what)
    with _translated(materializer.name, value, what):
        quick = materializer.dumps(value)
    if quick is not None:
        data, meta = quick
        key = store.put_bytes(data)
        return ArtifactRef(key, materializer.name, type_name(value), len(data), meta)
    with tempfile.TemporaryDirectory(prefix="alambic-save-") as folder:
        path = Path(folder) / "value"
        with _translated(materializer.name, value, what):
            meta = materializer.save(value, path) or {}
        size = os.path.getsize(path)
        key = store.put_file(path)
    return ArtifactRef(key, materializer.name, type_name(value), size, meta)


@contextlib.contextmanager
def _translated(name: str, value: Any, what: str) -> Iterator[None]:
    """A materializer's own failure (not the store's) becomes a MaterializerError."""
    try:
        yield
    except AlambicError:
        raise
    except Exception as exc:
        raise MaterializerError(
            f"{what} ({type_name(value)}) could not be stored by the {name!r} materializer: "
            f"{type(exc).__name__}: {exc}. Convert it to a type it supports, or register a "
            "materializer of your own (alambic.store.register_materializer)"
        ) from exc


def load_value(store: ArtifactStore, ref: ArtifactRef, *, allow_pickle: bool = False) -> Any:
    """Load a stored value after checking its hash.

    Raises:
        IntegrityError: the blob no longer matches its hash.
        MaterializerError: its materializer is not registered, or it is a pickle and
            pickle is not allowed.
    """
    materializer = get_materializer(ref.materializer, allow_pickle=allow_pickle)
    with store.local_file(ref.hash) as path:
        return materializer.load_with_meta(path, ref.meta)
