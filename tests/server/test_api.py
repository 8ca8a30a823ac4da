"""The control plane's REST API on a real server: tokens and scopes, runs, schedules,
registry actions, monitors, OpenAPI, and errors that say what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import alambic as al
from tests.helpers import wait_until
from tests.serving.helpers import running

PROJECT = Path(__file__).parents[1] / "triggers"


@pytest.fixture(autouse=True)
def inline_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAMBIC_EXECUTOR", "inline")


@pytest.fixture
def tokens() -> dict[str, str]:
    return {scope: al.serving.create_token(f"{scope}-bot", scope=scope)[0]
            for scope in ("invoke", "read", "run", "admin")}  # fmt: skip


@pytest.fixture
def api(tokens: dict[str, str]) -> Iterator[Any]:
    """A client of a control plane (no loops) on a free port, per scope: ``api("run")``."""
    from alambic.server import create_app

    with running(create_app(project=PROJECT, loops=False)) as url:
        clients: dict[str | None, httpx.Client] = {}

        def client(scope: str | None = "admin") -> httpx.Client:
            if scope not in clients:
                headers = {"Authorization": f"Bearer {tokens[scope]}"} if scope else {}
                clients[scope] = httpx.Client(base_url=url, headers=headers, timeout=60)
            return clients[scope]

        yield client
        for session in clients.values():
            session.close()


def test_health_needs_no_token_and_every_other_route_needs_one(api: Any) -> None:
    assert api(None).get("/api/v1/health").json()["status"] == "ok"
    answer = api(None).get("/api/v1/runs")
    assert answer.status_code == 401 and "alambic tokens create" in answer.json()["detail"]
    bad = httpx.get(
        f"{api(None).base_url}/api/v1/runs", headers={"Authorization": "Bearer alm_x_y"}
    )
    assert bad.status_code == 401 and "unknown or revoked" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("scope", "route", "status"),
    [
        ("invoke", ("GET", "/api/v1/runs"), 403),
        ("read", ("GET", "/api/v1/runs"), 200),
        ("read", ("POST", "/api/v1/runs/run-x/cancel"), 403),
        ("run", ("POST", "/api/v1/runs/run-x/cancel"), 404),
        ("run", ("DELETE", "/api/v1/schedules/nightly"), 403),
        ("admin", ("DELETE", "/api/v1/schedules/nightly"), 404),
    ],
    ids=["invoke-reads", "read-reads", "read-cancels", "run-cancels", "run-deletes", "admin"],
)
def test_each_scope_reaches_its_routes_only(
    api: Any, scope: str, route: tuple[str, str], status: int
) -> None:
    answer = api(scope).request(*route)
    assert answer.status_code == status, answer.text
    if status == 403:
        assert "this route needs" in answer.json()["detail"]


def test_a_run_submitted_over_the_api_runs_detached_and_its_status_is_polled(api: Any) -> None:
    answer = api("run").post(
        "/api/v1/runs", json={"pipeline": "flows.py:adder", "params": {"a": "40"}, "texts": True}
    )
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert run["status"] == "pending" and run["params"]["a"] == 40

    def done() -> bool:
        return api("read").get(f"/api/v1/runs/{run['id']}").json()["status"] == "succeeded"

    wait_until(done)
    shown = api("read").get(f"/api/v1/runs/{run['id']}").json()
    assert [(s["name"], s["status"]) for s in shown["steps"]] == [("add", "succeeded")]
    listed = api("read").get("/api/v1/runs", params={"pipeline": "adder"}).json()
    assert [r["id"] for r in listed] == [run["id"]]
    logs = api("read").get(f"/api/v1/runs/{run['id']}/logs/add")
    assert logs.status_code == 200
    assert api("read").get(f"/api/v1/runs/{run['id']}/logs/train").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pipeline": "flows.py:adder", "params": {"a": "x"}, "texts": True}, "'a' expects int"),
        ({"pipeline": "flows.py:trainer"}, "has no pipeline named 'trainer'"),
        ({"pipeline": "missing.py:adder"}, "no such file"),
        ({"pipeline": "../serving/helpers.py:x"}, "outside the server's project"),
        ({"params": {}}, "pipeline"),
    ],
    ids=["type", "name", "file", "outside", "no-pipeline"],
)
def test_a_run_that_cannot_start_is_a_422_naming_why(
    api: Any, body: dict[str, Any], message: str
) -> None:
    answer = api("run").post("/api/v1/runs", json=body)
    assert answer.status_code == 422
    assert message in answer.text
    assert al.pipelines.list_runs() == []


def test_cancel_and_resume_over_the_api(api: Any) -> None:
    # Steps run inline here (no worker process to kill): the cancel lands as the nap ends.
    run = (
        api("run")
        .post("/api/v1/runs", json={"pipeline": "flows.py:napper", "params": {"seconds": 3}})
        .json()
    )
    wait_until(lambda: api("read").get(f"/api/v1/runs/{run['id']}").json()["status"] == "running")
    api("run").post(f"/api/v1/runs/{run['id']}/cancel")
    wait_until(lambda: api("read").get(f"/api/v1/runs/{run['id']}").json()["status"] == "cancelled")
    again = api("run").post(f"/api/v1/runs/{run['id']}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    resumed = api("run").post(f"/api/v1/runs/{run['id']}/resume")
    assert resumed.status_code == 200, resumed.text
    api("run").post(f"/api/v1/runs/{run['id']}/cancel")
    wait_until(lambda: al.get_run(run["id"]).record.finished)


def test_schedules_over_the_api_are_checked_listed_shown_paused_and_audited(api: Any) -> None:
    body = {"name": "nightly", "pipeline": "flows.py:adder", "cron": "0 2 * * *",
            "timezone": "Europe/Paris", "params": {"tag": "{{ fire_date }}"}}  # fmt: skip
    made = api("admin").post("/api/v1/schedules", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["timing"] == "At 02:00 every day (Europe/Paris)"
    assert len(made.json()["next_fires"]) == 5
    bad = api("admin").post("/api/v1/schedules", json={**body, "name": "x", "cron": "0 2 * *"})
    assert bad.status_code == 422 and "needs five" in bad.json()["detail"]
    twice = api("admin").post("/api/v1/schedules", json=body)
    assert twice.status_code == 422 and "already exists" in twice.json()["detail"]
    assert [s["name"] for s in api("read").get("/api/v1/schedules").json()] == ["nightly"]
    paused = api("admin").post("/api/v1/schedules/nightly/pause").json()
    assert paused["paused"] and paused["next_fires"] == []
    shown = api("read").get("/api/v1/schedules/nightly").json()
    assert shown["fires"] == [] and shown["updated_by"] == "token:admin-bot"
    assert api("admin").delete("/api/v1/schedules/nightly").status_code == 204
    assert api("read").get("/api/v1/schedules/nightly").status_code == 404


def test_registry_actions_over_the_api_are_audited_as_the_tokens_holder(api: Any) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    frame, target = pd.DataFrame({"f": [0.0, 1.0, 0.0, 1.0]}), pd.Series([0, 1, 0, 1])
    model = al.models.package(LogisticRegression().fit(frame, target), frame, target)
    version = al.register(model, "shop")["version"]
    approved = api("admin").post(
        f"/api/v1/models/shop/versions/{version}/approve", json={"comment": "looks right"}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "Approved"
    moved = api("admin").post("/api/v1/models/shop/aliases/staging", json={"version": version})
    assert moved.status_code == 200 and moved.json()["previous"] is None
    typo = api("admin").post("/api/v1/models/shop/aliases/stagin", json={"version": version})
    assert typo.status_code == 409 and "did you mean 'staging'" in typo.json()["detail"]
    assert api("run").post(f"/api/v1/models/shop/versions/{version}/reject").status_code == 403
    actors = {e.actor for e in al.registry.history("shop")}
    assert "token:admin-bot" in actors


def test_the_openapi_document_describes_every_route_and_the_bearer_scheme(api: Any) -> None:
    spec = api(None).get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "alambic control plane"
    paths = ["/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/schedules", "/api/v1/monitors"]
    for path in [*paths, "/api/v1/models/{name}/versions/{version}/approve"]:
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "RunRequest" in spec["components"]["schemas"]


def test_a_signed_github_push_of_a_tag_starts_its_run_through_the_server(
    tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import hmac
    import json

    from alambic.server import create_app
    from tests.triggers.helpers import commit_and_tag, make_repo

    monkeypatch.setenv("RELEASE_SECRET", "s3cret")
    repo = make_repo(tmp_path / "repo")
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    with running(create_app(project=PROJECT, loops=True)) as url:
        made = httpx.post(
            f"{url}/api/v1/triggers", headers=admin, timeout=60,
            json={"name": "release", "on": "git-tag", "repo": str(repo), "tags": "v*",
                  "secret_env": "RELEASE_SECRET", "run": "release.py:release"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        commit = commit_and_tag(repo, "v2")
        body = json.dumps({"ref": "refs/tags/v2", "after": commit}).encode()
        signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
        answer = httpx.post(f"{url}/hooks/github", content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        (event,) = answer.json()["events"]
        forged = httpx.post(f"{url}/hooks/github", content=body, headers={**headers,
                            "X-Hub-Signature-256": "sha256=" + "0" * 64})  # fmt: skip
        assert forged.status_code == 401

        def started() -> bool:
            shown = httpx.get(f"{url}/api/v1/triggers/release", headers=admin).json()
            return shown["events"][0]["status"] == "started"

        wait_until(started, 60)
    wait_until(lambda: al.get_run(event["run"]).record.finished)
    run = al.get_run(event["run"])
    assert run.status == "succeeded", run.error
    assert run.result()["commit"] == commit and run.result()["tag"] == "v2"
