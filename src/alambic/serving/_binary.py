"""The binary tensor extension of Open Inference Protocol v2 (what ``tritonclient`` sends).

A binary request is a JSON header, ``Inference-Header-Content-Length`` bytes long,
followed by the raw tensors of the inputs whose ``parameters.binary_data_size`` says
how many bytes each takes, in input order: little-endian fixed-width values, or for
``BYTES`` each element as a 4-byte little-endian length and its bytes. This module
turns such a body back into the JSON payload the JSON front end reads (each binary
input given its ``data``), so both front ends share one parser, one validation and one
scoring path. It also writes outputs the same way when the request asks for them, and
decompresses bodies sent with ``Content-Encoding: gzip`` or ``deflate``.

Example:
    >>> import struct
    >>> header = b'{"inputs":[{"name":"x","shape":[2],"datatype":"FP64",'
    >>> header += b'"parameters":{"binary_data_size":16}}]}'
    >>> body = header + struct.pack("<2d", 1.5, 2.0)
    >>> binary_payload(body, str(len(header)))["inputs"][0]["data"].tolist()  # an array
    [1.5, 2.0]
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

import numpy as np

from alambic.serving._predictor import RequestError
from alambic.serving._protocols import dumps, loads, tensor_shape

__all__ = [
    "HEADER",
    "binary_outputs",
    "binary_payload",
    "decode_tensor",
    "decompress",
    "encode_outputs",
    "tensor_bytes",
]

HEADER = "inference-header-content-length"
_FIXED = {
    "BOOL": "|u1",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
_KNOWN = [*_FIXED, "BYTES"]
_PREFIX = struct.Struct("<I")


def decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding`` compressed it, at most ``limit`` bytes.

    ``deflate`` is zlib's format (as HTTP and tritonclient mean it); a raw deflate
    stream is read too.

    Raises:
        RequestError: an unknown encoding (415), a stream that is not what it says or is
            cut short (400), or more than ``limit`` bytes once decompressed (413: the
            endpoint's body limit holds for what a body inflates to, against zip bombs).

    Example:
        >>> import gzip
        >>> decompress(gzip.compress(b'{"inputs": []}'), "gzip", 1024)
        b'{"inputs": []}'
    """
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return raw
    if name == "gzip":
        return _inflate(raw, 16 + zlib.MAX_WBITS, name, limit)
    if name == "deflate":
        try:
            return _inflate(raw, zlib.MAX_WBITS, name, limit)
        except RequestError as exc:
            if exc.status == 413:
                raise
            return _inflate(raw, -zlib.MAX_WBITS, name, limit)
    raise RequestError(
        f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none",
        status=415,
        field="content-encoding",
        expected=["gzip", "deflate", "identity"],
    )


def _inflate(raw: bytes, wbits: int, name: str, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise RequestError(
            f"the body is not valid {name} data ({exc}); compress it whole, or drop "
            "Content-Encoding",
            status=400,
            field="content-encoding",
        ) from None
    if len(out) > limit:
        raise RequestError(
            f"the body is over {limit} bytes once decompressed, the most this endpoint accepts",
            status=413,
            expected=f"at most {limit} bytes",
        )
    if not inflater.eof or inflater.unused_data:
        raise RequestError(
            f"the {name} body is cut short or followed by other bytes",
            status=400,
            field="content-encoding",
        )
    return out


def _header_length(value: str, size: int) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) == 0 or int(text) > size:
        raise RequestError(
            f"Inference-Header-Content-Length is {value[:40]!r}; it must be the length in "
            f"bytes of the JSON header at the start of the body (1 to {size})",
            status=400,
            field="inference-header-content-length",
            expected=f"1 to {size}",
        )
    return int(text)


