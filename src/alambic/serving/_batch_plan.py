"""Batch transform's model and plan: the model pinned by content hash, the input checked
against its signature before anything is scored.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from alambic.errors import AlambicError, DataError, ModelError, RegistryError
from alambic.serving._batch_io import Input, filesystem

__all__ = ["Plan", "Source", "describe", "load_source", "make_plan", "model_source"]

logger = logging.getLogger(__name__)


# -- the model: pinned to one version and its content hash ---------------------------
@dataclass(frozen=True)
class Source:
    ref: str  # as the caller gave it
    label: str  # name/version, or the file
    kind: str  # "registry" or "file"
    name: str | None
    version: int | None
    hash: str
    data: bytes = field(repr=False)
    allow_pickle: bool

    def pin(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("data", "allow_pickle")}


def model_source(model: str | os.PathLike[str], pinned: dict[str, Any] | None) -> Source:
    ref = os.fspath(model)
    if isinstance(model, os.PathLike) or "://" in ref or os.path.exists(ref):
        if "://" in ref:
            fs, path, _ = filesystem(ref)
            data = fs.cat_file(path)
        else:
            ref = os.path.abspath(ref)
            with open(ref, "rb") as handle:
                data = handle.read()
        return Source(ref, ref, "file", None, None, hashlib.sha256(data).hexdigest(), data, False)

    from alambic.config import settings
    from alambic.errors import NotFoundError
    from alambic.registry import get_version, registry_store, resolve
    from alambic.store import ArtifactStore

    if pinned is not None and pinned.get("kind") == "registry" and pinned.get("ref") == ref:
        # The alias may have moved since this output was started: its parts are the
        # pinned version's, so the rest must be too.
        record = get_version(str(pinned["name"]), int(pinned["version"]))
        with contextlib.suppress(AlambicError):
            now = resolve(ref)
            if now.version != record.version:
                logger.warning("%s now names %s; resuming with %s", ref, now.ref, record.ref)
    else:
        try:
            record = resolve(ref)
        except (NotFoundError, RegistryError) as exc:
            if "/" in ref or os.sep in ref or ref.endswith(".zip"):
                raise type(exc)(f"{exc}; there is no model file {ref!r} either") from None
            raise
    if record.model.get("materializer") not in ("alambic-model", "alambic-estimator"):
        raise ModelError(f"{record.ref} does not hold a model package; register it again")
    allow = registry_store().get_group(record.group).policy.get("allow_pickle") is True
    data = ArtifactStore(settings().artifacts).get_bytes(record.model["hash"])
    hash_ = record.model["hash"]
    return Source(ref, record.ref, "registry", record.group, record.version, hash_, data, allow)


def load_source(source: Source) -> Any:
    from alambic.models import loads_model

    try:
        return loads_model(source.data, allow_pickle=source.allow_pickle)
    except ModelError as exc:
        if "pickle" not in str(exc):
            raise
        raise ModelError(
            f"{source.label} is pickled, and loading a pickle runs its code: batch transform "
            "loads one only from a registry group whose policy says allow_pickle: true. "
            "Store the model in a safe format (alambic.models.package), or set that policy"
        ) from None


# -- the plan: what to read, how to score, what to write -----------------------------
@dataclass(frozen=True)
class Plan:
    ids: list[str]
    features: list[tuple[str, str]]  # (column, kind: number, bool, category, other)
    dtypes: dict[str, str]
    categories: dict[str, list[Any]]
    classes: list[Any]
    outputs: list[str]
    argmax: bool  # the prediction is the class of highest probability

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.ids, *(name for name, _ in self.features)]))


def _kind(dtype: str) -> str:
    if dtype in ("category", "boolean"):
        return {"category": "category", "boolean": "bool"}[dtype]
    import numpy as np

    try:
        code = np.dtype(dtype.lower()).kind  # Int64, Float32: pandas' nullable types
    except TypeError:
        return "other"
    return {"b": "bool", "i": "number", "u": "number", "f": "number"}.get(code, "other")


def _fits(arrow_type: Any, kind: str, levels: list[Any] | None) -> bool:
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    if pa.types.is_null(t) or kind == "other":
        return True
    if kind in ("number", "bool"):
        return bool(numeric or pa.types.is_boolean(t))
    return bool(text or (numeric and levels and not all(isinstance(v, str) for v in levels)))


def describe(model: Any) -> dict[str, Any]:
    """What the plan needs to know of a loaded model (JSON-able: workers send it)."""
    estimator = model.estimator
    booster = getattr(estimator, "booster_", None)
    return {
        "signature": None if model.signature is None else model.signature.to_dict(),
        "flavor": model.flavor,
        "classes": [
            c.item() if hasattr(c, "item") else c for c in getattr(estimator, "classes_", [])
        ],
        "proba": hasattr(estimator, "predict_proba"),
        "trained": [list(v) for v in getattr(booster, "pandas_categorical", None) or []],
    }


def make_plan(model: dict[str, Any], label: str, inputs: Input, ids: list[str]) -> Plan:
    """Check the input against the model's signature, before anything is scored."""
    from alambic.models import Signature

    if model["signature"] is None:
        raise ModelError(
            f"{label} has no signature, so its input columns are unknown; package it with "
            "alambic.models.package(estimator, X, y) and register or save it again"
        )
    signature = Signature.from_dict(model["signature"])
    dtypes = dict(signature.inputs)
    features = [(name, _kind(dtype)) for name, dtype in signature.inputs]
    categories = {k: list(v) for k, v in (getattr(signature, "categories", None) or {}).items()}
    categorical = [name for name, kind in features if kind == "category"]
    if len(model["trained"]) == len(categorical):  # LightGBM keeps its training levels
        for name, levels in zip(categorical, model["trained"], strict=True):
            categories.setdefault(name, levels)
    for path, columns in inputs.columns.items():
        missing = [c for c in dtypes if c not in columns]
        if missing:
            raise DataError(
                f"{path} lacks the column(s) {missing} that {label} expects (its inputs: "
                f"{list(dtypes)}); nothing was scored. Add them, or use the model trained on "
                "these columns"
            )
        absent = [c for c in ids if c not in columns]
        if absent:
            raise DataError(
                f"id column(s) {absent} are not in {path}; its columns are {list(columns)}. "
                "Pass id columns the input has"
            )
        for name, kind in features:
            arrow_type = columns[name]
            if arrow_type is not None and not _fits(arrow_type, kind, categories.get(name)):
                raise DataError(
                    f"column {name!r} of {path} holds {arrow_type} values, but {label} expects "
                    f"{dtypes[name]}; nothing was scored. Convert the column, or check that "
                    "this is the input meant for this model"
                )
    classes = (model["classes"] or list(signature.classes)) if model["proba"] else []
    outputs = ["prediction", *(["probability"] if len(classes) == 2 else [])]
    outputs += [f"proba_{c}" for c in classes] if len(classes) > 2 else []
    if set(ids) & set(outputs) or len(set(ids)) != len(ids):
        raise DataError(
            f"id columns {ids} repeat a name or clash with the output columns {outputs}; "
            "pass each id column once, and rename input columns named like an output"
        )
    argmax = model["flavor"] in ("lightgbm", "xgboost") and bool(classes)
    return Plan(ids, features, dtypes, categories, classes, outputs, argmax)
