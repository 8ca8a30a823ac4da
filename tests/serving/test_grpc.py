"""Open Inference Protocol v2 over gRPC, as ``tritonclient.grpc`` and KServe stubs call it.

A real server on 127.0.0.1 (the app's lifespan starts gRPC beside uvicorn): health and
metadata, inference with raw and typed contents, numeric and string columns, errors
with their gRPC status, tokens from the ``authorization`` metadata, metrics and the
access log shared with HTTP; and the committed stubs match what the script writes.
"""

from __future__ import annotations

import filecmp
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alambic.serving import create_endpoint, create_token
from alambic.serving._proto import grpc_predict_v2_pb2 as pb
from alambic.serving._proto import grpc_predict_v2_pb2_grpc as pb_grpc
from tests.helpers import wait_until
from tests.serving.helpers import free_port, lgbm, register_live

tritongrpc = pytest.importorskip("tritonclient.grpc")
InferenceServerException = pytest.importorskip("tritonclient.utils").InferenceServerException

ROOT = Path(__file__).resolve().parents[2]
PRICES = [100.0, 90.0, 120.0]
YEARS = [2010, 2015, 2020]
BRANDS = ["bmw", "alpine", "citroen"]
NUMERIC = ["FP16", "FP32", "FP64", "INT16", "INT32", "INT64", "UINT16", "UINT32", "UINT64"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "price": PRICES,
            "year": YEARS,
            "brand": pd.Categorical(BRANDS, categories=["alpine", "bmw", "citroen"]),
        }
    )


@contextmanager
def _grpc_server(serve_app: Any, endpoints: list[str]) -> Iterator[tuple[str, str]]:
    """(HTTP url, gRPC target) of a server with both transports."""
    port = free_port()
    with serve_app(endpoints, grpc_port=port) as (url, _state):
        yield url, f"127.0.0.1:{port}"


def _inputs(datatype: str, brands: list[str] = BRANDS) -> list[Any]:
    numpy = np.dtype(datatype.replace("FP", "float").lower())
    tensors = []
    for name, values, kind in (
        ("price", np.array(PRICES, dtype=numpy), datatype),
        ("year", np.array(YEARS, dtype=numpy if datatype != "FP16" else np.int64), None),
        ("brand", np.array(brands, dtype=object), "BYTES"),
    ):
        kind = kind or ("INT64" if datatype == "FP16" else datatype)
        tensor = tritongrpc.InferInput(name, list(values.shape), kind)
        tensor.set_data_from_numpy(values)  # raw_input_contents, as tritonclient sends
        tensors.append(tensor)
    return tensors


def _typed_request(model: str = "toy") -> Any:
    request = pb.ModelInferRequest(model_name=model, id="typed-1")
    price = request.inputs.add(name="price", datatype="FP64", shape=[3])
    price.contents.fp64_contents.extend(PRICES)
    year = request.inputs.add(name="year", datatype="INT64", shape=[3, 1])
    year.contents.int64_contents.extend(YEARS)
    brand = request.inputs.add(name="brand", datatype="BYTES", shape=[3])
    brand.contents.bytes_contents.extend(b.encode() for b in BRANDS)
    return request


