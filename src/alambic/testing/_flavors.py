"""The model flavor conformance suite: a framework's models stored safely, loaded the same.

Each property is a function that raises :class:`~alambic.errors.ConformanceError`;
:class:`FlavorConformance` runs each as its own pytest test, and :func:`check_flavor`
runs them all in one call.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alambic.errors import ConformanceError, ModelError
from alambic.models import Flavor, dumps_model, flavor_for, get_flavor, loads_model

__all__ = ["check_flavor"]

Predict = Callable[[Any, Any], Any]


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    first, second = np.asarray(a), np.asarray(b)
    if first.shape != second.shape:
        return False
    if first.dtype.kind in "fc" or second.dtype.kind in "fc":
        return bool(np.allclose(first, second, equal_nan=True))
    return bool((first == second).all())


def _saved(flavor: Flavor, model: Any, folder: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    info = flavor.save(model, folder)
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    return info, files


def check_matches(flavor: Flavor, model: Any) -> None:
    """The flavor claims its models, and not an arbitrary object (it would hide the rest)."""
    if not flavor.matches(model):
        raise ConformanceError(f"{flavor.name!r}.matches() refuses {type(model).__name__}")
    if flavor.matches(object()):
        raise ConformanceError(
            f"{flavor.name!r}.matches() accepts any object: it would take every model "
            "from the flavors after it"
        )


def check_registered(flavor: Flavor, model: Any) -> None:
    """It is found by name (to load) and chosen for its models (to save)."""
    try:
        by_name = get_flavor(flavor.name)
    except ModelError:
        by_name = None
    if by_name is not flavor:
        raise ConformanceError(
            f"{flavor.name!r} is not the registered flavor of that name: register it with "
            "alambic.models.register_flavor (or the alambic.flavors entry points)"
        )
    chosen = flavor_for(model, allow_pickle=True)
    if chosen is not flavor:
        raise ConformanceError(
            f"a {type(model).__name__} is stored by {chosen.name!r}, not {flavor.name!r}"
        )


def check_saves_safely(flavor: Flavor, model: Any) -> None:
    """Save writes files into the folder it is given and describes them in JSON."""
    with tempfile.TemporaryDirectory(prefix="alambic-flavor-") as folder:
        info, files = _saved(flavor, model, Path(folder))
    if not files:
        raise ConformanceError(f"{flavor.name!r}.save() wrote no file")
    try:
        json.dumps(info)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(
            f"{flavor.name!r}.save() returned {info!r}, not JSON: {exc}"
        ) from exc


def check_deterministic(flavor: Flavor, model: Any) -> None:
    """The same model gives the same files (so registering it twice is one version)."""
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        first, second = _saved(flavor, model, Path(a)), _saved(flavor, model, Path(b))
    if first != second:
        raise ConformanceError(f"{flavor.name!r} wrote different files for the same model")


def check_round_trip(flavor: Flavor, model: Any, features: Any, predict: Predict) -> None:
    """What is loaded back predicts what the model predicted."""
    with tempfile.TemporaryDirectory(prefix="alambic-flavor-") as folder:
        info, _ = _saved(flavor, model, Path(folder))
        loaded = flavor.load(Path(folder), json.loads(json.dumps(info)), [])
    if not _same(predict(loaded, features), predict(model, features)):
        raise ConformanceError(f"the {flavor.name!r} model loaded back predicts differently")


def check_packaged(flavor: Flavor, model: Any, features: Any, predict: Predict) -> None:
    """A model package (what the registry stores) names the flavor and loads back."""
    data, manifest = dumps_model(model)
    if manifest["flavor"] != flavor.name:
        raise ConformanceError(f"the package names flavor {manifest['flavor']!r}")
    loaded = loads_model(data)
    if not _same(predict(loaded.estimator, features), predict(model, features)):
        raise ConformanceError(f"the packaged {flavor.name!r} model predicts differently")


def check_flavor(
    flavor: Flavor, model: Any, features: Any, *, predict: Predict | None = None
) -> None:
    """Run every flavor check on a registered flavor and one of its trained models.

    Args:
        flavor: the registered flavor.
        model: a trained model it stores.
        features: rows the model predicts on.
        predict: ``predict(model, features)`` (default: ``model.predict(features)``).

    Raises:
        ConformanceError: the first property that does not hold.
    """
    call = predict or (lambda m, x: m.predict(x))
    check_matches(flavor, model)
    check_registered(flavor, model)
    check_saves_safely(flavor, model)
    check_deterministic(flavor, model)
    check_round_trip(flavor, model, features, call)
    check_packaged(flavor, model, features, call)
