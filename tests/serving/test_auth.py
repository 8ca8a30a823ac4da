"""Malformed Authorization headers, and requests uvicorn cannot parse: JSON 400s too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from alambic.serving import create_endpoint, create_token
from alambic.serving._http import JSONH11Protocol, http_protocol
from tests.helpers import wait_until
from tests.serving.helpers import ROW, V2_ROW, lgbm, raw_request, register_live, split

INVALID = 'Bearer realm="alambic", error="invalid_request"'
MALFORMED: list[tuple[str, Any, str]] = [
    ("no-token", "Bearer", "no token after 'Bearer'"),
    ("two-words", "Bearer alm_secret_part two", "one word"),
    ("basic", "Basic eHl6OnNlY3JldA==", "uses 'Basic', not Bearer"),
    ("other-scheme", "Token alm_x_y", "uses 'Token', not Bearer"),
    ("non-ascii", "Bearer alm_caf\u00e9_\u2603".encode(), "one word"),
    ("tab", "Bearer alm_a\tb", "one word"),
    ("empty", "", "is empty"),
]
ROUTES = {
    "mlflow": ("/invocations", split([ROW])),
    "v2": ("/v2/models/toy/infer", {"inputs": V2_ROW}),
}


def _private_toy() -> str:
    register_live(lgbm())
    create_endpoint("toy", variants=["toy@production"])  # private: a token is needed
    return create_token("site", scope="invoke")[0]


@pytest.mark.parametrize("protocol", list(ROUTES), ids=list(ROUTES))
def test_a_malformed_authorization_header_gets_a_json_400_in_the_routes_shape(
    protocol: str, serve_app: Any, client: httpx.Client
) -> None:
    token = _private_toy()
    route, body = ROUTES[protocol]
    mlflow = {"error_code", "message"} if protocol == "mlflow" else set()
    with serve_app(["toy"]) as (url, _):
        for case, header, words in MALFORMED:
            answer = client.post(f"{url}{route}", json=body, headers={"authorization": header})
            assert answer.status_code == 400, (case, answer.text)
            assert answer.headers["content-type"] == "application/json", case
            assert answer.headers["www-authenticate"] == INVALID, case
            error = answer.json()
            assert set(error) == {"error", "field", "expected", "request_id", *mlflow}, case
            assert words in error["error"] and "Authorization: Bearer <token>" in error["error"]
            assert (error["field"], error["expected"]) == ("authorization", "Bearer <token>")
            assert error["request_id"] == answer.headers["x-request-id"]
            if mlflow:
                assert (error["error_code"], error["message"]) == ("BAD_REQUEST", error["error"])
            assert "secret" not in error["error"]  # a credential is never echoed
        twice = [("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}")]
        repeated = client.post(f"{url}{route}", json=body, headers=twice)
        assert repeated.status_code == 400 and "2 Authorization headers" in repeated.text
        # what is not malformed keeps its answers: 401 without a token or with a wrong one
        missing = client.post(f"{url}{route}", json=body)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="alambic"'
        unknown = client.post(f"{url}{route}", json=body, headers={"authorization": "Bearer x"})
        assert unknown.status_code == 401 and "unknown or revoked" in unknown.json()["error"]
        for header in (f"Bearer {token}", f"bearer {token}", f"Bearer   {token}"):
            ok = client.post(f"{url}{route}", json=body, headers={"authorization": header})
            assert ok.status_code == 200, (header, ok.text)
        metrics = client.get(f"{url}/metrics").text
    counted = f'endpoint="toy",protocol="{protocol}",status="400",variant="-"}} 8.0'
    assert counted in metrics


def test_admin_and_metadata_routes_answer_a_malformed_header_alike(
    serve_app: Any, client: httpx.Client
) -> None:
    _private_toy()
    with serve_app(["toy"]) as (url, _):
        for route in ("/admin/endpoints", "/v2/models/toy"):
            answer = client.get(f"{url}{route}", headers={"authorization": "Basic eHl6"})
            assert answer.status_code == 400, (route, answer.text)
            assert set(answer.json()) == {"error", "field", "expected", "request_id"}
            assert answer.headers["www-authenticate"] == INVALID


def _junk(token: str, token_id: str) -> dict[str, bytes]:
    """Authorization values uvicorn's parser refuses, as curl sends them."""
    # What `alambic tokens create` printed on stdout before --quiet: TOKEN=$(…) took both.
    two_lines = f"token {token_id} (invoke) for site; keep it, it is shown once:\n{token}"
    return {
        "two-line-variable": f"Bearer {two_lines}".encode(),
        "carriage-return": f"Bearer {token}\r".encode() + b"junk",
        "folded-line": f"Bearer {token}\r\n continued".encode(),
        "nul": f"Bearer {token}\x00".encode(),
        "control": f"Bearer \x01{token}".encode(),
    }


