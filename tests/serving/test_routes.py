"""Protocol details existing clients rely on, errors in JSON, and reloads that fail."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alambic as al
from alambic.serving import create_endpoint, create_token
from tests.helpers import wait_until
from tests.serving.helpers import ROW, V2_ROW, lgbm, register_live, split, toy_frame


def test_v2_version_routes_metadata_types_and_requested_outputs(
    toy: Any, serve_app: Any, client: Any
) -> None:
    with serve_app(["toy"]) as (url, _):
        meta = client.get(f"{url}/v2/models/toy/versions/1").json()
        assert meta["versions"] == ["1"]
        outputs = {o["name"]: o["datatype"] for o in meta["outputs"]}
        assert outputs == {"predict": "INT64", "predict_proba": "FP64"}  # classes 0/1
        assert client.get(f"{url}/v2/models/toy/versions/1/ready").json()["ready"] is True
        missing = client.get(f"{url}/v2/models/toy/versions/9")
        assert missing.status_code == 404 and "serves no version 9" in missing.json()["error"]
        answer = client.post(f"{url}/v2/models/toy/infer", json={"inputs": V2_ROW}).json()
        predict = answer["outputs"][0]
        assert predict["datatype"] == outputs["predict"]  # metadata and answers agree
        only = client.post(
            f"{url}/v2/models/toy/infer",
            json={"inputs": V2_ROW, "outputs": [{"name": "predict_proba"}]},
        ).json()
        assert [o["name"] for o in only["outputs"]] == ["predict_proba"]
        assert only["outputs"][0]["data"] == answer["outputs"][1]["data"]


def test_mlflow_clients_send_csv_and_read_error_codes(
    toy: Any, serve_app: Any, client: Any
) -> None:
    frame, _ = toy_frame(n=3, seed=5)
    text = frame.to_csv(index=False) + "\n"  # a blank line at the end holds no row
    with serve_app(["toy"]) as (url, _):
        by_csv = client.post(
            f"{url}/invocations", content=text, headers={"content-type": "text/csv"}
        )
        assert by_csv.status_code == 200, by_csv.text
        assert by_csv.json()["predictions"] == toy.predict(frame).tolist()
        records = frame.astype(object).to_dict(orient="records")
        by_json = client.post(f"{url}/invocations", json={"dataframe_records": records}).json()
        assert by_json["predictions"] == by_csv.json()["predictions"]
        xml = client.post(
            f"{url}/invocations", content=b"<rows/>", headers={"content-type": "text/xml"}
        )
        assert xml.status_code == 415 and "text/csv" in xml.json()["error"]
        bad = client.post(f"{url}/invocations", json=split([["cheap", 2010, "bmw"]])).json()
        assert bad["error_code"] == "BAD_REQUEST" and bad["message"] == bad["error"]
        # curl -d sends form-urlencoded: a JSON body is still read as JSON
        curl = client.post(
            f"{url}/invocations",
            content=httpx.Request("POST", url, json=split([ROW])).content,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert curl.status_code == 200


def test_instances_of_scalars_feed_a_one_column_model(serve_app: Any, client: Any) -> None:
    import lightgbm as lgb

    from alambic.models import package

    frame, target = toy_frame()
    price = frame[["price"]]
    model = package(lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(price, target),
                    price, target)  # fmt: skip
    register_live(model, "one")
    create_endpoint("one", variants=["one@production"], public=True)
    with serve_app(["one"]) as (url, _):
        answer = client.post(f"{url}/invocations", json={"instances": [90.0, 130.0]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == model.predict(price.head(0).assign(
            price=[90.0, 130.0])).tolist()  # fmt: skip


def test_unknown_routes_and_endpoints_answer_json_and_add_no_metric_series(
    toy: Any, serve_app: Any, client: Any
) -> None:
    with serve_app(["toy"]) as (url, _):
        nowhere = client.get(f"{url}/v3/whatever")
        assert nowhere.status_code == 404 and nowhere.json()["request_id"]
        assert "/invocations" in nowhere.json()["error"]
        wrong = client.get(f"{url}/invocations")
        assert wrong.status_code == 405 and "GET" in wrong.json()["error"]
        # an MLflow route's errors carry MLflow's fields, even before any handler runs
        assert (wrong.json()["error_code"], wrong.json()["message"]) == (
            "BAD_REQUEST",
            wrong.json()["error"],
        )
        named = client.get(f"{url}/endpoints/toy/invocations").json()
        assert named["error_code"] == "BAD_REQUEST"
        assert "error_code" not in client.get(f"{url}/v2/models/toy/infer").json()
        auth = {"authorization": f"Bearer {create_token('site')[0]}"}
        for i in range(5):
            stray = f"{url}/endpoints/stray-{i}/invocations"
            # without a token nobody learns which endpoints exist: 401, not 404
            assert client.post(stray, json=split([ROW])).status_code == 401
            known = client.post(stray, json=split([ROW]), headers=auth)
            assert known.status_code == 404 and "toy" not in known.json()["error"]
        metrics = client.get(f"{url}/metrics").text
    assert "stray-" not in metrics  # a caller cannot grow the metric series


def test_large_bodies_are_parsed_off_the_event_loop(
    toy: Any, serve_app: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alambic.serving._predictor import Predictor

    seen: list[str] = []
    check = Predictor.matrix

    def matrix(self: Any, columns: dict[str, list[Any]]) -> Any:
        seen.append(threading.current_thread().name)
        return check(self, columns)

    monkeypatch.setattr(Predictor, "matrix", matrix)
    with serve_app(["toy"]) as (url, _):
        assert client.post(f"{url}/invocations", json=split([ROW])).status_code == 200
        assert client.post(f"{url}/invocations", json=split([ROW] * 2000)).status_code == 200
    small, large = seen
    assert small != large and "AnyIO worker thread" in large


def test_a_restricted_admin_token_invokes_only_its_endpoints(serve_app: Any, client: Any) -> None:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"])
    create_endpoint("other", variants=["toy@production"])
    admin, _ = create_token("ops", scope="admin", endpoints=["other"])
    auth = {"authorization": f"Bearer {admin}"}
    with serve_app(None) as (url, _):
        refused = client.post(f"{url}/endpoints/toy/invocations", json=split([ROW]), headers=auth)
        assert refused.status_code == 403 and "restricted" in refused.json()["error"]
        allowed = client.post(f"{url}/endpoints/other/invocations", json=split([ROW]), headers=auth)
        assert allowed.status_code == 200
        assert client.get(f"{url}/admin/endpoints", headers=auth).status_code == 200


def test_a_failed_reload_is_retried_and_spares_the_other_endpoints(
    serve_app: Any, client: Any, home: Any
) -> None:
    first = register_live(lgbm(seed=0))
    create_endpoint("toy", variants=["toy@production"], public=True)
    create_endpoint("steady", variants=[f"toy/{first}"], public=True)
    second = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    record = al.registry.get_version("toy", second)
    blob = next((home / "artifacts").rglob(record.model["hash"]))
    hidden = blob.with_name("hidden")
    with serve_app(None) as (url, state):
        blob.rename(hidden)  # the new version's model cannot be read for a while
        al.registry.promote("toy", second, to="production")
        wait_until(lambda: "toy" in state.failures, timeout=10)
        answer = client.post(f"{url}/endpoints/toy/invocations", json=split([ROW])).json()
        assert answer["model"] == f"toy/{first}"  # it keeps serving what it had
        admin = client.get(
            f"{url}/admin/endpoints",
            headers={"authorization": f"Bearer {create_token('ops', scope='admin')[0]}"},
        ).json()
        assert "toy" in admin["failing"] and "steady" not in admin["failing"]
        assert (
            'alambic_endpoint_reload_failing{endpoint="toy"} 1.0'
            in client.get(f"{url}/metrics").text
        )
        al.serving.update_endpoint("steady", holdout=0.5)  # unrelated: it moves on
        wait_until(lambda: state.deployments["steady"].endpoint.holdout == 0.5, timeout=10)
        hidden.rename(blob)  # the store heals: the next attempt succeeds on its own
        wait_until(lambda: not state.failures, timeout=15)
        answer = client.post(f"{url}/endpoints/toy/invocations", json=split([ROW])).json()
        assert answer["model"] == f"toy/{second}"
        time.sleep(0.5)
        assert (
            'alambic_endpoint_reload_failing{endpoint="toy"} 0.0'
            in client.get(f"{url}/metrics").text
        )


def test_capture_memory_is_bounded_by_bytes_too(toy: Any, serve_app: Any, client: Any) -> None:
    body = split([ROW] * 100)
    with serve_app(["toy"], capture_max_bytes=20_000, capture_flush_seconds=30) as (url, state):
        for _ in range(10):
            assert client.post(f"{url}/invocations", json=body).status_code == 200
        size = len(httpx.Request("POST", url, json=body).content)
        kept = 20_000 // size
        assert state.capture.dropped == (10 - kept) * 100
        assert state.capture.queued_bytes == kept * size


def test_any_load_failure_stays_with_its_endpoint_and_deleted_ones_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alambic.serving._metrics import metrics
    from alambic.serving._state import ServerState

    first = register_live(lgbm(seed=0))
    create_endpoint("toy", variants=["toy@production"], public=True)
    create_endpoint("steady", variants=[f"toy/{first}"], public=True)
    state = ServerState(None)
    state.load(strict=True)
    second = register_live(lgbm(n_estimators=12, seed=1), alias=None)
    load = state._predictor

    def slim_image(ref: str) -> Any:  # a flavor whose library is not installed here
        if ref.endswith(f"/{second}") or ref.endswith("@production"):
            raise ModuleNotFoundError("No module named 'xgboost'")
        return load(ref)

    monkeypatch.setattr(state, "_predictor", slim_image)
    al.registry.promote("toy", second, to="production")
    al.serving.update_endpoint("steady", holdout=0.25)
    state.load()
    assert "xgboost" in state.failures["toy"].error
    assert state.deployments["toy"].variants[0][1].ref == f"toy/{first}"  # kept
    assert state.deployments["steady"].endpoint.holdout == 0.25  # moved on
    gauge = metrics().reload_failing
    assert gauge.labels("toy")._value.get() == 1
    al.serving.delete_endpoint("toy")
    state.load()
    assert "toy" not in state.failures and "toy" not in state.deployments
    assert gauge.labels("toy")._value.get() == 0  # a deleted endpoint raises no alarm


def test_an_endpoint_deleted_and_created_again_is_a_change() -> None:
    from alambic.serving import serving_store

    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"])
    store = serving_store()
    before = store.revisions(None)
    al.serving.delete_endpoint("toy")
    time.sleep(0.01)
    create_endpoint("toy", variants=["toy@production"], holdout=0.5)  # revision 1 again
    assert store.revisions(None) != before


def test_create_app_still_takes_its_options_as_keywords_with_a_warning() -> None:
    from alambic.serving import ServerOptions, create_app

    with pytest.warns(DeprecationWarning, match=r"create_app\(poll_seconds=\) is deprecated"):
        app = create_app(["toy"], poll_seconds=5)
    assert app.state.options == ServerOptions(poll_seconds=5)


def test_gauges_published_for_an_endpoint_are_on_metrics(
    toy: Any, serve_app: Any, client: Any
) -> None:
    from alambic.serving import publish_gauges

    publish_gauges(
        "toy", "monitor-m", [("alambic_monitor_status", "Status.", {"monitor": "m"}, 2.0)]
    )
    publish_gauges("other", "monitor-x", [("alambic_monitor_status", "Status.", {}, 1.0)])
    with serve_app(["toy"]) as (url, _):
        text = client.get(f"{url}/metrics").text
    assert "# TYPE alambic_monitor_status gauge" in text
    assert 'alambic_monitor_status{endpoint="toy",source="monitor-m",monitor="m"} 2.0' in text
    assert 'source="monitor-x"' not in text  # only the endpoints this server serves
    with pytest.raises(ValueError, match="not a Prometheus metric name"):
        publish_gauges("toy", "x", [("bad name", "", {}, 1.0)])


_SEGMENTS = ["", "v2", "models", "versions", "infer", "invocations", "endpoints", "fraud", "3"]
_TEMPLATES = [
    "/invocations", "/endpoints/{}/invocations", "/v2/models/{}/infer",
    "/v2/models/{}/versions/{}/infer", "/v2/models/{}", "/v2/models/{}/ready", "/{}/{}",
]  # fmt: skip
_FILLS = st.sampled_from([*_SEGMENTS, "a/b", "é x", "%2F"])
_PATHS = st.one_of(
    st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=7).map(lambda s: "/" + "/".join(s)),
    st.builds(
        lambda template, fills, tail: template.format(*fills) + tail,
        st.sampled_from(_TEMPLATES),
        st.lists(_FILLS, min_size=2, max_size=2),
        st.sampled_from(["", "/", "/infer"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(_PATHS)
def test_the_scoring_fast_path_takes_exactly_the_router_s_scoring_routes(path: str) -> None:
    from starlette.routing import Match, Route

    from alambic.serving._app import routes, scoring_route

    scope = {"type": "http", "method": "POST", "path": path, "root_path": ""}
    for route in routes:  # the router's choice: the first route that matches fully
        match, child = route.matches(scope)
        if match is Match.FULL:
            assert isinstance(route, Route)
            expected = (route.endpoint, child["path_params"])
            break
    else:
        expected = None
    got = scoring_route(path)
    if expected is not None and expected[0].__name__ not in ("infer", "invocations"):
        expected = None  # another route: the fast path leaves it to the router
    assert got == expected, path