def binary_payload(body: bytes, header_length: str) -> Any:
    """The v2 payload of a binary body, each binary input's ``data`` filled in.

    Args:
        body: the whole (decompressed) body.
        header_length: the ``Inference-Header-Content-Length`` header.

    Raises:
        RequestError: a header length of 0 or past the body, a header that is not JSON,
            a missing, negative or wrong ``binary_data_size``, tensors that do not fill
            the body exactly: a 4xx naming the input.

    Example:
        >>> header = b'{"inputs":[{"name":"b","shape":[1],"datatype":"BYTES",'
        >>> header += b'"parameters":{"binary_data_size":7}}]}'
        >>> binary_payload(header + b"\\x03\\x00\\x00\\x00bmw", str(len(header)))["inputs"]
        [{'name': 'b', 'shape': [1], 'datatype': 'BYTES', 'parameters': {'binary_data_size': 7}, 'data': ['bmw']}]
    """  # noqa: E501
    length = _header_length(header_length, len(body))
    payload = loads(body[:length])
    data = memoryview(body)[length:]
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list):
        if data:  # nothing claims these bytes; columns_from_v2 refuses the header too
            raise RequestError("the binary header has no 'inputs' list", status=400)
        return payload
    offset = 0
    for i, spec in enumerate(inputs):
        if not isinstance(spec, dict):
            continue  # columns_from_v2 says what is wrong with it
        size = _binary_size(spec, i)
        if size is None:
            continue
        name = _name(spec, i)
        if offset + size > len(data):
            raise RequestError(
                f"input {name!r} needs {size} bytes of binary data at byte {offset}, but only "
                f"{len(data) - offset} follow: binary_data_size values must add up to the "
                f"{len(data)} bytes after the header",
                status=400,
                field=name,
            )
        spec["data"] = decode_tensor(spec, data[offset : offset + size], name)
        offset += size
    if offset != len(data):
        raise RequestError(
            f"{len(data) - offset} bytes follow the last input's binary data; the inputs' "
            f"binary_data_size values add up to {offset} of the {len(data)} after the header",
            status=400,
            field="binary_data_size",
        )
    return payload


def _name(spec: dict[str, Any], i: int) -> str:
    name = spec.get("name")
    return name if isinstance(name, str) else f"inputs[{i}]"


def _binary_size(spec: dict[str, Any], i: int) -> int | None:
    """The input's ``binary_data_size`` (None: its data is JSON)."""
    parameters = spec.get("parameters")
    name = _name(spec, i)
    if parameters is None or (
        isinstance(parameters, dict) and "binary_data_size" not in parameters
    ):
        if "data" not in spec:
            raise RequestError(
                f"input {name!r} has neither data nor parameters.binary_data_size",
                status=422,
                field=name,
                expected="data, or parameters.binary_data_size and its bytes after the header",
            )
        return None
    if not isinstance(parameters, dict):
        raise RequestError(f"input {name!r}: parameters must be an object", status=422, field=name)
    size = parameters["binary_data_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RequestError(
            f"input {name!r} has binary_data_size {size!r}; expected a size in bytes (0 or more)",
            status=422,
            field=name,
            expected="an integer >= 0",
        )
    if "data" in spec:
        raise RequestError(
            f"input {name!r} has both data and a binary_data_size; send one",
            status=422,
            field=name,
        )
    return size


def decode_tensor(spec: dict[str, Any], blob: memoryview, name: str) -> Any:
    """A tensor's raw bytes (binary extension, gRPC ``raw_input_contents``), checked
    against its shape and datatype: numbers as a flat NumPy array over the bytes (no
    copy), BOOL and BYTES as the list of values its JSON ``data`` would hold."""
    shape = tensor_shape(spec.get("shape"), f"inputs[{name!r}]", name)
    datatype = spec.get("datatype")
    kind = datatype.upper() if isinstance(datatype, str) else None
    count = math.prod(shape)
    if kind == "BYTES":
        return _strings(blob, count, name)
    if kind not in _FIXED:
        raise RequestError(
            f"input {name!r} has datatype {datatype!r}; binary data is one of {_KNOWN}",
            status=422,
            field=name,
            expected=_KNOWN,
        )
    dtype = np.dtype(_FIXED[kind])
    if len(blob) != count * dtype.itemsize:
        raise RequestError(
            f"input {name!r} has {len(blob)} bytes of binary data, but shape {shape} of "
            f"{kind} ({dtype.itemsize} bytes each) needs {count * dtype.itemsize}",
            status=422,
            field=name,
            expected=f"{count * dtype.itemsize} bytes",
        )
    array = np.frombuffer(blob, dtype=dtype)
    if kind == "BOOL":
        if (array > 1).any():
            raise RequestError(
                f"input {name!r} is BOOL but holds a byte other than 0 or 1",
                status=422,
                field=name,
                expected="bytes 0 (false) or 1 (true)",
            )
        values: list[Any] = array.astype(bool).tolist()  # checked as JSON's booleans
        return values
    return array


