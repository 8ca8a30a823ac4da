"""Model flavors: how each framework's models are written and read, without pickle.

- scikit-learn estimators and pipelines: skops (only trusted types load back);
- LightGBM: the booster's native text format;
- XGBoost: its UBJSON format;
- anything else: cloudpickle, only when the caller opts in.

Flavors are plugins: :func:`register_flavor` adds one, tried before the built-ins
(``alambic.flavors`` is the entry-point group for third-party packages), and the
conformance suite :class:`alambic.testing.FlavorConformance` checks it.

Example:
    >>> from alambic.models import flavor_registry
    >>> sorted(flavor_registry.names())
    ['lightgbm', 'sklearn', 'xgboost']
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from alambic.core import BUILTIN, USER, PluginRegistry
from alambic.errors import ModelError

__all__ = ["Flavor", "flavor_for", "flavor_registry", "get_flavor", "register_flavor"]

# Types from these packages are rebuilt by skops from data, never by running stored code;
# and AutoML's own estimators, named one by one (not the package: it holds functions).
TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "builtins.",
    "lightgbm.",
    "xgboost.",
    "catboost.",
    "alambic.automl._transformers.DateParts",
    "alambic.automl._transformers.EncodedLabels",
    "alambic.automl._ensemble.Ensemble",
    "alambic.automl._ensemble.Stacked",
)


@functools.cache  # installed versions do not change under a running process
def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Flavor(ABC):
    """Writes and reads the models of one framework."""

    name: ClassVar[str]
    packages: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def matches(self, model: Any) -> bool:
        """Whether this flavor can store ``model``."""

    @abstractmethod
    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Write the model into ``folder``; return what :meth:`load` needs."""

    @abstractmethod
    def load(self, folder: Path, info: dict[str, Any], trusted: list[str]) -> Any:
        """Read the model back."""

    def versions(self) -> dict[str, str]:
        """Versions of the packages this flavor depends on."""
        return {package: _version(package) for package in self.packages}


def _module_of(model: Any) -> str:
    return type(model).__module__.split(".")[0]


def _zeroed_padding(content: bytes) -> bytes:
    """An ``.npy`` file whose structured array has padding (a tree's nodes), with that
    padding zeroed: a model loaded back holds whatever the memory held there."""
    import io

    import numpy as np

    array = np.load(io.BytesIO(content), allow_pickle=False)
    fields = array.dtype.fields
    if not fields or sum(f[0].itemsize for f in fields.values()) == array.dtype.itemsize:
        return content
    clean = np.zeros(array.shape, dtype=array.dtype)
    for name in fields:
        clean[name] = array[name]
    out = io.BytesIO()
    np.save(out, clean, allow_pickle=False)
    return out.getvalue()


def _stable_zip(data: bytes) -> bytes:
    """The same skops archive, made deterministic so that equal models give equal bytes.

    skops names objects and array files after ``id()`` of the objects, which changes from
    one dump to the next: renumber them in order of appearance, and fix entry dates. The
    padding of structured arrays is zeroed, so that a model loaded and saved again gives
    the bytes it was loaded from.
    """
    import io
    import re
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    for name, content in entries.items():
        if name.endswith(".npy"):
            entries[name] = _zeroed_padding(content)
    schema = entries.pop("schema.json").decode("utf-8")
    ids = re.findall(r'"__id__": (\d+)', schema)
    ids += [name.split(".")[0] for name in entries if name.split(".")[0].isdigit()]
    known = set(ids)  # a big model's schema holds thousands: look them up in a set
    numbering: dict[str, str] = {}
    for found in re.finditer(r"\d{6,}", schema):  # the order they appear in the schema
        if found.group() in known:
            numbering.setdefault(found.group(), str(len(numbering) + 1))
    for old in ids:
        numbering.setdefault(old, str(len(numbering) + 1))
    schema = re.sub(r"\d{6,}", lambda m: numbering.get(m.group(), m.group()), schema)
    renamed = {}
    for name, content in entries.items():
        stem, dot, suffix = name.partition(".")
        renamed[f"{numbering.get(stem, stem)}{dot}{suffix}"] = content
    renamed["schema.json"] = schema.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(renamed):
            entry = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, renamed[name])
    return out.getvalue()


class SklearnFlavor(Flavor):
    name = "sklearn"
    packages = ("scikit-learn", "skops", "numpy")

    def matches(self, model: Any) -> bool:
        # scikit-learn's estimators, and AutoML's (its ensembles are estimators too)
        ours = type(model).__module__.startswith("alambic.automl.")
        sklearn = _module_of(model) == "sklearn" or ours
        base = importlib.import_module("sklearn.base") if sklearn else None
        return base is not None and isinstance(model, base.BaseEstimator)

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        import skops.io as sio

        (folder / "model.skops").write_bytes(_stable_zip(sio.dumps(model)))
        return {"file": "model.skops"}

    def load(self, folder: Path, info: dict[str, Any], trusted: list[str]) -> Any:
        import skops.io as sio

        path = folder / info["file"]
        untrusted = sio.get_untrusted_types(file=path)
        refused = [
            t
            for t in untrusted
            if not t.startswith(TRUSTED_PREFIXES) and t not in trusted and "*" not in trusted
        ]
        if refused:
            raise ModelError(
                f"refusing to load a model holding untrusted types {refused}: they could run "
                "code. If you trust where this model comes from, pass trusted=[...] with them"
            )
        return sio.load(path, trusted=untrusted)