def _post(url: str, path: str, authorization: bytes, body: Any) -> Any:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode()
        + b"Authorization: "
        + authorization
        + b"\r\n"
    )
    return raw_request(url, head, json.dumps(body).encode())


@pytest.mark.slow
def test_what_uvicorn_cannot_parse_gets_json_from_alambic_serve(
    home: Path, serve_process: Any
) -> None:
    token = _private_toy()
    token_id = token.split("_")[1]
    with serve_process(["--endpoint", "toy", "--workers", "2"], home) as url:
        for case, header in _junk(token, token_id).items():
            answer = _post(url, "/invocations", header, split([ROW]))
            assert answer.status == 400, (case, answer.body)
            assert answer.headers["content-type"] == "application/json", case
            assert answer.headers["connection"] == "close", case
            error = answer.json()
            assert set(error) == {"error", "error_code", "message", "request_id"}, case
            assert error["error_code"] == "BAD_REQUEST" and error["message"] == error["error"]
            assert "not valid HTTP/1.1" in error["error"] and "--quiet" in error["error"]
            assert error["request_id"] == answer.headers["x-request-id"], case
        v2 = _post(url, "/v2/models/toy/infer", _junk(token, token_id)["nul"], {"inputs": V2_ROW})
        assert v2.status == 400 and set(v2.json()) == {"error", "request_id"}
        good = _post(url, "/invocations", f"Bearer {token}".encode(), split([ROW]))
        assert good.status == 200, good.body
        metrics = httpx.get(f"{url}/metrics").text
        log = next(home.parent.glob("serve-*.log"))
        wait_until(lambda: log.read_text().count('"error":"not valid HTTP/1.1"') == 6, timeout=10)
    assert 'endpoint="-",protocol="mlflow",status="400",variant="-"} 5.0' in metrics
    assert 'endpoint="-",protocol="-",status="400",variant="-"} 1.0' in metrics
    refused = [json.loads(x) for x in log.read_text().splitlines() if "not valid HTTP" in x]
    assert {(line["path"], line["method"], line["status"]) for line in refused} == {
        ("/invocations", "POST", 400),
        ("/v2/models/toy/infer", "POST", 400),
    }


@pytest.mark.parametrize(
    ("parser", "v2_keys"),
    [
        (JSONH11Protocol, {"error", "error_code", "message", "request_id"}),  # path unknown
        (http_protocol(), {"error", "request_id"}),
    ],
    ids=["h11", "httptools"],
)
def test_both_uvicorn_parsers_answer_what_they_refuse_in_json(
    parser: Any, v2_keys: set[str], serve_app: Any
) -> None:
    token = _private_toy()
    with serve_app(["toy"], http=parser) as (url, _):
        junk = _junk(token, "id")["two-line-variable"]
        mlflow = _post(url, "/invocations", junk, split([ROW]))
        assert mlflow.status == 400 and mlflow.headers["content-type"] == "application/json"
        assert set(mlflow.json()) == {"error", "error_code", "message", "request_id"}
        v2 = _post(url, "/v2/models/toy/infer", junk, {"inputs": V2_ROW})
        assert v2.status == 400 and set(v2.json()) == v2_keys
        assert _post(url, "/invocations", f"Bearer {token}".encode(), split([ROW])).status == 200


def test_serve_uses_httptools_when_it_is_installed() -> None:
    pytest.importorskip("httptools")
    assert http_protocol().__name__ == "JSONHttpToolsProtocol"


@pytest.mark.parametrize("scope", ["read", "run"])
def test_a_control_plane_token_does_not_invoke_an_endpoint(
    scope: str, serve_app: Any, client: httpx.Client
) -> None:
    _private_toy()
    token = create_token("ci", scope=scope)[0]
    route, body = ROUTES["v2"]
    with serve_app(["toy"]) as (url, _):
        answer = client.post(
            f"{url}{route}", json=body, headers={"authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 403
    assert f"scope {scope}, for `alambic server`" in answer.json()["error"]
