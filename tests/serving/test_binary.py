"""The binary tensor extension of Open Inference Protocol v2, as ``tritonclient`` sends it.

``tritonclient.http`` (a test dependency) talks to a real server on 127.0.0.1: binary
tensors on and off, outputs in binary or JSON, bodies compressed or not, for every
datatype a signature's columns take. Malformed binary bodies are sent as raw bytes:
each is a 4xx naming what is wrong, and the server keeps answering.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alambic.models import package
from alambic.serving import create_endpoint
from alambic.serving._predictor import Predictor, RequestError
from tests.serving.helpers import lgbm, register_live, split

httpclient = pytest.importorskip("tritonclient.http")

NUMERIC = ["FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64"]
NUMERIC += ["UINT8", "UINT16", "UINT32", "UINT64"]
NUMPY = {name: np.dtype(name.replace("FP", "float").lower()) for name in NUMERIC}
PRICES = [100.0, 90.0, 120.0]  # exact in every numeric datatype, INT8 and FP16 included
YEARS = [2010, 2015, 2020]  # exact in all but INT8 and UINT8
BRANDS = ["bmw", "alpine", "citroen"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "price": PRICES,
            "year": YEARS,
            "brand": pd.Categorical(BRANDS, categories=["alpine", "bmw", "citroen"]),
        }
    )


def _input(name: str, values: np.ndarray, datatype: str, *, binary: bool) -> Any:
    tensor = httpclient.InferInput(name, list(values.shape), datatype)
    tensor.set_data_from_numpy(values, binary_data=binary)
    return tensor


def _toy_inputs(datatype: str, *, binary: bool) -> list[Any]:
    year_type = datatype if datatype not in ("INT8", "UINT8") else "INT64"
    return [
        _input("price", np.array(PRICES, dtype=NUMPY[datatype]), datatype, binary=binary),
        _input("year", np.array(YEARS, dtype=NUMPY[year_type]), year_type, binary=binary),
        _input("brand", np.array(BRANDS, dtype=object), "BYTES", binary=binary),
    ]


def _triton(url: str) -> Any:
    return httpclient.InferenceServerClient(url.removeprefix("http://"), network_timeout=30)


@pytest.mark.parametrize("compression", [None, "gzip", "deflate"], ids=["plain", "gzip", "deflate"])
@pytest.mark.parametrize("binary_in", [True, False], ids=["binary-in", "json-in"])
def test_tritonclient_scores_every_numeric_datatype_and_bytes(
    toy: Any, serve_app: Any, binary_in: bool, compression: str | None
) -> None:
    expected = toy.predict(_frame())
    proba = toy.predict_proba(_frame())
    with serve_app(["toy"]) as (url, _):
        triton = _triton(url)
        try:
            for datatype in NUMERIC:
                for binary_out in (True, False):
                    outputs = [
                        httpclient.InferRequestedOutput("predict", binary_data=binary_out),
                        httpclient.InferRequestedOutput("predict_proba", binary_data=binary_out),
                    ]
                    result = triton.infer(
                        "toy",
                        _toy_inputs(datatype, binary=binary_in),
                        outputs=outputs,
                        request_compression_algorithm=compression,
                        response_compression_algorithm=compression,
                    )
                    where = f"{datatype}, binary out {binary_out}"
                    assert result.as_numpy("predict").tolist() == expected.tolist(), where
                    np.testing.assert_allclose(result.as_numpy("predict_proba"), proba)
                    response = result.get_response()
                    sizes = [
                        o.get("parameters", {}).get("binary_data_size") for o in response["outputs"]
                    ]
                    assert all((s is not None) == binary_out for s in sizes), where
        finally:
            triton.close()


def test_tritonclient_defaults_ask_for_binary_outputs_and_versions_route(
    toy: Any, serve_app: Any, client: Any
) -> None:
    """Without ``outputs``, tritonclient sets ``binary_data_output``: every output is binary."""
    with serve_app(["toy"]) as (url, _):
        triton = _triton(url)
        try:
            result = triton.infer(
                "toy", _toy_inputs("FP64", binary=True), model_version="1", request_id="r-7"
            )
            response = result.get_response()
            assert response["id"] == "r-7" and response["model_version"] == "1"
            assert [o["name"] for o in response["outputs"]] == ["predict", "predict_proba"]
            assert all("binary_data_size" in o["parameters"] for o in response["outputs"])
            assert result.as_numpy("predict").tolist() == toy.predict(_frame()).tolist()
            only = triton.infer(
                "toy",
                _toy_inputs("FP32", binary=True),
                outputs=[httpclient.InferRequestedOutput("predict_proba")],
            )
            assert only.as_numpy("predict") is None
            assert only.as_numpy("predict_proba").shape == (3, 2)
        finally:
            triton.close()
        metrics = client.get(f"{url}/metrics").text
        assert 'protocol="v2",status="200"' in metrics


def _flags() -> Any:
    """A model whose signature holds a bool and a string column (kinds bool, string)."""
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "used": rng.random(200) > 0.5,
            "colour": rng.choice(["red", "blue", "green"], 200).astype(object),
        }
    )
    target = (frame.used ^ (frame.colour == "red")).astype(int)
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    estimator = make_pipeline(encode, DecisionTreeClassifier(random_state=0))
    return package(estimator.fit(frame, target), frame, target)


@pytest.mark.parametrize("compression", [None, "gzip"], ids=["plain", "gzip"])
def test_tritonclient_sends_bool_and_string_columns(
    serve_app: Any, compression: str | None
) -> None:
    model = _flags()
    register_live(model, "flags")
    create_endpoint("flags", variants=["flags@production"], public=True)
    frame = pd.DataFrame({"used": [True, False, True], "colour": ["red", "blue", "grün"]})
    expected = model.predict(frame.astype({"colour": object})).tolist()
    with serve_app(["flags"]) as (url, _):
        triton = _triton(url)
        try:
            for binary in (True, False):
                inputs = [
                    _input("used", frame.used.to_numpy(), "BOOL", binary=binary),
                    _input("colour", frame.colour.to_numpy(object), "BYTES", binary=binary),
                ]
                result = triton.infer(
                    "flags",
                    inputs,
                    outputs=[httpclient.InferRequestedOutput("predict", binary_data=binary)],
                    request_compression_algorithm=compression,
                )
                assert result.as_numpy("predict").tolist() == expected
        finally:
            triton.close()


def test_string_labels_come_back_as_binary_bytes(serve_app: Any) -> None:
    import lightgbm as lgb

    frame = _frame().iloc[[0, 1, 2] * 20].reset_index(drop=True)
    labels = pd.Series(["cheap", "dear", "cheap"] * 20)
    model = package(lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(frame, labels), frame)
    register_live(model, "labels")
    create_endpoint("labels", variants=["labels@production"], public=True)
    with serve_app(["labels"]) as (url, _):
        triton = _triton(url)
        try:
            result = triton.infer("labels", _toy_inputs("FP64", binary=True))
        finally:
            triton.close()
    expected = model.predict(_frame()).tolist()
    assert [v.decode() for v in result.as_numpy("predict").tolist()] == expected


# -- malformed binary bodies ------------------------------------------------------------


def _header(*inputs: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"inputs": list(inputs), **extra}).encode()


def _spec(name: str, datatype: str, shape: list[int], size: Any) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": datatype,
        "shape": shape,
        "parameters": {"binary_data_size": size},
    }


def _strings(*values: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


PRICE = _spec("price", "FP64", [1], 8)
YEAR = _spec("year", "INT64", [1], 8)
BRAND = _spec("brand", "BYTES", [1], 7)
GOOD_DATA = struct.pack("<d", 120.0) + struct.pack("<q", 2010) + _strings(b"bmw")
GOOD_HEADER = _header(PRICE, YEAR, BRAND)


def _case(header: bytes, data: bytes, length: Any = None) -> tuple[bytes, str]:
    return header + data, str(len(header) if length is None else length)


# (body, Inference-Header-Content-Length, status, what the error names)
BAD: dict[str, tuple[bytes, str, int, str]] = {
    "header-length-0": (*_case(GOOD_HEADER, GOOD_DATA, 0), 400, "inference-header"),
    "header-past-body": (*_case(GOOD_HEADER, GOOD_DATA, 10_000), 400, "inference-header"),
    "header-negative": (*_case(GOOD_HEADER, GOOD_DATA, -3), 400, "inference-header"),
    "header-not-a-number": (*_case(GOOD_HEADER, GOOD_DATA, "\u00b2"), 400, "inference-header"),
    "header-not-json": (*_case(b"{inputs: [", GOOD_DATA), 400, ""),
    "header-cut-in-json": (*_case(GOOD_HEADER, GOOD_DATA, len(GOOD_HEADER) - 1), 400, ""),
    "no-inputs-list": (*_case(b'{"inputs": 3}', GOOD_DATA), 400, ""),
    "negative-size": (
        *_case(_header(PRICE, YEAR, _spec("brand", "BYTES", [1], -7)), GOOD_DATA),
        422,
        "brand",
    ),
    "size-not-integer": (
        *_case(_header(_spec("price", "FP64", [1], "8"), YEAR, BRAND), GOOD_DATA),
        422,
        "price",
    ),
    "size-missing": (
        *_case(
            _header({"name": "price", "datatype": "FP64", "shape": [1]}, YEAR, BRAND), GOOD_DATA
        ),
        422,
        "price",
    ),
    "data-and-size": (
        *_case(_header({**PRICE, "data": [1.0]}, YEAR, BRAND), GOOD_DATA),
        422,
        "price",
    ),
    "sizes-past-the-end": (
        *_case(_header(PRICE, YEAR, _spec("brand", "BYTES", [1], 70)), GOOD_DATA),
        400,
        "brand",
    ),
    "garbage-after-last": (*_case(GOOD_HEADER, GOOD_DATA + b"\x00junk"), 400, "binary_data"),
    "size-not-shape-times-type": (
        *_case(_header(_spec("price", "FP64", [2], 8), YEAR, BRAND), GOOD_DATA),
        422,
        "price",
    ),
    "fp32-size-for-fp64": (
        *_case(_header(_spec("price", "FP32", [1], 8), YEAR, BRAND), GOOD_DATA),
        422,
        "price",
    ),
    "bytes-prefix-past-end": (
        *_case(GOOD_HEADER, GOOD_DATA[:16] + struct.pack("<I", 99) + b"bmw"),
        422,
        "brand",
    ),
    "bytes-prefix-cut": (
        *_case(_header(PRICE, YEAR, _spec("brand", "BYTES", [1], 2)), GOOD_DATA[:16] + b"\x03\x00"),
        422,
        "brand",
    ),
    "bytes-not-utf8": (
        *_case(GOOD_HEADER, GOOD_DATA[:16] + _strings(b"\xff\xfe\xfd")),
        422,
        "brand",
    ),
    "bytes-count-not-shape": (
        *_case(_header(PRICE, YEAR, _spec("brand", "BYTES", [2], 7)), GOOD_DATA),
        422,
        "brand",
    ),
    "wrong-datatype-for-column": (
        *_case(_header(PRICE, YEAR, _spec("brand", "FP64", [1], 8)), GOOD_DATA[:16] + b"\x00" * 8),
        422,
        "brand",
    ),
    "bytes-for-a-number": (
        *_case(
            _header(_spec("price", "BYTES", [1], 7), YEAR, BRAND), _strings(b"120") + GOOD_DATA[8:]
        ),
        422,
        "price",
    ),
    "unknown-datatype": (
        *_case(_header(_spec("price", "FP128", [1], 8), YEAR, BRAND), GOOD_DATA),
        422,
        "price",
    ),
    "bad-shape": (
        *_case(_header(_spec("price", "FP64", [-1], 8), YEAR, BRAND), GOOD_DATA),
        422,
        "price",
    ),
    "not-finite": (
        *_case(GOOD_HEADER, struct.pack("<d", float("nan")) + GOOD_DATA[8:]),
        422,
        "price",
    ),
    "bad-binary-output-flag": (
        *_case(_header(PRICE, YEAR, BRAND, parameters={"binary_data_output": "yes"}), GOOD_DATA),
        422,
        "parameters",
    ),
    "bad-output-flag": (
        *_case(
            _header(
                PRICE, YEAR, BRAND, outputs=[{"name": "predict", "parameters": {"binary_data": 1}}]
            ),
            GOOD_DATA,
        ),
        422,
        "outputs",
    ),
}


def _parse(body: bytes, length: str, **headers: str) -> Any:
    from alambic.serving._scoring import _v2_parse

    return _v2_parse(body, {"inference-header-content-length": length, **headers}, _predictor())


_PREDICTOR: list[Predictor] = []


def _predictor() -> Predictor:
    if not _PREDICTOR:
        _PREDICTOR.append(Predictor(lgbm(), "toy/1"))
    return _PREDICTOR[0]


def test_a_good_binary_body_parses_into_the_json_bodys_columns() -> None:
    parsed = _parse(*_case(GOOD_HEADER, GOOD_DATA))
    assert parsed.columns == {"price": [120.0], "year": [2010], "brand": ["bmw"]}
    assert parsed.binary == frozenset()  # outputs in JSON unless asked


@pytest.mark.parametrize(("body", "length", "status", "names"), BAD.values(), ids=list(BAD))
def test_a_malformed_binary_body_is_a_4xx_naming_the_input(
    body: bytes, length: str, status: int, names: str
) -> None:
    predictor = _predictor()
    with pytest.raises(RequestError) as caught:
        predictor.matrix(_parse(body, length).columns)
    error = caught.value
    assert error.status == status, str(error)
    shown = f"{error} {error.field}".lower()
    assert names in shown, shown


def test_malformed_binary_and_compressed_bodies_get_4xx_and_the_server_keeps_answering(
    serve_app: Any, client: Any
) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True, max_body_bytes=64 * 1024)
    good, good_length = _case(GOOD_HEADER, GOOD_DATA)
    compressed: dict[str, tuple[bytes, dict[str, str], int]] = {
        "gzip-garbage": (b"\x1f\x8bnot gzip", {"content-encoding": "gzip"}, 400),
        "gzip-truncated": (gzip.compress(good)[:-6], {"content-encoding": "gzip"}, 400),
        "deflate-garbage": (b"not deflate", {"content-encoding": "deflate"}, 400),
        "unknown-encoding": (good, {"content-encoding": "br"}, 415),
        # 10 KiB on the wire, 10 MiB inflated: the 64 KiB limit holds for what it inflates to
        "zip-bomb": (gzip.compress(b"\x00" * (10 << 20)), {"content-encoding": "gzip"}, 413),
    }
    with serve_app(["toy"]) as (url, _):
        infer = f"{url}/v2/models/toy/infer"
        for name, (body, length, status, _names) in BAD.items():
            answer = client.post(
                infer,
                content=body,
                headers={"inference-header-content-length": length.encode("latin-1")},
            )
            assert answer.status_code == status, (name, answer.text)
            assert answer.json()["error"], name
        for name, (body, headers, status) in compressed.items():
            headers = {**headers, "inference-header-content-length": good_length}
            answer = client.post(infer, content=body, headers=headers)
            assert answer.status_code == status, (name, answer.text)
        for encode, encoding in ((gzip.compress, "gzip"), (zlib.compress, "deflate")):
            headers = {"content-encoding": encoding, "inference-header-content-length": good_length}
            answer = client.post(infer, content=encode(good), headers=headers)
            assert answer.status_code == 200, answer.text
        answer = client.post(
            infer, content=good, headers={"inference-header-content-length": good_length}
        )
        assert answer.status_code == 200 and answer.json()["outputs"][0]["data"]
        metrics = client.get(f"{url}/metrics").text
        assert 'status="500"' not in metrics


def test_binary_outputs_and_large_answers_compressed_on_request(
    toy: Any, serve_app: Any, client: Any
) -> None:
    n = 200
    rows = {
        "price": struct.pack(f"<{n}d", *([PRICES[0]] * n)),
        "year": struct.pack(f"<{n}q", *([2010] * n)),
        "brand": _strings(*[b"bmw"] * n),
    }
    header = _header(
        _spec("price", "FP64", [n], len(rows["price"])),
        _spec("year", "INT64", [n, 1], len(rows["year"])),
        _spec("brand", "BYTES", [n], len(rows["brand"])),
        outputs=[
            {"name": "predict_proba", "parameters": {"binary_data": True}},
            {"name": "predict"},
        ],
    )
    body = header + b"".join(rows.values())
    headers = {"inference-header-content-length": str(len(header)), "accept-encoding": "gzip"}
    with serve_app(["toy"]) as (url, _):
        answer = client.post(f"{url}/v2/models/toy/infer", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-encoding"] == "gzip"  # httpx inflated it
    length = int(answer.headers["inference-header-content-length"])
    head = json.loads(answer.content[:length])
    outputs = {o["name"]: o for o in head["outputs"]}
    proba, predict = outputs["predict_proba"], outputs["predict"]
    assert proba["parameters"]["binary_data_size"] == n * 2 * 8 == len(answer.content) - length
    assert "data" not in proba and len(predict["data"]) == n  # JSON unless asked
    values = np.frombuffer(answer.content[length:], dtype="<f8").reshape(n, 2)
    np.testing.assert_allclose(values, toy.predict_proba(_frame().iloc[[0] * n]))


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(-2, 40) | st.none() | st.text(max_size=2), max_size=4),
    datatypes=st.lists(
        st.sampled_from(["FP64", "INT64", "BYTES", "BOOL", "FP16", "X"]), min_size=4, max_size=4
    ),
    shapes=st.lists(st.lists(st.integers(-1, 3), max_size=2), min_size=4, max_size=4),
    data=st.binary(max_size=64),
    slack=st.integers(-3, 3),
)
def test_any_binary_body_is_scored_or_refused_with_a_4xx(
    sizes: list[Any], datatypes: list[str], shapes: list[list[int]], data: bytes, slack: int
) -> None:
    names = ["price", "year", "brand", "x"]
    specs = [_spec(names[i], datatypes[i], shapes[i], size) for i, size in enumerate(sizes)]
    header = _header(*specs)
    predictor = _predictor()
    try:
        parsed = _parse(header + data, str(len(header) + slack))
        outputs = predictor.predict(predictor.matrix(parsed.columns))
    except RequestError as exc:
        assert 400 <= exc.status < 500 and str(exc)
    else:
        assert len(outputs.predictions) >= 1


def test_json_bodies_are_unchanged_when_no_header_length_is_sent(
    toy: Any, serve_app: Any, client: Any
) -> None:
    body = {
        "inputs": [
            {"name": "price", "shape": [1], "datatype": "FP64", "data": [1.0]},
            {"name": "year", "shape": [1], "datatype": "INT64", "data": [2010]},
            {"name": "brand", "shape": [1], "datatype": "BYTES", "data": ["bmw"]},
        ]
    }
    with serve_app(["toy"]) as (url, _):
        plain = client.post(f"{url}/v2/models/toy/infer", json=body)
        packed = client.post(
            f"{url}/v2/models/toy/infer",
            content=gzip.compress(json.dumps(body).encode()),
            headers={"content-encoding": "gzip", "content-type": "application/json"},
        )
        mlflow = client.post(
            f"{url}/invocations",
            content=zlib.compress(json.dumps(split([[120.0, 2010, "bmw"]])).encode()),
            headers={"content-encoding": "deflate", "content-type": "application/json"},
        )
    assert plain.status_code == packed.status_code == 200, packed.text
    assert "inference-header-content-length" not in plain.headers
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["outputs"] == packed.json()["outputs"]
    assert mlflow.status_code == 200, mlflow.text  # /invocations takes compressed bodies too
