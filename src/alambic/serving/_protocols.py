"""Request and response bodies of the two protocols alambic speaks.

- **Open Inference Protocol v2** (KServe, Triton, MLServer): named, typed input tensors,
  one per column (shape ``[n]`` or ``[n, 1]``), or one ``[n, k]`` tensor holding the
  columns in signature order.
- **MLflow** ``/invocations``: ``dataframe_split``, ``dataframe_records``, ``instances``
  or ``inputs``.

Both become the same thing: a dict of column name → list of values, which the
:class:`~alambic.serving._predictor.Predictor` checks against the model's signature.

Example:
    >>> columns_from_mlflow({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}, ["a"])
    {'a': [1, 2]}
"""

from __future__ import annotations

import array
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from alambic.serving._predictor import _WHOLE_MAX, Columns, Outputs, RequestError

__all__ = [
    "columns_from_csv",
    "columns_from_mlflow",
    "columns_from_v2",
    "datatype_of",
    "dumps",
    "loads",
    "mlflow_body",
    "mlflow_error_code",
    "requested_outputs",
    "tensor_shape",
    "v2_body",
]

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_NUMERIC = {"FP16", "FP32", "FP64"} | {
    f"{sign}INT{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)
}
_DATATYPES = {"float": _NUMERIC, "int": _NUMERIC, "bool": {"BOOL"}, "category": {"BYTES"}}


