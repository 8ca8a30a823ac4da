"""The materializer conformance suite: a step output stored and loaded back faithfully.

Each property is a function that raises :class:`~alambic.errors.ConformanceError`;
:class:`MaterializerConformance` runs each as its own pytest test, and
:func:`check_materializer` runs them all in one call.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alambic.errors import ConformanceError, MaterializerError
from alambic.store import (
    ArtifactStore,
    Materializer,
    find_materializer,
    get_materializer,
    load_value,
    save_value,
)

__all__ = ["check_materializer"]

Equal = Callable[[Any, Any], bool]


def _default_equal(a: Any, b: Any) -> bool:
    return bool(a == b)


def check_registered(materializer: Materializer) -> None:
    """The materializer is registered under its name (artifacts name it to load)."""
    try:
        found = get_materializer(materializer.name, allow_pickle=True)
    except MaterializerError:
        found = None
    if found is not materializer:
        raise ConformanceError(
            f"{materializer.name!r} is not the registered materializer of that name: register "
            "it with alambic.store.register_materializer (or the alambic.materializers entry "
            "points)"
        )


def check_chosen_for_its_samples(materializer: Materializer, samples: list[Any]) -> None:
    """Each sample is stored by this materializer (it is registered, and accepts them)."""
    for sample in samples:
        try:
            chosen = find_materializer(sample).name
        except MaterializerError:
            chosen = "none"
        if chosen != materializer.name:
            raise ConformanceError(
                f"{type(sample).__name__} sample went to {chosen!r}, not "
                f"{materializer.name!r}: is it registered, and does can_save accept it?"
            )


def check_deterministic(
    store: ArtifactStore, materializer: Materializer, samples: list[Any]
) -> None:
    """The same value gives the same bytes (so a cache of its content can hit)."""
    for sample in samples:
        if save_value(store, sample).hash != save_value(store, sample).hash:
            raise ConformanceError(
                f"{materializer.name!r} wrote different bytes for the same value: the "
                "cache could never hit; make save deterministic"
            )


def check_round_trip(
    store: ArtifactStore, materializer: Materializer, samples: list[Any], equal: Equal
) -> None:
    """What is loaded back equals what was stored."""
    for sample in samples:
        loaded = load_value(store, save_value(store, sample))
        if not equal(loaded, sample):
            raise ConformanceError(
                f"{materializer.name!r} did not round-trip {sample!r}: got {loaded!r}"
            )


def check_materializer(
    materializer: Materializer, samples: list[Any], *, equal: Equal | None = None
) -> None:
    """Check that ``materializer`` is chosen for its samples and round-trips them.

    Args:
        materializer: a registered materializer instance.
        samples: values of the types it handles.
        equal: how to compare a sample with what comes back (default ``==``).

    Raises:
        ConformanceError: the first property that does not hold.
    """
    same = equal or _default_equal
    check_chosen_for_its_samples(materializer, samples)
    with tempfile.TemporaryDirectory(prefix="alambic-check-") as folder:
        store = ArtifactStore(str(Path(folder) / "artifacts"))
        check_deterministic(store, materializer, samples)
        check_round_trip(store, materializer, samples, same)