def _strings(blob: memoryview, count: int, name: str) -> list[Any]:
    """``BYTES`` elements: each a 4-byte little-endian length, then that many bytes."""
    values: list[Any] = []
    offset, end = 0, len(blob)
    while offset < end:
        if offset + 4 > end:
            raise _bytes_error(name, f"a length prefix is cut short at byte {offset}")
        (size,) = _PREFIX.unpack_from(blob, offset)
        offset += 4
        if offset + size > end:
            raise _bytes_error(
                name, f"element {len(values)} claims {size} bytes but {end - offset} remain"
            )
        try:
            values.append(bytes(blob[offset : offset + size]).decode("utf-8"))
        except UnicodeDecodeError:
            raise _bytes_error(name, f"element {len(values)} is not UTF-8 text") from None
        offset += size
    return values  # columns_from_v2 checks the count against the shape


def _bytes_error(name: str, what: str) -> RequestError:
    return RequestError(
        f"input {name!r} is BYTES, but {what}",
        status=422,
        field=name,
        expected="each element as a 4-byte little-endian length, then its bytes",
    )


def binary_outputs(payload: dict[str, Any], names: list[str]) -> frozenset[str]:
    """The outputs to answer in binary: per output ``parameters.binary_data``, else the
    request's ``parameters.binary_data_output`` (none when neither says so).

    Args:
        payload: the v2 payload (its ``outputs`` already checked).
        names: the outputs the answer holds.

    Raises:
        RequestError: one of those flags is not true or false.

    Example:
        >>> binary_outputs({"parameters": {"binary_data_output": True}}, ["predict"])
        frozenset({'predict'})
    """
    default = _flag(payload.get("parameters"), "binary_data_output", False, "parameters")
    asked = payload.get("outputs")
    if asked is None:
        return frozenset(names) if default else frozenset()
    chosen = set()
    for output in asked:
        where = f"outputs[{output['name']!r}].parameters"
        if _flag(output.get("parameters"), "binary_data", default, where):
            chosen.add(output["name"])
    return frozenset(chosen)


def _flag(parameters: Any, key: str, default: bool, where: str) -> bool:
    if parameters is None:
        return default
    if not isinstance(parameters, dict):
        raise RequestError(f"{where} must be an object", status=422, field=where)
    value = parameters.get(key, default)
    if not isinstance(value, bool):
        raise RequestError(
            f"{where}.{key} is {value!r}; expected true or false",
            status=422,
            field=where,
            expected="true or false",
        )
    return value


def tensor_bytes(datatype: str, data: Any) -> bytes:
    """Values as a raw tensor of ``datatype`` (the inverse of :func:`decode_tensor`)."""
    if datatype == "BYTES":
        parts = []
        for value in data:
            raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
            parts += [_PREFIX.pack(len(raw)), raw]
        return b"".join(parts)
    return np.ascontiguousarray(data, dtype=_FIXED[datatype]).tobytes()


def encode_outputs(body: dict[str, Any], binary: frozenset[str]) -> tuple[bytes, int | None]:
    """A v2 response body as bytes, the outputs named in ``binary`` as raw tensors.

    Returns:
        The content, and the length of its JSON header (None when nothing is binary:
        then the content is JSON, as without the extension).

    Example:
        >>> body = {"outputs": [{"name": "p", "datatype": "FP64", "shape": [1], "data": [0.5]}]}
        >>> content, length = encode_outputs(body, frozenset({"p"}))
        >>> content[:length]
        b'{"outputs":[{"name":"p","datatype":"FP64","shape":[1],"parameters":{"binary_data_size":8}}]}'
        >>> content[length:] == struct.pack("<d", 0.5)
        True
    """
    blobs = []
    for tensor in body["outputs"]:
        if tensor["name"] in binary:
            blob = tensor_bytes(tensor["datatype"], tensor.pop("data"))
            tensor["parameters"] = {**tensor.get("parameters", {}), "binary_data_size": len(blob)}
            blobs.append(blob)
    header = dumps(body)
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)