def loads(body: bytes) -> Any:
    """Parse JSON, turning any parse failure into a 400 that says where."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the body is not valid JSON: {exc}", status=400) from None


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _numeric_rows(rows: list[list[Any]]) -> np.ndarray | None:
    """The rows as one matrix when every value is a JSON number (an int or a float), else
    None: NumPy would read booleans, nulls and strings as numbers or as objects."""
    try:
        matrix = np.asarray(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if matrix.ndim != 2 or matrix.dtype.kind not in "iuf":
        return None
    kinds = set(map(type, itertools.chain.from_iterable(rows)))
    if bool in kinds:  # NumPy made 1 of True
        return None
    if matrix.dtype.kind == "f" and int in kinds and (np.abs(matrix) >= _WHOLE_MAX).any():
        return None  # an int beyond 2**53 was rounded among floats: see it as sent
    return matrix


def _rows_to_columns(
    rows: Any, names: list[str], where: str, *, stack: bool = False
) -> dict[str, list[Any]]:
    """Rows of values, one per name, as columns. ``stack``: the names are the signature's
    columns in order and every one is numeric, so rows of numbers come back as one matrix
    (:attr:`Columns.stacked`), checked whole rather than column by column."""
    if not isinstance(rows, list):
        raise RequestError(f"{where} must be a list of rows", status=422, field=where)
    width = len(names)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise RequestError(
                f"{where}[{i}] must be a list of {width} values (one per column {names})",
                status=422,
                field=f"{where}[{i}]",
                expected=names,
            )
    if not rows:
        return {name: [] for name in names}
    matrix = _numeric_rows(rows) if stack else None
    if matrix is not None:
        return Columns.of(matrix, names)
    return {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}


def _records_to_columns(records: list[Any], where: str) -> dict[str, list[Any]]:
    if not records or not isinstance(records[0], dict):
        raise RequestError(f"{where} must be a non-empty list of objects", status=422, field=where)
    names = list(records[0])
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for i, record in enumerate(records):
        if not isinstance(record, dict) or record.keys() != columns.keys():
            got = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise RequestError(
                f"{where}[{i}] must have the same fields as the first record: {names}, got {got}",
                status=422,
                field=f"{where}[{i}]",
                expected=names,
            )
        for name in names:
            columns[name].append(record[name])
    return columns


def _columnar(data: dict[str, Any], where: str) -> dict[str, list[Any]]:
    columns = {}
    for name, values in data.items():
        columns[name] = values if isinstance(values, list) else [values]
    return columns


def _split_to_columns(
    data: Any, signature_columns: list[str], *, numeric: bool
) -> dict[str, list[Any]]:
    key = "dataframe_split"
    if not isinstance(data, dict) or "data" not in data:
        raise RequestError(
            "dataframe_split must be {'columns': [...], 'data': [[...], ...]}",
            status=422,
            field=key,
        )
    names = data.get("columns", signature_columns)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RequestError("dataframe_split.columns must be a list of names", status=422, field=key)
    if len(set(names)) != len(names):
        raise RequestError("dataframe_split.columns repeats a name", status=422, field=key)
    stack = numeric and names == signature_columns
    return _rows_to_columns(data["data"], names, f"{key}.data", stack=stack)


def columns_from_mlflow(
    payload: Any, signature_columns: list[str], *, numeric: bool = False
) -> dict[str, list[Any]]:
    """Columns of an MLflow ``/invocations`` body. ``numeric``: every signature column is
    a number, so rows of numbers in signature order come back :attr:`~Columns.stacked`.

    Raises:
        RequestError: the body has none (or several) of the known keys, or a bad shape.
    """
    if not isinstance(payload, dict):
        raise RequestError(
            f"the body must be a JSON object with one of {list(MLFLOW_KEYS)}", status=400
        )
    keys = [k for k in MLFLOW_KEYS if k in payload]
    if len(keys) != 1:
        raise RequestError(
            f"the body must hold exactly one of {list(MLFLOW_KEYS)}, got {sorted(payload)}",
            status=400,
            expected=list(MLFLOW_KEYS),
        )
    key = keys[0]
    data = payload[key]
    if key == "dataframe_split":
        return _split_to_columns(data, signature_columns, numeric=numeric)
    if key == "dataframe_records":
        if not isinstance(data, list):
            raise RequestError(f"{key} must be a list of objects", status=422, field=key)
        return _records_to_columns(data, key)
    # instances / inputs: a dict of columns, a list of records, or a list of rows
    if isinstance(data, dict):
        return _columnar(data, key)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return _records_to_columns(data, key)
    if isinstance(data, list) and data and isinstance(data[0], list):
        return _rows_to_columns(data, signature_columns, key, stack=numeric)
    if isinstance(data, list) and data and len(signature_columns) == 1:
        return {signature_columns[0]: data}  # one value per row, as MLflow takes them
    raise RequestError(
        f"{key} must be an object of columns, a list of objects or a list of rows",
        status=422,
        field=key,
    )


def _csv_value(text: str, kind: str, name: str, row: int) -> Any:
    if text == "":
        return None  # an empty field is a missing value, as pandas reads it
    if "_" in text and kind in ("float", "int"):  # Python reads 1_000; CSV writers do not
        raise RequestError(
            f"{name}[{row}] is {text[:40]!r}; expected a number",
            status=422,
            field=name,
            expected="a number",
        )
    try:
        if kind == "float":
            return float(text)
        if kind == "int":
            return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise RequestError(
            f"{name}[{row}] is {text[:40]!r}; expected a number",
            status=422,
            field=name,
            expected="a number",
        ) from None
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise RequestError(
            f"{name}[{row}] is {text[:40]!r}; expected true or false",
            status=422,
            field=name,
            expected="true or false",
        )
    return text


def columns_from_csv(body: bytes, kinds: dict[str, str]) -> dict[str, list[Any]]:
    """Columns of a ``text/csv`` ``/invocations`` body: a header row, then one row per
    prediction; numbers and flags are read as the signature's ``kinds`` say.

    Raises:
        RequestError: not UTF-8, no header, rows of another width, a value of a wrong type.
    """
    import csv
    import io

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestError("the CSV body is not UTF-8 text", status=400) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RequestError(f"the body is not valid CSV: {exc}", status=400) from None
    if not rows or not rows[0]:
        raise RequestError(
            "the CSV body needs a header row naming the columns", status=400, expected=list(kinds)
        )
    names = rows[0]
    rows = [row for row in rows if row]  # blank lines (a trailing one, say) hold no row
    if len(set(names)) != len(names):
        raise RequestError("the CSV header repeats a column name", status=400, field="csv")
    columns = _rows_to_columns(rows[1:], names, "csv")
    return {
        name: [_csv_value(v, kinds.get(name, "string"), name, i) for i, v in enumerate(values)]
        for name, values in columns.items()
    }


def _flat(data: list[Any], where: str, name: str, *, floats: bool = False) -> Any:
    """Nested lists of one depth everywhere, flattened (row-major, as v2 lays tensors out).

    ``floats``: the values are meant as floats; numbers alone (no boolean) come back as a
    float64 array (built in C), anything else as the list, for the checks.
    """
    while data and isinstance(data[0], list):
        if not all(isinstance(item, list) for item in data):
            raise RequestError(
                f"{where}.data is ragged: it mixes lists and values at one depth",
                status=422,
                field=name,
                expected="a flat list, or lists nested to the same depth",
            )
        data = list(itertools.chain.from_iterable(data))
    if floats:
        try:  # a string, null, list or object among them: TypeError
            values = np.frombuffer(array.array("d", data), dtype=np.float64)
        except (TypeError, OverflowError):
            values = None
        # a boolean became 0.0 or 1.0: only those values can be one
        if values is not None and not any(
            type(data[i]) is bool for i in np.flatnonzero((values == 0) | (values == 1)).tolist()
        ):
            return values
    if any(isinstance(item, list) for item in data):
        raise RequestError(
            f"{where}.data is ragged: it mixes lists and values at one depth",
            status=422,
            field=name,
            expected="a flat list, or lists nested to the same depth",
        )
    return data


def tensor_shape(shape: Any, where: str, name: str) -> list[int]:
    """A v2 tensor's ``shape``, checked: a non-empty list of sizes (0 or more).

    Example:
        >>> tensor_shape([3, 1], "inputs['price']", "price")
        [3, 1]
    """
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise RequestError(
            f"{where}.shape must be a list of sizes, e.g. [n] or [n, 1]",
            status=422,
            field=name,
            expected="shape [n] or [n, 1]",
        )
    return shape


def _tensor(spec: Any, i: int, floats: Callable[[str], bool]) -> tuple[str, list[int], str, Any]:
    """A checked tensor: name, shape, datatype, values (a flat list or array)."""
    where = f"inputs[{i}]"
    if not isinstance(spec, dict):
        raise RequestError(f"{where} must be an object", status=422, field=where)
    name, shape, datatype, data = (spec.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str):
        raise RequestError(f"{where}.name must be a string", status=422, field=where)
    where = f"inputs[{name!r}]"
    shape = tensor_shape(shape, where, name)
    if not isinstance(datatype, str):
        raise RequestError(f"{where}.datatype must be a string", status=422, field=name)
    if isinstance(data, np.ndarray):  # decoded from binary (the extension, gRPC)
        values = data.reshape(-1)
    elif isinstance(data, list):
        values = _flat(data, where, name, floats=floats(name))
    else:
        raise RequestError(f"{where}.data must be a list", status=422, field=name)
    if len(values) != math.prod(shape):
        raise RequestError(
            f"{where} has {len(values)} values but its shape {shape} needs {math.prod(shape)}",
            status=422,
            field=name,
            expected=f"{math.prod(shape)} values",
        )
    return name, shape, datatype.upper(), values


def _check_datatype(name: str, datatype: str, kind: str) -> None:
    allowed = _DATATYPES.get(kind, {"BYTES"})
    if datatype not in allowed:
        raise RequestError(
            f"input {name!r} has datatype {datatype}; the model expects {sorted(allowed)}",
            status=422,
            field=name,
            expected=sorted(allowed),
        )


def columns_from_v2(payload: Any, kinds: dict[str, str]) -> Columns:
    """Columns of an Open Inference Protocol v2 ``infer`` body.

    ``kinds`` maps each signature column (in order) to ``float``, ``int``, ``bool``,
    ``category`` or ``string``. A tensor's ``data`` is a list (JSON), or a NumPy array
    (decoded from binary). The numbers of float columns are read into arrays at once, and
    one numeric tensor of every column comes back :attr:`~Columns.stacked`.

    Raises:
        RequestError: a malformed tensor, a wrong datatype or shape, an unknown name.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise RequestError(
            "the body must be {'inputs': [{'name', 'shape', 'datatype', 'data'}, ...]}",
            status=400,
        )
    every = all(kind == "float" for kind in kinds.values())

    def floats(name: str) -> bool:
        return kinds[name] == "float" if name in kinds else every

    tensors = [_tensor(spec, i, floats) for i, spec in enumerate(payload["inputs"])]
    if not tensors:
        raise RequestError("inputs is empty", status=422, field="inputs")
    if len(tensors) == 1 and tensors[0][0] not in kinds:
        return _one_tensor(*tensors[0], kinds)
    return _column_tensors(tensors, kinds)


