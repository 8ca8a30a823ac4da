"""The materializer conformance check (see :func:`check_materializer`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alambic.errors import AlambicError, MaterializerError
from alambic.store import ArtifactStore, Materializer, load_value, save_value
from alambic.store._materializers import find_materializer


class MaterializerConformanceError(AlambicError):
    """A materializer does not store and load values faithfully."""


def check_materializer(
    materializer: Materializer,
    samples: list[Any],
    *,
    equal: Callable[[Any, Any], bool] | None = None,
) -> None:
    """Check that ``materializer`` is registered, chosen for its samples, and round-trips them.

    Args:
        materializer: a registered materializer instance.
        samples: values of the types it handles.
        equal: how to compare a sample with what comes back (default ``==``).

    Raises:
        MaterializerConformanceError: on the first problem found.
    """
    same = equal or (lambda a, b: bool(a == b))
    with tempfile.TemporaryDirectory(prefix="alambic-check-") as folder:
        store = ArtifactStore(str(Path(folder) / "artifacts"))
        for sample in samples:
            try:
                chosen_name = find_materializer(sample).name
            except MaterializerError:
                chosen_name = "none"
            if chosen_name != materializer.name:
                raise MaterializerConformanceError(
                    f"{type(sample).__name__} sample went to {chosen_name!r}, not "
                    f"{materializer.name!r}: is it registered, and does can_save accept it?"
                )
            ref = save_value(store, sample)
            again = save_value(store, sample)
            if again.hash != ref.hash:
                raise MaterializerConformanceError(
                    f"{materializer.name!r} wrote different bytes for the same value: the "
                    "cache could never hit; make save deterministic"
                )
            loaded = load_value(store, ref)
            if not same(loaded, sample):
                raise MaterializerConformanceError(
                    f"{materializer.name!r} did not round-trip {sample!r}: got {loaded!r}"
                )
