"""Model signatures: the input columns and dtypes a model expects, and what it returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from alambic.errors import ModelError

__all__ = ["Signature", "infer_signature"]


@dataclass(frozen=True)
class Signature:
    """What goes in and comes out of a model.

    Attributes:
        inputs: (column name, dtype) pairs in order.
        task: ``binary``, ``multiclass``, ``regression`` or ``unknown``.
        classes: the class labels of a classifier, in output order.
        output: the dtype of predictions.
        categories: the levels of each categorical column, in code order.
        nullable: the columns that held missing values in the training data.
    """

    inputs: list[tuple[str, str]]
    task: str = "unknown"
    classes: list[Any] = field(default_factory=list)
    output: str = ""
    categories: dict[str, list[Any]] = field(default_factory=dict)
    nullable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = asdict(self)
        data["inputs"] = [list(pair) for pair in self.inputs]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            inputs=[(str(n), str(t)) for n, t in data["inputs"]],
            task=data.get("task", "unknown"),
            classes=list(data.get("classes", [])),
            output=data.get("output", ""),
            categories={str(k): list(v) for k, v in data.get("categories", {}).items()},
            nullable=[str(c) for c in data.get("nullable", [])],
        )

    def check(self, frame: Any) -> None:
        """Refuse a DataFrame whose columns differ from the signature's.

        Raises:
            ModelError: naming the missing or unexpected columns.
        """
        columns = list(getattr(frame, "columns", []))
        expected = [name for name, _ in self.inputs]
        missing = [c for c in expected if c not in columns]
        extra = [c for c in columns if c not in expected]
        if missing or extra:
            raise ModelError(
                f"input does not fit the model's signature: missing {missing}, "
                f"unexpected {extra}; expected columns {expected}"
            )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def infer_signature(features: Any, target: Any = None, *, model: Any = None) -> Signature:
    """Infer a signature from training data (a DataFrame or a 2-D array) and labels.

    Example:
        >>> import pandas as pd
        >>> infer_signature(pd.DataFrame({"price": [1.0]}), pd.Series([0])).inputs
        [('price', 'float64')]
    """
    categories: dict[str, list[Any]] = {}
    nullable: list[str] = []
    if hasattr(features, "dtypes") and hasattr(features, "columns"):
        inputs = [(str(c), str(t)) for c, t in zip(features.columns, features.dtypes, strict=True)]
        for column, dtype in zip(features.columns, features.dtypes, strict=True):
            if str(dtype) == "category":
                categories[str(column)] = [_plain(v) for v in features[column].cat.categories]
        missing = features.isna().any()
        nullable = [str(c) for c in features.columns if bool(missing[c])]
    elif hasattr(features, "shape") and len(features.shape) == 2:
        inputs = [(f"x{i}", str(features.dtype)) for i in range(features.shape[1])]
        if features.dtype.kind == "f":
            import numpy as np

            has_nan = np.isnan(features).any(axis=0)
            nullable = [f"x{i}" for i in range(features.shape[1]) if bool(has_nan[i])]
    else:
        raise ModelError("features must be a DataFrame or a 2-D array to infer a signature")
    classes = getattr(model, "classes_", None)
    if (
        classes is None
        and target is not None
        and model is not None
        and hasattr(model, "predict_proba")
    ):
        classes = sorted(set(_plain(v) for v in target))
    if classes is not None:
        labels = [_plain(c) for c in classes]
        task = "binary" if len(labels) == 2 else "multiclass"
        output = str(getattr(target, "dtype", ""))
        return Signature(inputs, task, labels, output, categories, nullable)
    if target is not None:
        output = str(getattr(target, "dtype", "float64"))
        return Signature(inputs, "regression", [], output, categories, nullable)
    return Signature(inputs, categories=categories, nullable=nullable)