def _one_tensor(
    name: str, shape: list[int], datatype: str, values: Any, kinds: dict[str, str]
) -> Columns:
    """One ``[n, k]`` tensor holding every column, in signature order."""
    names = list(kinds)
    if len(shape) != 2 or shape[1] != len(names):
        raise RequestError(
            f"input {name!r} is not a column of the model; one tensor holding every "
            f"column must have shape [n, {len(names)}] (columns {names})",
            status=422,
            field=name,
            expected=names,
        )
    for kind in dict.fromkeys(kinds.values()):  # each kind once, in column order
        _check_datatype(name, datatype, kind)
    width = len(names)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return Columns.of(values.reshape(-1, width), names)
    return Columns({column: values[j::width] for j, column in enumerate(names)})


def _column_tensors(
    tensors: list[tuple[str, list[int], str, Any]], kinds: dict[str, str]
) -> Columns:
    """A tensor per column, ``[n]`` or ``[n, 1]``."""
    columns = Columns()
    for name, shape, datatype, values in tensors:
        if name not in kinds:
            raise RequestError(
                f"input {name!r} is not a column of the model",
                status=422,
                field=name,
                expected=list(kinds),
            )
        if name in columns:
            raise RequestError(f"input {name!r} is given twice", status=422, field=name)
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise RequestError(
                f"input {name!r} has shape {shape}; a column is [n] or [n, 1]",
                status=422,
                field=name,
                expected="[n] or [n, 1]",
            )
        _check_datatype(name, datatype, kinds[name])
        columns[name] = values
    return columns


