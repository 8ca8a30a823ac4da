"""From request columns to predictions: validation against the signature, then scoring.

A :class:`Predictor` is built once per loaded model version. It checks each column of a
request against the model's signature (presence, type, finiteness, missing values) and
raises :class:`RequestError`, a 4xx naming the field and what was expected, before the
model sees anything. LightGBM models are scored on a float matrix through the booster
(no DataFrame per request; one row through LightGBM's single-row C API,
``_lightgbm``), on one thread below 500 rows: a server scores many requests at once, and
OpenMP's team for one request would wait on cores the others hold (on 2 busy cores, a
one-row predict took ten times its idle time); from 500 rows, on the worker's share of
the cores (the trees take the time: 1,000 rows × 30 columns, 2.4 ms on one thread, 1.3
on two, here). Other flavors get a DataFrame with the training dtypes.

Example:
    >>> import numpy as np
    >>> _numeric("price", [1, 2.5], nullable=False)
    array([1. , 2.5])
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from alambic.errors import ServingError
from alambic.serving._lightgbm import OneRow

__all__ = ["Columns", "Outputs", "Predictor", "RequestError"]


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a JSON error body."""

    def __init__(
        self, message: str, *, status: int = 400, field: str | None = None, expected: Any = None
    ) -> None:
        super().__init__(message)
        self.status, self.field, self.expected = status, field, expected

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": str(self)}
        if self.field is not None:
            body["field"] = self.field
        if self.expected is not None:
            body["expected"] = self.expected
        return body


@dataclass(frozen=True)
class Outputs:
    """Predictions of one request: labels (or values) and class probabilities."""

    predictions: list[Any]
    probabilities: np.ndarray | None  # (n, n_classes) for classifiers
    classes: list[Any]


def _kind(dtype: str) -> str:
    if dtype == "category":
        return "category"
    if dtype in ("bool", "boolean"):
        return "bool"
    if dtype.startswith(("int", "uint", "Int", "UInt")):
        return "int"
    if dtype.startswith(("float", "Float")):
        return "float"
    return "string"


def _bad_value(field: str, row: int, value: Any, expected: str) -> RequestError:
    shown = "null" if value is None else f"{type(value).__name__} {value!r}"[:80]
    return RequestError(
        f"{field}[{row}] is {shown}; expected {expected}",
        status=422,
        field=field,
        expected=expected,
    )


# Models compute in float64: whole numbers beyond 2**53 would silently lose their last digits.
_WHOLE_MAX = 2**53
_FLOAT_MAX = int(np.finfo(np.float64).max)
_WHOLE = "a whole number within ±2**53 (exact as a float64)"


def _numeric(field: str, values: Any, *, nullable: bool, integer: bool = False) -> np.ndarray:
    """A float column, refusing strings, booleans, non-finite numbers and unwanted nulls."""
    expected = ("an integer" if integer else "a number") + (" or null" if nullable else "")
    array = _flat(field, values, expected)
    if (
        array.dtype.kind in "iuf"
        and not isinstance(values, np.ndarray)
        and bool in set(map(type, values))
    ):  # NumPy made 1 of True
        row = next(i for i, v in enumerate(values) if type(v) is bool)
        raise _bad_value(field, row, values[row], expected)
    if array.dtype.kind in "iu":
        if integer and len(array) and (array.max() > _WHOLE_MAX or array.min() < -_WHOLE_MAX):
            row = int(np.argmax((array > _WHOLE_MAX) | (array < -_WHOLE_MAX)))
            raise _bad_value(field, row, int(array[row]), _WHOLE)
        return array.astype(np.float64)
    if array.dtype.kind == "f":  # FP16 and FP32 tensors are checked as the float64 scored
        return _finite(field, array.astype(np.float64, copy=False), expected, integer=integer)
    return _one_by_one(field, values, expected, nullable=nullable, integer=integer)