def test_committed_stubs_are_what_the_script_writes(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    script = ROOT / "scripts" / "generate_protos.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True)
    generated = sorted(tmp_path.rglob("*_pb2*"))
    assert generated, "the script wrote nothing"
    for path in generated:
        committed = ROOT / "src" / path.relative_to(tmp_path)
        assert committed.exists(), f"{committed} is not committed: run {script.name}"
        assert filecmp.cmp(path, committed, shallow=False), (
            f"{committed} is stale: run python scripts/generate_protos.py"
        )


def test_tritonclient_sees_a_live_ready_server_and_its_model(toy: Any, serve_app: Any) -> None:
    with _grpc_server(serve_app, ["toy"]) as (_url, target):
        client = tritongrpc.InferenceServerClient(target)
        try:
            assert client.is_server_live()
            assert client.is_server_ready()
            assert client.get_server_metadata().name == "alambic"
            assert client.is_model_ready("toy")
            assert client.is_model_ready("toy", "1")
            assert not client.is_model_ready("toy", "99")
            assert not client.is_model_ready("nothing-here")
            meta = client.get_model_metadata("toy")
            assert meta.name == "toy"
            assert list(meta.versions) == ["1"]
            assert [(i.name, i.datatype) for i in meta.inputs] == [
                ("price", "FP64"),
                ("year", "INT64"),
                ("brand", "BYTES"),
            ]
            assert [o.name for o in meta.outputs] == ["predict", "predict_proba"]
            with pytest.raises(InferenceServerException) as caught:
                client.get_model_metadata("nothing-here")
            assert caught.value.status() == "StatusCode.NOT_FOUND"
        finally:
            client.close()


@pytest.mark.parametrize("datatype", NUMERIC, ids=NUMERIC)
def test_tritonclient_scores_numeric_and_string_columns_in_raw_contents(
    toy: Any, serve_app: Any, datatype: str
) -> None:
    with _grpc_server(serve_app, ["toy"]) as (_url, target):
        client = tritongrpc.InferenceServerClient(target)
        try:
            result = client.infer("toy", _inputs(datatype), request_id="req-7")
        finally:
            client.close()
    assert result.as_numpy("predict").tolist() == toy.predict(_frame()).tolist()
    np.testing.assert_allclose(result.as_numpy("predict_proba"), toy.predict_proba(_frame()))
    response = result.get_response()
    assert response.id == "req-7"
    assert response.model_name == "toy"
    assert response.parameters["variant"].string_param == "toy@production"
    assert json.loads(response.outputs[1].parameters["classes"].string_param) == [0, 1]


def test_typed_contents_and_requested_outputs_score_as_raw_ones(toy: Any, serve_app: Any) -> None:
    with _grpc_server(serve_app, ["toy"]) as (_url, target), grpc.insecure_channel(target) as ch:
        stub = pb_grpc.GRPCInferenceServiceStub(ch)
        request = _typed_request()
        request.outputs.add(name="predict")
        response, call = stub.ModelInfer.with_call(request, metadata=[("x-request-id", "r-1")])
    assert [o.name for o in response.outputs] == ["predict"]
    predicted = np.frombuffer(response.raw_output_contents[0], dtype="<i8")
    assert predicted.tolist() == toy.predict(_frame()).tolist()
    assert response.id == "typed-1"  # the request's own id, as over HTTP
    trailing = dict(call.trailing_metadata())
    assert trailing["x-alambic-variant"] == "toy@production"
    assert trailing["x-alambic-model"].startswith("toy/")
    assert trailing["x-request-id"] == "typed-1"


BAD: list[tuple[str, Any, grpc.StatusCode, str]] = [
    (
        "unknown-model",
        lambda r: setattr(r, "model_name", "nope"),
        grpc.StatusCode.NOT_FOUND,
        "no endpoint 'nope'",
    ),
    (
        "unknown-version",
        lambda r: setattr(r, "model_version", "9"),
        grpc.StatusCode.NOT_FOUND,
        "no version 9",
    ),
    (
        "wrong-datatype",
        lambda r: r.inputs[2].CopyFrom(
            pb.ModelInferRequest.InferInputTensor(
                name="brand",
                datatype="FP64",
                shape=[3],
                contents=pb.InferTensorContents(fp64_contents=[1, 2, 3]),
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "datatype FP64",
    ),
    (
        "shape-mismatch",
        lambda r: r.inputs[0].shape.__setitem__(0, 4),
        grpc.StatusCode.INVALID_ARGUMENT,
        "shape [4] needs 4",
    ),
    (
        "contents-in-the-wrong-field",
        lambda r: r.inputs[1].MergeFrom(
            pb.ModelInferRequest.InferInputTensor(
                contents=pb.InferTensorContents(int_contents=[1, 2, 3])
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "contents.int_contents",
    ),
    (
        "raw-of-the-wrong-size",
        lambda r: (
            [t.ClearField("contents") for t in r.inputs],
            r.raw_input_contents.extend([b"\0" * 24, b"\0" * 24, b"\0" * 3]),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "brand",
    ),
    (
        "raw-not-one-per-input",
        lambda r: ([t.ClearField("contents") for t in r.inputs], r.raw_input_contents.append(b"")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "one per input",
    ),
    (
        "unknown-column",
        lambda r: setattr(r.inputs[0], "name", "colour"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "'colour'",
    ),
]


def test_bad_requests_get_their_grpc_status_and_the_server_keeps_answering(
    toy: Any, serve_app: Any
) -> None:
    # A token: as over HTTP, only a caller with one learns that an endpoint is not served.
    metadata = [("authorization", f"Bearer {create_token('site', scope='invoke')[0]}")]
    with _grpc_server(serve_app, ["toy"]) as (url, target), grpc.insecure_channel(target) as ch:
        stub = pb_grpc.GRPCInferenceServiceStub(ch)
        for label, spoil, code, text in BAD:
            request = _typed_request()
            spoil(request)
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelInfer(request, metadata=metadata)
            assert caught.value.code() == code, label
            assert text in caught.value.details(), (label, caught.value.details())
            trailing = dict(caught.value.trailing_metadata())
            assert trailing.get("x-request-id"), label
        assert len(stub.ModelInfer(_typed_request()).outputs) == 2  # still answering
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    assert 'endpoint="toy",protocol="grpc",status="422"' in metrics  # counted as HTTP's are
    assert 'endpoint="-",protocol="grpc",status="404"' in metrics  # no series per unknown name
    assert 'endpoint="toy",protocol="grpc",status="200"' in metrics


def test_a_private_endpoint_takes_its_token_from_the_authorization_metadata(
    serve_app: Any,
) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"])  # private
    create_endpoint("other", variants=["toy@production"])
    token = create_token("site", scope="invoke")[0]
    narrow = create_token("narrow", scope="invoke", endpoints=["other"])[0]
    with _grpc_server(serve_app, ["toy", "other"]) as (_url, target):
        with grpc.insecure_channel(target) as ch:
            stub = pb_grpc.GRPCInferenceServiceStub(ch)
            cases = [
                ([], grpc.StatusCode.UNAUTHENTICATED, "needs a token"),
                ([("authorization", "Bearer alm_nope_nope")], grpc.StatusCode.UNAUTHENTICATED, ""),
                ([("authorization", "Basic eHl6")], grpc.StatusCode.UNAUTHENTICATED, "Basic"),
                ([("authorization", f"Bearer {narrow}")], grpc.StatusCode.PERMISSION_DENIED, ""),
            ]
            for metadata, code, text in cases:
                with pytest.raises(grpc.RpcError) as caught:
                    stub.ModelInfer(_typed_request(), metadata=metadata)
                assert caught.value.code() == code, metadata
                assert text in caught.value.details()
            # 401 before 404: only a caller with a token learns which endpoints exist
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelInfer(_typed_request("nope"))
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelMetadata(pb.ModelMetadataRequest(name="toy"))
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        client = tritongrpc.InferenceServerClient(target)
        try:
            headers = {"authorization": f"Bearer {token}"}
            result = client.infer("toy", _inputs("FP64"), headers=headers)
            assert result.as_numpy("predict").shape == (3,)
            assert client.get_model_metadata("toy", headers=headers).name == "toy"
        finally:
            client.close()


def test_the_key_metadata_keeps_a_caller_on_one_variant_and_calls_are_logged(
    serve_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    register_live(lgbm(n_estimators=5), "small")
    register_live(lgbm(n_estimators=10))
    create_endpoint(
        "toy", variants=["a=toy@production:1", "b=small@production:1"], public=True, capture=1.0
    )
    with _grpc_server(serve_app, ["toy"]) as (_url, target), grpc.insecure_channel(target) as ch:
        stub = pb_grpc.GRPCInferenceServiceStub(ch)
        with caplog.at_level(logging.INFO, logger="alambic.serving.access"):
            for key in ("alice", "bob", "carol"):
                seen = set()
                for _ in range(5):
                    _, call = stub.ModelInfer.with_call(
                        _typed_request(), metadata=[("x-caller-id", key)]
                    )
                    seen.add(dict(call.trailing_metadata())["x-alambic-variant"])
                assert len(seen) == 1, key
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert len(lines) == 15
    assert {line["protocol"] for line in lines} == {"grpc"}
    assert lines[0]["path"] == "/inference.GRPCInferenceService/ModelInfer"


@pytest.mark.slow
def test_alambic_serve_grpc_port_serves_grpc_with_several_workers(
    toy: Any, home: Path, serve_process: Any
) -> None:
    port = free_port()
    args = ["--endpoint", "toy", "--workers", "2", "--grpc-port", str(port)]
    with serve_process(args, home):
        client = tritongrpc.InferenceServerClient(f"127.0.0.1:{port}")
        try:
            assert client.is_server_ready()
            for _ in range(10):
                result = client.infer("toy", _inputs("FP64"))
                assert result.as_numpy("predict").tolist() == toy.predict(_frame()).tolist()
        finally:
            client.close()


def test_shadows_score_a_grpc_request_after_its_answer(serve_app: Any) -> None:
    register_live(lgbm(n_estimators=5), "small")
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], shadows=["small@production"], public=True)
    with _grpc_server(serve_app, ["toy"]) as (url, target), grpc.insecure_channel(target) as ch:
        stub = pb_grpc.GRPCInferenceServiceStub(ch)
        assert len(stub.ModelInfer(_typed_request()).outputs) == 2

        def shadowed() -> bool:
            text = httpx.get(f"{url}/metrics", timeout=10).text
            return 'protocol="shadow",status="200",variant="small@production"} 1.0' in text

        wait_until(shadowed, timeout=10)


def test_a_client_that_gives_up_mid_call_disturbs_no_other_call(toy: Any, serve_app: Any) -> None:
    rows = 5000
    request = pb.ModelInferRequest(model_name="toy")
    for name, datatype, values in (
        ("price", "FP64", np.full(rows, 100.0)),
        ("year", "INT64", np.full(rows, 2010, dtype=np.int64)),
    ):
        request.inputs.add(name=name, datatype=datatype, shape=[rows])
        request.raw_input_contents.append(values.astype(f"<{values.dtype.str[1:]}").tobytes())
    request.inputs.add(name="brand", datatype="BYTES", shape=[rows])
    request.raw_input_contents.append(b"".join([b"\x03\x00\x00\x00bmw"] * rows))
    with _grpc_server(serve_app, ["toy"]) as (_url, target), grpc.insecure_channel(target) as ch:
        stub = pb_grpc.GRPCInferenceServiceStub(ch)
        for _ in range(5):
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelInfer(request, timeout=0.001)
            assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert len(stub.ModelInfer(request, timeout=30).raw_output_contents[0]) == rows * 8
        assert len(stub.ModelInfer(_typed_request(), timeout=30).outputs) == 2


_FIELDS = ["bool_contents", "int_contents", "int64_contents", "uint_contents"]
_FIELDS += ["uint64_contents", "fp32_contents", "fp64_contents", "bytes_contents"]
_DATATYPES = ["BOOL", "INT8", "INT32", "INT64", "UINT8", "UINT64", "FP16", "FP32", "FP64"]
_DATATYPES += ["BYTES", "BF16", "", "fp64", "STRING"]
_TENSORS = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["price", "year", "brand", "x", ""]),
        "datatype": st.sampled_from(_DATATYPES),
        "shape": st.lists(st.integers(-2, 4), max_size=3),
        "field": st.sampled_from([*_FIELDS, None]),
        "values": st.lists(st.integers(0, 255), max_size=5),
    }
)


def _value(field: str, number: int) -> Any:
    if field == "bytes_contents":
        return bytes([number])  # 128 and over: not UTF-8 alone
    if field == "bool_contents":
        return bool(number % 2)
    return float(number) if field.startswith("fp") else number


@given(
    tensors=st.lists(_TENSORS, max_size=4),
    raw=st.none() | st.lists(st.binary(max_size=40), max_size=4),
    outputs=st.lists(st.sampled_from(["predict", "predict_proba", "other"]), max_size=2),
)
@settings(max_examples=300, deadline=None)
def test_any_infer_request_parses_or_is_refused_as_a_bad_request(
    tensors: list[dict[str, Any]], raw: list[bytes] | None, outputs: list[str]
) -> None:
    from alambic.serving._grpc import _parse, grpc_status
    from alambic.serving._predictor import RequestError

    request = pb.ModelInferRequest(model_name="toy")
    for spec in tensors:
        tensor = request.inputs.add(name=spec["name"], datatype=spec["datatype"])
        tensor.shape.extend(spec["shape"])
        if spec["field"] is not None:
            values = [_value(spec["field"], v) for v in spec["values"]]
            getattr(tensor.contents, spec["field"]).extend(values)
    if raw is not None:
        request.raw_input_contents.extend(raw)
    for name in outputs:
        request.outputs.add(name=name)
    kinds = {"price": "float", "year": "int", "brand": "category"}
    predictor = SimpleNamespace(kinds=kinds, proba=True)
    try:
        parsed = _parse(request, request.SerializeToString(), {}, predictor)
    except RequestError as exc:
        assert 400 <= exc.status < 500
        assert grpc_status(exc) in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
        return
    assert set(parsed.columns) <= set(kinds)