def datatype_of(values: list[Any]) -> str:
    """The v2 datatype of a list of labels or values (by its first one)."""
    first = values[0] if values else 0.0
    if isinstance(first, bool):
        return "BOOL"
    if isinstance(first, int):
        return "INT64"
    if isinstance(first, float):
        return "FP64"
    return "BYTES"


def requested_outputs(payload: dict[str, Any], available: list[str]) -> list[str] | None:
    """The names in a v2 request's ``outputs`` (None: it asks for none in particular).

    Raises:
        RequestError: ``outputs`` is malformed or names an output the model lacks.
    """
    asked = payload.get("outputs")
    if asked is None:
        return None
    if not isinstance(asked, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in asked
    ):
        raise RequestError(
            "outputs must be a list of {'name': ...}",
            status=422,
            field="outputs",
            expected=available,
        )
    names = [o["name"] for o in asked]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise RequestError(
            f"the model has no output {unknown[0]!r}; it has {available}",
            status=422,
            field="outputs",
            expected=available,
        )
    return names


_MLFLOW_CODES = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    413: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
}


def mlflow_error_code(status: int) -> str:
    """The ``error_code`` MLflow's scoring server gives an error of this HTTP status."""
    return _MLFLOW_CODES.get(status, "BAD_REQUEST")


def v2_body(
    endpoint: str,
    request_id: str,
    outputs: Outputs,
    *,
    variant: str,
    ref: str,
    holdout: bool,
    outputs_wanted: list[str] | None = None,
) -> dict[str, Any]:
    """The v2 ``infer`` response: ``predict`` (and ``predict_proba`` for classifiers),
    or the ones the request's ``outputs`` named."""
    n = len(outputs.predictions)
    tensors: list[dict[str, Any]] = [
        {
            "name": "predict",
            "datatype": datatype_of(outputs.predictions),
            "shape": [n],
            "data": outputs.predictions,
        }
    ]
    if outputs.probabilities is not None:
        tensors.append(
            {
                "name": "predict_proba",
                "datatype": "FP64",
                "shape": list(outputs.probabilities.shape),
                "data": outputs.probabilities.ravel(),
                "parameters": {"classes": outputs.classes},
            }
        )
    if outputs_wanted is not None:
        tensors = [t for t in tensors if t["name"] in outputs_wanted]
    return {
        "model_name": endpoint,
        "model_version": ref.rpartition("/")[2],
        "id": request_id,
        "parameters": {"variant": variant, "model": ref, "holdout": holdout},
        "outputs": tensors,
    }


def mlflow_body(
    request_id: str, outputs: Outputs, *, variant: str, ref: str, holdout: bool
) -> dict[str, Any]:
    """MLflow's ``{"predictions": [...]}``, plus probabilities, variant, version and ids."""
    body: dict[str, Any] = {"predictions": outputs.predictions}
    if outputs.probabilities is not None:
        body["probabilities"] = outputs.probabilities
        body["classes"] = outputs.classes
    body.update(
        {
            "variant": variant,
            "model": ref,
            "model_version": ref.rpartition("/")[2],
            "request_id": request_id,
            "holdout": holdout,
        }
    )
    return body