def _flat(field: str, values: Any, expected: str) -> np.ndarray:
    """The values as a one-dimensional array (a nested one is refused)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # ragged nesting
        array = None
    if array is None or array.ndim != 1:
        raise RequestError(
            f"{field} holds nested values; expected {expected} per row",
            status=422,
            field=field,
            expected=expected,
        )
    return array


def _finite(field: str, array: np.ndarray, expected: str, *, integer: bool) -> np.ndarray:
    finite = np.isfinite(array)
    if not finite.all():
        row = int(np.argmin(finite))
        finite = expected.replace("a number", "a finite number")
        finite = finite.replace("an integer", "a finite integer")
        raise _bad_value(field, row, float(array[row]), finite)
    if integer:
        wrong = (array != np.round(array)) | (np.abs(array) > _WHOLE_MAX)
        if wrong.any():
            row = int(np.argmax(wrong))
            raise _bad_value(field, row, float(array[row]), _WHOLE)
    return array.astype(np.float64, copy=False)


def _one_by_one(
    field: str, values: list[Any], expected: str, *, nullable: bool, integer: bool
) -> np.ndarray:
    """Mixed types, nulls or strings: each value checked on its own."""
    out = np.empty(len(values), dtype=np.float64)
    for row, value in enumerate(values):
        kind = type(value)
        if value is None and nullable:
            out[row] = math.nan
            continue
        if kind is int and (abs(value) > _FLOAT_MAX or (integer and abs(value) > _WHOLE_MAX)):
            # beyond any float it is not a number here; beyond 2**53 not an exact integer
            raise _bad_value(field, row, value, _WHOLE if integer else "a finite number")
        if kind is not int and not (kind is float and math.isfinite(value)):
            raise _bad_value(field, row, value, expected)
        if integer and kind is float and not (value.is_integer() and abs(value) <= _WHOLE_MAX):
            raise _bad_value(field, row, value, _WHOLE)
        out[row] = value
    return out


WORKERS_ENV = "ALAMBIC_SERVE_WORKERS"  # set by serve(): the server's worker processes
BATCH_ROWS = 500  # from this many rows, a request's booster may run on the worker's cores
_in_flight = [0]  # booster predicts of large requests running now, in this process
_in_flight_lock = threading.Lock()


def cores() -> int:
    """The cores this process may run on (its affinity, where the system tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _share() -> int:
    """This worker's share of the cores (``serve --workers N`` splits them)."""
    try:
        workers = max(1, int(os.environ.get(WORKERS_ENV) or 1))
    except ValueError:  # not a number: the setting of someone else's process
        workers = 1
    return max(1, cores() // workers)


def _threads(rows: int) -> int:
    """LightGBM threads for a request of ``rows`` rows: one for small ones (an OpenMP team
    would wait on cores the other requests hold), and for large ones while another large
    one is being scored; else the worker's share of the cores (the trees, not the
    request, take the time)."""
    with _in_flight_lock:
        return _decide(rows)


def _decide(rows: int) -> int:
    """:func:`_threads`'s answer; the caller holds ``_in_flight_lock``."""
    if rows < BATCH_ROWS:
        return 1
    return _share() if _in_flight[0] == 0 else 1


class Columns(dict[str, Any]):
    """Request columns by name: lists of values, or NumPy arrays.

    ``stacked`` is set when the request sent every column as one numeric tensor
    (``[rows, columns]``, in the signature's order), or MLflow rows of numbers in that
    order (``dataframe_split``, ``instances``): the columns are then views of it, and
    :meth:`Predictor.matrix` checks it and the booster scores it whole, with no work per
    column. Numeric columns checked one by one are stacked once checked, so that the
    booster and capture take them whole too.
    """

    stacked: np.ndarray | None = None

    @classmethod
    def of(cls, matrix: np.ndarray, names: list[str]) -> Columns:
        """The columns of a ``[rows, len(names)]`` matrix, stacked."""
        columns = cls(zip(names, matrix.T, strict=True))  # matrix.T's rows: column views
        columns.stacked = matrix
        return columns


class Predictor:
    """A loaded model version, ready to validate and score request columns.

    Args:
        model: an :class:`alambic.models.Model` with a signature.
        ref: the version it is, ``name/3``.
    """

    def __init__(self, model: Any, ref: str) -> None:
        signature = model.signature
        if signature is None:
            raise ServingError(
                f"{ref} has no signature, so requests cannot be checked; register it from "
                "alambic.models.package(estimator, X, y)"
            )
        self.model, self.ref = model, ref
        self.version = ref.rpartition("/")[2]
        self.signature = signature
        self.columns = [name for name, _ in signature.inputs]
        self.dtypes = dict(signature.inputs)
        self.kinds = {name: _kind(dtype) for name, dtype in signature.inputs}
        self.nullable = set(signature.nullable)
        # numbers only: a tensor of every column is checked as a whole
        self.stackable = all(kind in ("float", "int") for kind in self.kinds.values())
        self.whole = [j for j, c in enumerate(self.columns) if self.kinds[c] == "int"]
        estimator = model.estimator
        self.booster = getattr(estimator, "booster_", None)
        if self.booster is None and type(estimator).__name__ == "Booster":
            self.booster = estimator
        self.one_row = None if self.booster is None else OneRow.of(self.booster)
        self.categories = dict(signature.categories)
        self._lgb_categories()
        self.codes = {
            name: {level: float(i) for i, level in enumerate(levels)}
            for name, levels in self.categories.items()
        }
        self.classes = list(signature.classes) or [
            c.item() if hasattr(c, "item") else c for c in getattr(estimator, "classes_", [])
        ]
        self.proba = bool(self.classes) and hasattr(estimator, "predict_proba")

    def _lgb_categories(self) -> None:
        """Older signatures lack the levels: LightGBM keeps those it trained with."""
        levels = getattr(self.booster, "pandas_categorical", None) or []
        missing = [c for c in self.columns if self.kinds[c] == "category"]
        if len(levels) == len(missing):
            for column, values in zip(missing, levels, strict=True):
                self.categories.setdefault(column, list(values))

    def describe(self) -> list[dict[str, Any]]:
        """The inputs as the v2 metadata route lists them."""
        datatype = {"float": "FP64", "int": "INT64", "bool": "BOOL"}
        return [
            {"name": name, "datatype": datatype.get(self.kinds[name], "BYTES"), "shape": [-1]}
            for name in self.columns
        ]

    # -- validation ------------------------------------------------------------------
    def check_columns(self, columns: dict[str, list[Any]]) -> int:
        """Refuse missing, unexpected or unequal columns; return the number of rows."""
        missing = [c for c in self.columns if c not in columns]
        extra = [c for c in columns if c not in self.dtypes]
        if missing or extra:
            field = (missing or extra)[0]
            raise RequestError(
                f"input does not fit the model's signature: missing {missing}, unexpected {extra}",
                status=422,
                field=field,
                expected=self.columns,
            )
        lengths = {len(columns[c]) for c in self.columns}
        if len(lengths) != 1:
            raise RequestError(
                "columns have different numbers of rows: "
                + ", ".join(f"{c}={len(columns[c])}" for c in self.columns),
                status=422,
            )
        rows = lengths.pop()
        if rows == 0:
            raise RequestError("the request holds no rows", status=422)
        return rows

    def _column(self, name: str, values: Any) -> np.ndarray:
        kind, nullable = self.kinds[name], name in self.nullable
        if kind in ("float", "int"):
            return _numeric(name, values, nullable=nullable, integer=kind == "int")
        if kind == "bool":
            for row, value in enumerate(values):
                if type(value) is not bool and not (value is None and nullable):
                    raise _bad_value(name, row, value, "true or false")
            return np.array([math.nan if v is None else float(v) for v in values])
        expected = "a string" + (" or null" if nullable else "")
        for row, value in enumerate(values):
            if type(value) is not str and not (value is None and nullable):
                raise _bad_value(name, row, value, expected)
        if kind == "category":  # unknown levels are missing values, as LightGBM treats them
            codes = self.codes.get(name, {})
            return np.array([codes.get(v, math.nan) for v in values], dtype=np.float64)
        return np.array(values, dtype=object)

    def matrix(self, columns: dict[str, Any]) -> Columns:
        """Validated columns (floats; category codes; strings as objects).

        Columns sent as one numeric tensor (:attr:`Columns.stacked`) are checked as a whole
        and stay stacked; if that check fails, the columns are checked one by one, for an
        error that names the column and row.
        """
        stacked = getattr(columns, "stacked", None)
        if stacked is not None and self.stackable:
            matrix = self._checked_stack(stacked)
            if matrix is stacked and isinstance(columns, Columns):
                return columns  # float64 already: the same views
            if matrix is not None:
                return Columns.of(matrix, self.columns)
        self.check_columns(columns)
        checked = [self._column(name, columns[name]) for name in self.columns]
        if self.stackable and checked:  # numbers only: one matrix, scored and captured whole
            return Columns.of(np.column_stack(checked).astype(np.float64, copy=False), self.columns)
        return Columns(zip(self.columns, checked, strict=True))

    def _checked_stack(self, stacked: np.ndarray) -> np.ndarray | None:
        """The tensor as float64 if every value passes (else None: see one by one)."""
        if stacked.ndim != 2 or stacked.shape[1] != len(self.columns) or not len(stacked):
            return None
        kind = stacked.dtype.kind
        if kind == "f":  # FP16 and FP32 are checked as the float64 scored
            stacked = stacked.astype(np.float64, copy=False)
        whole = stacked[:, self.whole] if self.whole else None
        if kind == "f":
            if not np.isfinite(stacked).all():
                return None
            if whole is not None and (
                (whole != np.round(whole)).any() or (np.abs(whole) > _WHOLE_MAX).any()
            ):
                return None
        elif kind in "iu":
            if whole is not None and ((whole > _WHOLE_MAX).any() or (whole < -_WHOLE_MAX).any()):
                return None
        else:
            return None
        return np.ascontiguousarray(stacked, dtype=np.float64)

    def captured(
        self, columns: dict[str, list[Any]], checked: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        """What capture keeps of a request: numbers as the checked arrays the model saw
        (capture types them by :attr:`kinds`), other values as they were sent. Columns
        checked as one matrix stay :class:`Columns` with it (capture joins the matrices
        of many requests whole, not column by column)."""
        if getattr(checked, "stacked", None) is not None and list(checked) == self.columns:
            return checked
        return {
            name: checked[name] if self.kinds[name] in ("float", "int") else columns[name]
            for name in self.columns
        }

    # -- scoring ---------------------------------------------------------------------
    def predict(self, checked: dict[str, np.ndarray]) -> Outputs:
        """Score validated columns.

        Raises:
            RequestError: the model refused the values (422), naming its message.
        """
        try:
            if self.booster is not None:
                scores = self._booster_scores(checked)
            else:
                scores = self._predict_frame(checked)
        except (ValueError, TypeError, KeyError) as exc:
            raise RequestError(f"the model could not score this input: {exc}", status=422) from exc
        scores = np.ascontiguousarray(scores)  # JSON writes C-ordered arrays only
        if not self.classes or (self.booster is None and not self.proba):
            return Outputs(scores.tolist(), None, [])
        if scores.ndim == 1:  # a binary booster gives the positive class only
            scores = np.column_stack([1.0 - scores, scores])
        # argmax keeps the first class on ties, as the estimators' predict() does
        labels = [self.classes[i] for i in np.argmax(scores, axis=1)]
        return Outputs(labels, scores, self.classes)

    def _booster_scores(self, checked: dict[str, np.ndarray]) -> np.ndarray:
        booster: Any = self.booster  # set: predict() checked
        matrix = getattr(checked, "stacked", None)
        if matrix is None:
            matrix = np.column_stack([checked[c] for c in self.columns])
        fast = self.one_row
        if len(matrix) == 1 and fast is not None and matrix.shape[1] == fast.width:
            scores = fast.predict(np.ascontiguousarray(matrix, dtype=np.float64))
            if scores is not None:
                return scores
        if len(matrix) < BATCH_ROWS:
            return np.asarray(booster.predict(matrix, num_threads=1))
        with _in_flight_lock:  # decided and counted at once: two large ones never both see 0
            threads = _decide(len(matrix))
            _in_flight[0] += 1
        try:
            return np.asarray(booster.predict(matrix, num_threads=threads))
        finally:
            with _in_flight_lock:
                _in_flight[0] -= 1

    def _predict_frame(self, checked: dict[str, np.ndarray]) -> Any:
        import pandas as pd

        data: dict[str, Any] = {}
        for name in self.columns:
            kind, values = self.kinds[name], checked[name]
            if kind == "category":
                levels = self.categories.get(name, [])
                codes = np.where(np.isnan(values), -1, values).astype(np.int64)
                data[name] = pd.Categorical.from_codes(codes, categories=levels)
            elif kind in ("int", "bool") and not np.isnan(values).any():
                data[name] = values.astype(self.dtypes[name])
            else:
                data[name] = values
        frame = pd.DataFrame(data, columns=self.columns)
        estimator = self.model.estimator
        if self.proba:
            return estimator.predict_proba(frame)
        return estimator.predict(frame)