class _BoosterClassifier:
    """A LightGBM booster answering like a scikit-learn classifier (predict, predict_proba)."""

    def __init__(self, booster: Any, classes: list[Any]) -> None:
        self.booster_ = booster
        self.classes_ = classes

    def predict_proba(self, features: Any) -> Any:
        import numpy as np

        raw = np.asarray(self.booster_.predict(features))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, features: Any) -> Any:
        import numpy as np

        return np.asarray(self.classes_)[self.predict_proba(features).argmax(axis=1)]


class _BoosterRegressor:
    def __init__(self, booster: Any) -> None:
        self.booster_ = booster

    def predict(self, features: Any) -> Any:
        return self.booster_.predict(features)


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    packages = ("lightgbm", "numpy")

    def matches(self, model: Any) -> bool:
        if _module_of(model) != "lightgbm" and not isinstance(
            model, _BoosterClassifier | _BoosterRegressor
        ):
            return False
        return hasattr(model, "booster_") or type(model).__name__ == "Booster"

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        booster = model if type(model).__name__ == "Booster" else model.booster_
        booster.save_model(str(folder / "model.txt"))
        classes = getattr(model, "classes_", None)
        return {
            "file": "model.txt",
            "classes": None
            if classes is None
            else [c.item() if hasattr(c, "item") else c for c in classes],
        }

    def load(self, folder: Path, info: dict[str, Any], trusted: list[str]) -> Any:
        import lightgbm

        booster = lightgbm.Booster(model_file=str(folder / info["file"]))
        if info.get("classes") is not None:
            return _BoosterClassifier(booster, info["classes"])
        return _BoosterRegressor(booster)


class XGBoostFlavor(Flavor):
    name = "xgboost"
    packages = ("xgboost", "numpy")

    def matches(self, model: Any) -> bool:
        return _module_of(model) == "xgboost" and hasattr(model, "save_model")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        model.save_model(str(folder / "model.ubj"))
        return {"file": "model.ubj", "class": f"{type(model).__module__}.{type(model).__name__}"}

    def load(self, folder: Path, info: dict[str, Any], trusted: list[str]) -> Any:
        import xgboost

        name = info["class"].rsplit(".", 1)[1]
        if not hasattr(xgboost, name):
            raise ModelError(f"xgboost has no model class {name}; is the xgboost version right?")
        model = getattr(xgboost, name)()
        model.load_model(str(folder / info["file"]))
        return model


class PickleFlavor(Flavor):
    name = "cloudpickle"
    packages = ("cloudpickle",)

    def matches(self, model: Any) -> bool:
        return True

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        import cloudpickle

        (folder / "model.pkl").write_bytes(cloudpickle.dumps(model))
        return {"file": "model.pkl"}

    def load(self, folder: Path, info: dict[str, Any], trusted: list[str]) -> Any:
        import cloudpickle

        return cloudpickle.loads((folder / info["file"]).read_bytes())


PICKLE = PickleFlavor()


def _checked(flavor: Any) -> Flavor:
    """A flavor instance (a class is instantiated) with a name."""
    if isinstance(flavor, type) and issubclass(flavor, Flavor):
        flavor = flavor()
    if not isinstance(flavor, Flavor) or not getattr(flavor, "name", None):
        raise ModelError(f"{flavor!r} is not a Flavor with a name; subclass alambic.models.Flavor")
    return flavor


flavor_registry: PluginRegistry[Flavor] = PluginRegistry(
    "model flavor", error=ModelError, group="alambic.flavors", adapt=_checked
)
flavor_registry.register_all(
    [(f.name, f) for f in (SklearnFlavor(), LightGBMFlavor(), XGBoostFlavor())],
    precedence=BUILTIN,
)


def register_flavor(flavor: Flavor) -> Flavor:
    """Add a flavor, tried before the built-ins (one of the same name is replaced).

    Example:
        >>> class Plain(Flavor):
        ...     name = "doctest-plain"
        ...     def matches(self, model): return False
        ...     def save(self, model, folder): return {}
        ...     def load(self, folder, info, trusted): return None
        >>> register_flavor(Plain()).name
        'doctest-plain'
        >>> flavor_registry.unregister("doctest-plain")
    """
    checked = _checked(flavor)
    if checked.name == PICKLE.name:
        raise ModelError(f"{checked.name!r} is a built-in flavor name; choose another name")
    flavor_registry.register(checked.name, checked, precedence=USER)
    return checked


def flavor_for(model: Any, *, allow_pickle: bool = False) -> Flavor:
    """The flavor that stores ``model``.

    Raises:
        ModelError: no safe flavor fits and pickle was not allowed.
    """
    found = flavor_registry.first(lambda flavor: flavor.matches(model))
    if found is not None:
        return found
    if allow_pickle:
        return PICKLE
    raise ModelError(
        f"no safe format for a {type(model).__module__}.{type(model).__name__}: alambic stores "
        "scikit-learn (skops), LightGBM (text) and XGBoost (UBJSON) models. Register a flavor "
        "for it, or opt in to pickle with allow_pickle=True"
    )


def get_flavor(name: str, *, allow_pickle: bool = False) -> Flavor:
    """The flavor called ``name``.

    Raises:
        ModelError: unknown, or a pickle that was not allowed.
    """
    if name == PICKLE.name:
        if not allow_pickle:
            raise ModelError(
                "this model was pickled: loading it runs code; pass allow_pickle=True "
                "only if you trust where it comes from"
            )
        return PICKLE
    return flavor_registry.get(name)


def describe(info: dict[str, Any]) -> str:
    """One line about a stored model (for listings)."""
    return json.dumps({k: info[k] for k in ("flavor", "size_bytes") if k in info})
