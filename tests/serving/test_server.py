"""The serving app on a real HTTP server: protocols, validation, traffic, capture, auth."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

import alambic as al
from alambic.serving import create_endpoint, create_token, read_capture, revoke_token
from tests.helpers import wait_until
from tests.serving.helpers import (
    COLUMNS,
    ROW,
    V2_ROW,
    halve,
    lgbm,
    register_live,
    split,
    toy_frame,
)


def test_mlflow_formats_agree_with_the_model(toy: Any, serve_app: Any, client: Any) -> None:
    frame, _ = toy_frame(n=5, seed=3)
    expected = toy.predict_proba(frame)
    rows = frame.astype(object).values.tolist()
    records = [dict(zip(COLUMNS, r, strict=True)) for r in rows]
    bodies = {
        "split": split(rows),
        "records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs-columns": {"inputs": {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}},
        "inputs-rows": {"inputs": rows},
    }
    with serve_app(["toy"]) as (url, _):
        for label, body in bodies.items():
            answer = client.post(f"{url}/invocations", json=body)
            assert answer.status_code == 200, (label, answer.text)
            data = answer.json()
            np.testing.assert_allclose(data["probabilities"], expected, rtol=1e-6, err_msg=label)
            assert data["predictions"] == list(np.argmax(expected, axis=1))
            assert data["model"] == "toy/1" and data["model_version"] == "1"
            assert data["variant"] == "toy@production" and len(data["request_id"]) == 32
            assert answer.headers["x-alambic-model"] == "toy/1"


def test_open_inference_protocol_v2(toy: Any, serve_app: Any, client: Any) -> None:
    frame, _ = toy_frame(n=3, seed=4)
    expected = toy.predict_proba(frame)
    tensors = [
        {"name": "price", "shape": [3], "datatype": "FP64", "data": frame.price.tolist()},
        {"name": "year", "shape": [3, 1], "datatype": "INT64", "data": frame.year.tolist()},
        {"name": "brand", "shape": [3], "datatype": "BYTES", "data": frame.brand.tolist()},
    ]
    with serve_app(["toy"]) as (url, _):
        assert client.get(f"{url}/v2/health/live").json() == {"live": True}
        assert client.get(f"{url}/v2/health/ready").status_code == 200
        assert client.get(f"{url}/v2").json()["name"] == "alambic"
        meta = client.get(f"{url}/v2/models/toy").json()
        assert [i["name"] for i in meta["inputs"]] == COLUMNS
        assert meta["inputs"][2]["datatype"] == "BYTES" and meta["versions"] == ["1"]
        assert client.get(f"{url}/v2/models/toy/ready").json()["ready"] is True
        assert client.get(f"{url}/v2/models/nope/ready").status_code == 404
        answer = client.post(
            f"{url}/v2/models/toy/infer", json={"id": "req-1", "inputs": tensors}
        ).json()
        assert answer["id"] == "req-1" and answer["model_version"] == "1"
        assert answer["parameters"] == {"variant": "toy@production", "model": "toy/1",
                                        "holdout": False}  # fmt: skip
        proba = next(o for o in answer["outputs"] if o["name"] == "predict_proba")
        assert proba["shape"] == [3, 2]
        np.testing.assert_allclose(np.reshape(proba["data"], (3, 2)), expected, rtol=1e-6)
        versioned = client.post(f"{url}/v2/models/toy/versions/1/infer", json={"inputs": tensors})
        assert versioned.status_code == 200
        assert (
            client.post(
                f"{url}/v2/models/toy/versions/9/infer", json={"inputs": tensors}
            ).status_code
            == 404
        )


def test_one_tensor_of_shape_n_by_k_is_read_in_signature_order(serve_app: Any, client: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    from alambic.models import package

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    target = pd.Series((frame.a + frame.c > 0).astype(int))
    model = package(LogisticRegression().fit(frame, target), frame, target)
    register_live(model, "linear")
    create_endpoint("linear", variants=["linear@production"], public=True)
    rows = frame.head(4)
    body = {"inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP32",
                        "data": rows.values.tolist()}]}  # fmt: skip
    with serve_app(["linear"]) as (url, _):
        answer = client.post(f"{url}/v2/models/linear/infer", json=body).json()
        predict = next(o for o in answer["outputs"] if o["name"] == "predict")
        assert predict["data"] == model.predict(rows).tolist()
        bad = client.post(
            f"{url}/v2/models/linear/infer",
            json={
                "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]
            },
        )
        assert bad.status_code == 422 and "[n, 3]" in bad.json()["error"]


BAD_REQUESTS = [
    ("garbage json", b"{not json", 400, None),
    ("not an object", b"[1, 2]", 400, None),
    ("no known key", b'{"rows": []}', 400, None),
    ("missing column", {"dataframe_split": {"columns": ["price", "year"], "data": [[1.0, 2]]}},
     422, "brand"),
    ("extra column", {"dataframe_records": [{"price": 1.0, "year": 2, "brand": "bmw", "x": 1}]},
     422, "x"),
    ("string for a number", split([["cheap", 2010, "bmw"]]), 422, "price"),
    ("bool for a number", split([[True, 2010, "bmw"]]), 422, "price"),
    ("null not allowed", split([[None, 2010, "bmw"]]), 422, "price"),
    ("float for an int", split([[1.0, 2010.5, "bmw"]]), 422, "year"),
    ("number for a category", split([[1.0, 2010, 7]]), 422, "brand"),
    ("nested value", split([[[1.0], 2010, "bmw"]]), 422, "price"),
    ("short row", split([[1.0, 2010]]), 422, "dataframe_split.data[0]"),
    ("no rows", split([]), 422, None),
    ("records differ", {"dataframe_records": [{"price": 1.0, "year": 2, "brand": "a"},
                                              {"price": 1.0}]}, 422, "dataframe_records[1]"),
    ("v2 wrong datatype", {"inputs": [
        {"name": "price", "shape": [1], "datatype": "BYTES", "data": ["1"]},
        {"name": "year", "shape": [1], "datatype": "INT64", "data": [2010]},
        {"name": "brand", "shape": [1], "datatype": "BYTES", "data": ["bmw"]}]}, 422, "price"),
    ("v2 wrong size", {"inputs": [
        {"name": "price", "shape": [2], "datatype": "FP64", "data": [1.0]}]}, 422, "price"),
    ("v2 bad shape", {"inputs": [
        {"name": "price", "shape": "2", "datatype": "FP64", "data": [1.0]}]}, 422, "price"),
    ("v2 ragged data", {"inputs": [
        {"name": "price", "shape": [2], "datatype": "FP64", "data": [[1.0], 2.0]}]}, 422, "price"),
    ("v2 id not ascii", {"id": "r\u20ac", "inputs": V2_ROW}, 422, "id"),
    ("v2 id with a newline", {"id": "a\nb", "inputs": V2_ROW}, 422, "id"),
    ("v2 unknown output", {"inputs": V2_ROW, "outputs": [{"name": "x"}]}, 422, "outputs"),
    ("int beyond a float", split([[1.0, 2**62, "bmw"]]), 422, "year"),
    ("most negative int", split([[1.0, -(2**63), "bmw"]]), 422, "year"),
    ("bool among numbers", split([ROW, [1.0, True, "bmw"]]), 422, "year"),
    ("huge float for an int", split([[1.0, 1e30, "bmw"]]), 422, "year"),
    ("csv of a bad number", b"price,year,brand\nx,2010,bmw\n", 422, "price"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [pytest.param(b, s, f, id=label) for label, b, s, f in BAD_REQUESTS],
)
def test_bad_requests_get_a_4xx_naming_the_field(
    toy: Any, serve_app: Any, client: Any, body: Any, status: int, field: str | None
) -> None:
    v2 = isinstance(body, dict) and "inputs" in body and isinstance(body["inputs"], list)
    v2 = v2 and bool(body["inputs"]) and isinstance(body["inputs"][0], dict)
    with serve_app(["toy"]) as (url, _):
        route = f"{url}/v2/models/toy/infer" if v2 else f"{url}/invocations"
        if isinstance(body, bytes):
            kind = "text/csv" if body.startswith(b"price,") else "application/json"
            answer = client.post(route, content=body, headers={"content-type": kind})
        else:
            answer = client.post(route, json=body)
        assert answer.status_code == status, answer.text
        error = answer.json()
        assert error["error"] and error["request_id"]
        if field is not None:
            assert error["field"] == field, error
        # the server keeps answering good requests
        assert client.post(f"{url}/invocations", json=split([ROW])).status_code == 200


def test_non_finite_numbers_and_nulls_follow_the_signature(serve_app: Any, client: Any) -> None:
    import lightgbm as lgb

    from alambic.models import package

    frame, target = toy_frame()
    frame.loc[::7, "price"] = np.nan  # price had missing values in training: null is allowed
    model = package(lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(frame, target),
                    frame, target)  # fmt: skip
    assert model.signature is not None and model.signature.nullable == ["price"]
    register_live(model)
    create_endpoint("toy", variants=["toy@production"], public=True)
    with serve_app(["toy"]) as (url, _):
        ok = client.post(f"{url}/invocations", json=split([[None, 2010, "bmw"]]))
        assert ok.status_code == 200, ok.text
        nan = client.post(
            f"{url}/invocations",
            content=b'{"dataframe_split": {"columns": ["price", "year", "brand"], '
            b'"data": [[Infinity, 2010, "bmw"]]}}',
        )
        assert nan.status_code == 400  # not JSON: Infinity is not a JSON number
        null_year = client.post(f"{url}/invocations", json=split([[1.0, None, "bmw"]]))
        assert null_year.status_code == 422 and null_year.json()["field"] == "year"


def test_an_oversized_body_gets_413(serve_app: Any, client: Any) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True, max_body_bytes=4096)
    with serve_app(["toy"]) as (url, _):
        big = client.post(f"{url}/invocations", json=split([ROW] * 500))
        assert big.status_code == 413 and "4096" in big.json()["error"]

        def chunks() -> Any:  # no content-length: the limit holds on the stream too
            yield b'{"dataframe_split": {"columns": ["price"], "data": ['
            for _ in range(1000):
                yield b"[1.0],"
            yield b"[1.0]]}}"

        streamed = client.post(f"{url}/invocations", content=chunks())
        assert streamed.status_code == 413
        assert client.post(f"{url}/invocations", json=split([ROW])).status_code == 200


def test_unknown_category_levels_score_as_missing(toy: Any, serve_app: Any, client: Any) -> None:
    with serve_app(["toy"]) as (url, _):
        unseen = client.post(f"{url}/invocations", json=split([[120.0, 2010, "tesla"]])).json()
    brand = pd.Categorical([None], categories=["alpine", "bmw", "citroen"])
    frame = pd.DataFrame({"price": [120.0], "year": [2010], "brand": brand})
    np.testing.assert_allclose(unseen["probabilities"], toy.predict_proba(frame), rtol=1e-6)


def test_weighted_split_is_random_but_sticky_per_caller(serve_app: Any, client: Any) -> None:
    register_live(lgbm(seed=0))
    challenger = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    create_endpoint(
        "toy",
        variants=["champion=toy@production:0.75", f"challenger=toy/{challenger}:0.25"],
        public=True,
    )
    with serve_app(["toy"]) as (url, _):
        seen = [client.post(f"{url}/invocations", json=split([ROW])).json()["variant"]
                for _ in range(400)]  # fmt: skip
        share = seen.count("challenger") / len(seen)
        assert 0.17 < share < 0.33, share  # 25% ± 8 points (p < 1e-4 to fail by chance)
        for caller in ("alice", "bob", "carol", "dave"):
            answers = {
                client.post(f"{url}/invocations", json=split([ROW]),
                            headers={"x-caller-id": caller}).json()["model"]
                for _ in range(10)
            }  # fmt: skip
            assert len(answers) == 1  # a caller always meets the same variant


def test_holdout_is_flagged_in_responses_and_capture(serve_app: Any, client: Any) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True, holdout=0.2)
    with serve_app(["toy"], capture_flush_seconds=0.1) as (url, _):
        flags = [client.post(f"{url}/invocations", json=split([ROW])).json()["holdout"]
                 for _ in range(300)]  # fmt: skip
        v2 = client.post(
            f"{url}/v2/models/toy/infer",
            json={
                "inputs": [
                    {"name": c, "shape": [1], "datatype": t, "data": [v]}
                    for c, t, v in zip(COLUMNS, ["FP64", "INT64", "BYTES"], ROW, strict=True)
                ]
            },
        ).json()
        assert "holdout" in v2["parameters"]
    assert 0.12 < sum(flags) / len(flags) < 0.28
    captured = read_capture("toy")
    assert captured["holdout"].sum() == sum(flags) + int(v2["parameters"]["holdout"])


def test_shadows_are_captured_and_never_answer(serve_app: Any, client: Any) -> None:
    register_live(lgbm(seed=0))
    shadow = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    create_endpoint("toy", variants=["toy@production"], shadows=[f"candidate=toy/{shadow}"],
                    public=True)  # fmt: skip
    with serve_app(["toy"], capture_flush_seconds=0.1) as (url, _):
        ids = []
        for _ in range(20):
            answer = client.post(f"{url}/invocations", json=split([ROW, ROW])).json()
            assert answer["variant"] == "toy@production"
            ids.append(answer["request_id"])
    captured = read_capture("toy")
    shadows = captured[captured["shadow"]]
    assert set(shadows["request_id"]) == set(ids) and len(shadows) == 40
    assert set(shadows["model"]) == {f"toy/{shadow}"} and set(shadows["variant"]) == {"candidate"}
    # each live answer beside its shadow's, for the comparison
    assert len(captured[~captured["shadow"]]) == 40


def test_capture_off_stores_nothing_even_with_shadows(
    serve_app: Any, client: Any, home: Any
) -> None:
    register_live(lgbm(seed=0))
    shadow = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    create_endpoint("toy", variants=["toy@production"], shadows=[f"candidate=toy/{shadow}"],
                    public=True, capture=0.0)  # fmt: skip
    series = (
        'alambic_requests_total{endpoint="toy",protocol="shadow",status="200",variant="candidate"}'
    )

    def shadow_answers(url: str) -> float:
        lines = client.get(f"{url}/metrics").text.splitlines()
        return sum(float(line.split()[-1]) for line in lines if line.startswith(series))

    with serve_app(["toy"], capture_flush_seconds=0.1) as (url, _):
        before = shadow_answers(url)  # counters live as long as the process
        for _ in range(10):
            assert client.post(f"{url}/invocations", json=split([ROW])).status_code == 200
        time.sleep(0.3)  # shadows run after each response
        after = shadow_answers(url)
    # the shadow still scores every request (counted), but no input is ever stored
    assert after - before == 10
    assert not list((home / "artifacts" / "capture").rglob("*.parquet"))


def test_capture_is_sampled_partitioned_and_joined_with_late_labels(
    toy: Any, serve_app: Any, client: Any, home: Any
) -> None:
    al.serving.update_endpoint("toy", capture=0.5)
    with serve_app(["toy"], capture_flush_seconds=0.1) as (url, _):
        ids = [
            client.post(f"{url}/invocations", json=split([ROW])).json()["request_id"]
            for _ in range(200)
        ]
        # Ground truth for every request (which ones capture sampled is not known here).
        truth = {request_id: i % 2 for i, request_id in enumerate(ids)}
        body = {"labels": [{"request_id": r, "label": label} for r, label in truth.items()]}
        # ground truth feeds training: nobody writes it anonymously, public endpoint or not
        anonymous = client.post(f"{url}/endpoints/toy/labels", json=body)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"]
        auth = {"authorization": f"Bearer {create_token('labeller', scope='invoke')[0]}"}
        labelled = client.post(f"{url}/endpoints/toy/labels", json=body, headers=auth)
        assert labelled.status_code == 200 and labelled.json()["labels"] == 200
        given = body["labels"][0]
        bad_rows = (
            ({"label": 1}, "request_id"),
            ({**given, "row": "x"}, "row"),
            ({**given, "row": None}, "row"),
            ({**given, "row": "inf"}, "row"),
            ({**given, "row": 1e300}, "row"),
        )
        for bad, field in bad_rows:
            refused = client.post(
                f"{url}/endpoints/toy/labels", json={"labels": [bad]}, headers=auth
            )
            assert refused.status_code == 422 and field in refused.json()["error"], refused.text
    captured = read_capture("toy", with_labels=True)
    assert 60 < len(captured) < 140  # about half of 200
    assert set(captured["request_id"]) <= set(ids)
    files = list((home / "artifacts" / "capture").rglob("*.parquet"))
    assert files and all("endpoint=toy" in str(f) and "/hour=" in str(f) for f in files)
    assert {"price", "year", "brand", "latency_ms", "variant", "model"} <= set(captured.columns)
    # features stay typed: numbers as the model saw them, levels as sent
    assert captured["year"].dtype.kind == "i" and captured["price"].dtype.kind == "f"
    assert set(captured["brand"]) <= {"alpine", "bmw", "citroen"}
    # Every captured row carries the label its request was given, joined by request id.
    assert (captured["label"] == captured["request_id"].map(truth)).all()


def test_capture_drops_and_counts_when_its_queue_is_full(serve_app: Any, client: Any) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"], public=True)
    with serve_app(["toy"], capture_max_rows=5, capture_flush_seconds=30) as (url, state):
        for _ in range(30):
            assert client.post(f"{url}/invocations", json=split([ROW])).status_code == 200
        assert state.capture.dropped == 25
        metrics = client.get(f"{url}/metrics").text
    assert 'alambic_capture_dropped_total{endpoint="toy"} 25.0' in metrics


def test_metrics_count_requests_errors_and_latency(toy: Any, serve_app: Any, client: Any) -> None:
    with serve_app(["toy"]) as (url, _):
        for _ in range(3):
            client.post(f"{url}/invocations", json=split([ROW]))
        client.post(f"{url}/invocations", json=split([["x", 1, "a"]]))
        text = client.get(f"{url}/metrics").text
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
             for line in text.splitlines() if line.startswith("alambic_")}  # fmt: skip
    labels = 'endpoint="toy",protocol="mlflow",status="{}",variant="toy@production"'
    ok = "alambic_requests_total{" + labels.format(200) + "}"
    bad = "alambic_requests_total{" + labels.format(422) + "}"
    assert lines[ok] >= 3 and lines[bad] >= 1
    count = 'alambic_request_duration_seconds_count{endpoint="toy",variant="toy@production"}'
    assert lines[count] >= 3


def test_tokens_401_403_and_revocation(serve_app: Any, client: Any) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"])  # private
    invoke, record = create_token("listing-site", scope="invoke")
    other, _ = create_token("other-site", scope="invoke", endpoints=["elsewhere"])
    admin, _ = create_token("ops", scope="admin")

    def call(route: str, token: str | None, method: str = "POST") -> httpx.Response:
        headers = {} if token is None else {"authorization": f"Bearer {token}"}
        if method == "GET":
            return client.get(route, headers=headers)
        return client.post(route, json=split([ROW]), headers=headers)

    with serve_app(["toy"], token_ttl=0.2) as (url, _):
        assert call(f"{url}/invocations", None).status_code == 401
        assert call(f"{url}/invocations", "alm_nope_nope").status_code == 401
        assert call(f"{url}/invocations", invoke[:-2] + "xx").status_code == 401
        assert call(f"{url}/invocations", invoke).status_code == 200
        assert call(f"{url}/invocations", admin).status_code == 200
        assert call(f"{url}/invocations", other).status_code == 403
        assert call(f"{url}/v2/models/toy", None, "GET").status_code == 401
        assert call(f"{url}/admin/endpoints", invoke, "GET").status_code == 403
        assert call(f"{url}/admin/endpoints", None, "GET").status_code == 401
        summary = call(f"{url}/admin/endpoints", admin, "GET")
        assert summary.status_code == 200 and summary.json()["endpoints"]["toy"]["public"] is False
        assert call(f"{url}/admin/reload", admin).status_code == 200
        revoke_token(record.id)
        wait_until(lambda: call(f"{url}/invocations", invoke).status_code == 401, timeout=5)
    stored = [t.hash for t in al.serving.list_tokens()]
    assert invoke.split("_", 2)[2] not in " ".join(stored)  # only hashes are stored


def test_alias_move_and_endpoint_update_swap_models(serve_app: Any, client: Any) -> None:
    first = register_live(lgbm(seed=0))
    second = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    create_endpoint("toy", variants=["toy@production"], public=True)
    with serve_app(["toy"]) as (url, state):
        assert (
            client.post(f"{url}/invocations", json=split([ROW])).json()["model"] == f"toy/{first}"
        )
        al.registry.promote("toy", second, to="production")
        wait_until(lambda: client.post(f"{url}/invocations", json=split([ROW])).json()["model"]
                   == f"toy/{second}", timeout=10)  # fmt: skip
        al.serving.update_endpoint("toy", variants=[f"pinned=toy/{first}"])
        wait_until(lambda: client.post(f"{url}/invocations", json=split([ROW])).json()["variant"]
                   == "pinned", timeout=10)  # fmt: skip
        assert state.deployments["toy"].revision == 2


def test_approval_deploys_to_an_endpoint_following_staging(serve_app: Any, client: Any) -> None:
    al.registry.set_policy("toy", stage_on_approval=True)
    first = register_live(lgbm(seed=0), alias=None)  # approved: staging moves to it
    create_endpoint("toy-staging", variants=["toy@staging"], public=True)
    with serve_app(["toy-staging"]) as (url, _):
        route = f"{url}/endpoints/toy-staging/invocations"
        assert client.post(route, json=split([ROW])).json()["model"] == f"toy/{first}"
        second = int(al.register(lgbm(n_estimators=12, seed=1), "toy")["version"])
        time.sleep(0.5)  # pending: nothing moves
        assert client.post(route, json=split([ROW])).json()["model"] == f"toy/{first}"
        al.registry.approve("toy", second, comment="ok")
        wait_until(lambda: client.post(route, json=split([ROW])).json()["model"]
                   == f"toy/{second}", timeout=10)  # fmt: skip


def test_a_model_that_can_run_code_loads_only_if_its_group_opted_in(serve_app: Any) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from alambic.errors import ServingError
    from alambic.models import package

    frame, target = toy_frame()
    numeric = frame[["price", "year"]]
    # a function of this project inside the model: loading it imports and may run its code
    estimator = make_pipeline(FunctionTransformer(halve), KNeighborsClassifier())
    register_live(package(estimator.fit(numeric, target), numeric, target), "custom")
    create_endpoint("custom", variants=["custom@production"], public=True)
    from alambic.serving._state import ServerState

    with pytest.raises(ServingError, match="untrusted types") as refused:
        ServerState(["custom"]).load(strict=True)
    assert "allow_pickle=True" in str(refused.value)  # says how to opt in
    al.registry.set_policy("custom", allow_pickle=True)
    with serve_app(["custom"]) as (url, _):
        answer = httpx.post(
            f"{url}/invocations", json={"inputs": {"price": [90.0], "year": [2001]}}
        )
        assert answer.status_code == 200 and answer.json()["model"] == "custom/1"


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_a_server_follows_changes_on_either_database(
    db: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    serve_app: Any,
    client: Any,
) -> None:
    if db == "postgres":
        monkeypatch.setenv("ALAMBIC_DB_URL", request.getfixturevalue("pg_url"))
    first = register_live(lgbm(seed=0))
    second = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    create_endpoint("toy", variants=["toy@production"], public=True)
    with serve_app(None) as (url, _):  # every endpoint, new ones included
        assert (
            client.post(f"{url}/invocations", json=split([ROW])).json()["model"] == f"toy/{first}"
        )
        al.registry.promote("toy", second, to="production")
        create_endpoint("pinned", variants=[f"toy/{first}"], public=True)
        route = f"{url}/endpoints/pinned/invocations"
        wait_until(lambda: client.post(route, json=split([ROW])).status_code == 200, timeout=10)
        assert client.post(route, json=split([ROW])).json()["model"] == f"toy/{first}"
        wait_until(lambda: client.post(f"{url}/endpoints/toy/invocations", json=split([ROW]))
                   .json()["model"] == f"toy/{second}", timeout=10)  # fmt: skip
        al.serving.delete_endpoint("pinned")
        auth = {"authorization": f"Bearer {create_token('site')[0]}"}
        wait_until(lambda: client.post(route, json=split([ROW]), headers=auth).status_code == 404,
                   timeout=10)  # fmt: skip
