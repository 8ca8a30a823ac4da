"""A packaged model: the estimator, its signature, its flavor, versions and size.

A package is one deterministic zip (same model, same bytes), so it lives in the
content-addressed artifact store like any value and can be cached.

Example:
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> model = package(LogisticRegression(max_iter=5000).fit(x, y), x, y)
    >>> path = save_model(model, "model.zip")
    >>> loaded = load_model(path)
    >>> loaded.flavor, loaded.signature.task, bool((loaded.predict(x) == model.predict(x)).all())
    ('sklearn', 'binary', True)
"""

from __future__ import annotations

import io
import json
import platform
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alambic.errors import ModelError
from alambic.models._flavors import flavor_for, get_flavor
from alambic.models._signature import Signature, infer_signature

__all__ = [
    "Model",
    "dumps_model",
    "load_model",
    "loads_model",
    "package",
    "package_manifest",
    "save_model",
]

_MANIFEST = "alambic-model.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class Model:
    """A trained model with what serving and the registry need to know about it.

    Attributes:
        estimator: the framework's model object.
        signature: its inputs and outputs, when known.
        flavor: how it is stored (``sklearn``, ``lightgbm``, ``xgboost``…).
        versions: framework and Python versions it was saved with.
        size_bytes: the size of the stored model files.
        metadata: anything JSON-able (hyperparameters, scores…).
    """

    estimator: Any
    signature: Signature | None = None
    flavor: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict(self, features: Any) -> Any:
        """Predict, after checking the input columns against the signature."""
        if self.signature is not None and hasattr(features, "columns"):
            self.signature.check(features)
            features = features[[name for name, _ in self.signature.inputs]]
        return self.estimator.predict(features)

    def predict_proba(self, features: Any) -> Any:
        """Class probabilities, after checking the input columns."""
        if not hasattr(self.estimator, "predict_proba"):
            raise ModelError(f"a {type(self.estimator).__name__} gives no probabilities")
        if self.signature is not None and hasattr(features, "columns"):
            self.signature.check(features)
            features = features[[name for name, _ in self.signature.inputs]]
        return self.estimator.predict_proba(features)


def package(
    estimator: Any,
    features: Any = None,
    target: Any = None,
    *,
    signature: Signature | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Wrap a trained estimator, inferring its signature from training data.

    Raises:
        ModelError: the estimator is not of a type alambic can store safely.
    """
    if signature is None and features is not None:
        signature = infer_signature(features, target, model=estimator)
    flavor = flavor_for(estimator, allow_pickle=True)
    versions = {"python": platform.python_version(), **flavor.versions()}
    # size_bytes is known once the model is saved (or loaded): serialising it here as
    # well would double the cost of every registration.
    return Model(estimator, signature, flavor.name, versions, metadata=dict(metadata or {}))


def dumps_model(model: Model | Any, *, allow_pickle: bool = False) -> tuple[bytes, dict[str, Any]]:
    """Serialise a model (or a bare estimator) to zip bytes and its manifest."""
    if not isinstance(model, Model):
        model = Model(model)
    flavor = flavor_for(model.estimator, allow_pickle=allow_pickle)
    with tempfile.TemporaryDirectory(prefix="alambic-model-") as folder:
        info = flavor.save(model.estimator, Path(folder))
        files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in files)
        manifest = {
            "format": 1,
            "flavor": flavor.name,
            "info": info,
            "signature": None if model.signature is None else model.signature.to_dict(),
            "versions": {"python": platform.python_version(), **flavor.versions()},
            "size_bytes": size,
            "metadata": model.metadata,
            "type": f"{type(model.estimator).__module__}.{type(model.estimator).__qualname__}",
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:  # fixed order and dates: equal models give equal bytes
                entry = zipfile.ZipInfo(str(path.relative_to(folder)), _EPOCH)
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
            entry = zipfile.ZipInfo(_MANIFEST, _EPOCH)
            archive.writestr(entry, json.dumps(manifest, sort_keys=True, default=str))
    return buffer.getvalue(), manifest


def package_manifest(data: bytes) -> dict[str, Any]:
    """What a model package says of itself (flavor, signature, versions), unloaded.

    Raises:
        ModelError: not a model package.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest: dict[str, Any] = json.loads(archive.read(_MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise ModelError(f"not an alambic model package: no readable {_MANIFEST}") from None
    return manifest


def loads_model(
    data: bytes, *, trusted: list[str] | None = None, allow_pickle: bool = False
) -> Model:
    """Read a model from zip bytes made by :func:`dumps_model`.

    Raises:
        ModelError: not a model package, untrusted types, or a pickle not allowed.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ModelError("not an alambic model package (not a zip file)") from None
    with archive, tempfile.TemporaryDirectory(prefix="alambic-model-") as folder:
        if _MANIFEST not in archive.namelist():
            raise ModelError(f"not an alambic model package: {_MANIFEST} is missing")
        manifest = json.loads(archive.read(_MANIFEST))
        for name in archive.namelist():
            target = Path(folder, name).resolve()
            if not str(target).startswith(str(Path(folder).resolve())):
                raise ModelError(f"refusing a model package with an unsafe path {name!r}")
        archive.extractall(folder)
        flavor = get_flavor(manifest["flavor"], allow_pickle=allow_pickle)
        estimator = flavor.load(Path(folder), manifest["info"], list(trusted or []))
    signature = manifest.get("signature")
    return Model(
        estimator,
        None if signature is None else Signature.from_dict(signature),
        manifest["flavor"],
        manifest.get("versions", {}),
        manifest.get("size_bytes", 0),
        manifest.get("metadata", {}),
    )


def save_model(model: Model | Any, path: str | Path, *, allow_pickle: bool = False) -> Path:
    """Write a model package (a zip) to ``path``."""
    data, _ = dumps_model(model, allow_pickle=allow_pickle)
    target = Path(path)
    target.write_bytes(data)
    return target


def load_model(
    path: str | Path, *, trusted: list[str] | None = None, allow_pickle: bool = False
) -> Model:
    """Read a model package from ``path``.

    Raises:
        ModelError: see :func:`loads_model`.
    """
    return loads_model(Path(path).read_bytes(), trusted=trusted, allow_pickle=allow_pickle)
