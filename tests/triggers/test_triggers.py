"""Triggers: git tags (polled, and GitHub's and GitLab's webhooks) run the pipeline as of
the tag; monitor alerts once per episode; registry events; new data; cooldowns and caps."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import alambic as al
from alambic.errors import NotFoundError, TriggerError
from alambic.triggers import (
    Scheduler,
    create_trigger,
    list_triggers,
    receive_github,
    receive_gitlab,
    trigger_history,
    triggers_store,
)
from tests.helpers import wait_until
from tests.triggers.helpers import commit_and_tag, git

FLOWS = Path(__file__).parent / "flows.py"


def _runs(name: str) -> list[str]:
    return [e.run_id for e in trigger_history(name) if e.status == "started" and e.run_id]


def _results(name: str) -> list[Any]:
    runs = _runs(name)
    wait_until(lambda: all(al.get_run(r).record.finished for r in runs))
    return [al.get_run(r).result() for r in runs]


def _step() -> Any:
    return Scheduler(triggers_store(), identity="test").step()


# -- git tags ------------------------------------------------------------------------------
def test_a_new_tag_runs_the_pipeline_as_of_that_tag(repo: Path) -> None:
    create_trigger(
        "release", on="git-tag", repo=str(repo), tags="v*", poll="1s",
        run="release.py:release", params={"tag": "{{ tag }}"},
    )  # fmt: skip
    _step()
    assert trigger_history("release") == []  # v1 was there before the trigger
    commit = commit_and_tag(repo, "v2")
    git(repo, "tag", "nightly")  # does not match v*
    (repo / "release.py").write_text("raise RuntimeError('work in progress')\n")  # not tagged
    wait_until(lambda: _step().events == 1, 10)
    (result,) = _results("release")
    assert result["asked"] == "v2" and result["tag"] == "v2"
    assert result["commit"] == commit and not result["dirty"]  # a clean checkout, not the tree
    (event,) = trigger_history("release")
    assert event.key == "tag:v2" and event.payload["via"] == "poll"


REGISTERING = """
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

import alambic as al
from alambic.models import package


@al.step
def train():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    labels = pd.Series([0, 1, 0, 1])
    return package(DecisionTreeClassifier(max_depth=1).fit(frame, labels), frame, labels)


@al.pipeline
def release():
    return al.register(train(), "tagged")
"""


def test_a_model_registered_by_a_tags_run_records_the_tag_and_its_commit(repo: Path) -> None:
    create_trigger("release", on="git-tag", repo=str(repo), tags="v*", poll="1s",
                   run="release.py:release")  # fmt: skip
    _step()
    commit = commit_and_tag(repo, "v2", text=REGISTERING)
    wait_until(lambda: _step().events == 1, 10)
    (registered,) = _results("release")
    version = al.registry.get_version("tagged", registered["version"])
    code = version.lineage["code"]
    assert code["tag"] == "v2" and code["commit"] == commit and not code["dirty"]
    assert version.lineage["run"] == _runs("release")[0]


def test_a_tag_whose_code_does_not_import_is_recorded_failed_and_the_loop_goes_on(
    repo: Path,
) -> None:
    create_trigger("release", on="git-tag", repo=str(repo), poll="1s", run="release.py:release")
    commit_and_tag(repo, "v2", "import alambic as al\nraise ImportError('broken at v2')\n")
    wait_until(lambda: _step().events == 1, 10)
    (event,) = trigger_history("release")
    assert event.status == "started" and event.run_id
    wait_until(lambda: al.get_run(str(event.run_id)).record.finished)
    broken = al.get_run(str(event.run_id))
    assert broken.status == "failed" and "broken at v2" in (broken.error or "")
    Scheduler(triggers_store(), identity="test").alert_step(broken.record.created_at)
    alerts = al.triggers.list_alerts()
    assert [(a.type, a.details["run"]) for a in alerts] == [("run.failed", broken.id)]
    commit_and_tag(repo, "v3")
    wait_until(lambda: _step().events == 1, 10)
    runs = _runs("release")
    wait_until(lambda: al.get_run(runs[0]).record.finished)
    assert al.get_run(runs[0]).result()["tag"] == "v3"


def _github(secret: str, event: str, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": "d-1",
               "X-Hub-Signature-256": f"sha256={digest}"}  # fmt: skip
    return headers, body


def test_githubs_webhook_starts_one_run_per_tag_and_refuses_what_it_must(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_SECRET", "s3cret")
    create_trigger(
        "release", on="git-tag", repo=str(repo), tags="v*", secret_env="RELEASE_SECRET",  # noqa: S106 - a name
        run="release.py:release", params={"tag": "{{ tag }}"},
    )  # fmt: skip
    commit = commit_and_tag(repo, "v2")
    push = {"ref": "refs/tags/v2", "after": commit, "deleted": False}
    answer = receive_github(*_github("s3cret", "push", push))
    assert answer.status == 202 and len(answer.events) == 1
    again = receive_github(*_github("s3cret", "push", push))
    assert again.status == 202 and "received before" in again.message
    created = receive_github(*_github("s3cret", "create", {"ref": "v2", "ref_type": "tag"}))
    assert created.status == 202 and not created.events  # the same tag: the same event
    forged = receive_github(*_github("wrong", "push", {**push, "ref": "refs/tags/v9"}))
    assert forged.status == 401 and "matches no git-tag trigger's secret" in forged.message
    unsigned = receive_github({"X-GitHub-Event": "push"}, json.dumps(push).encode())
    assert unsigned.status == 401
    branch = receive_github(*_github("s3cret", "push", {"ref": "refs/heads/main", "after": commit}))
    assert branch.status == 202 and "not of a tag" in branch.message
    deleted = receive_github(*_github("s3cret", "push", {"ref": "refs/tags/v2", "deleted": True}))
    assert deleted.status == 202 and "deleted" in deleted.message
    other = receive_github(
        *_github("s3cret", "push", {"ref": "refs/tags/nightly", "after": commit})
    )
    assert other.status == 202 and "matches no trigger's pattern" in other.message
    _step()
    (result,) = _results("release")
    assert result["commit"] == commit and result["tag"] == "v2"
    assert len(trigger_history("release")) == 1


def test_gitlabs_tag_push_hook_starts_a_run(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASE_SECRET", "t0ken")
    create_trigger(
        "release", on="git-tag", repo=str(repo), secret_env="RELEASE_SECRET",  # noqa: S106 - a name
        run="release.py:release",
    )  # fmt: skip
    commit = commit_and_tag(repo, "v2")
    body = json.dumps({"object_kind": "tag_push", "ref": "refs/tags/v2", "checkout_sha": commit,
                       "after": commit}).encode()  # fmt: skip
    headers = {"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": "t0ken"}
    assert receive_gitlab(headers, body).status == 202
    assert receive_gitlab({**headers, "X-Gitlab-Token": "nope"}, body).status == 401
    gone = json.dumps({"ref": "refs/tags/v2", "checkout_sha": None, "after": "0" * 40}).encode()
    assert "deleted" in receive_gitlab(headers, gone).message
    _step()
    assert _results("release")[0]["commit"] == commit


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"on": "cron"}, TriggerError, "--on 'cron' is unknown"),
        ({"on": "git-tag"}, TriggerError, "needs --repo"),
        ({"on": "git-tag", "repo": "/no/such/repo"}, TriggerError, "git cannot read"),
        (
            {"on": "git-tag", "repo": ".", "secret_env": "not a name"},
            TriggerError,
            "not an environment",
        ),
        ({"on": "monitor", "monitor": "nope"}, NotFoundError, "no monitor 'nope'"),
        ({"on": "registry", "events": ["version_exploded"]}, TriggerError, "use one or more of"),
        ({"on": "data"}, TriggerError, "needs --source"),
        ({"on": "data", "sources": {"x": "x.csv"}, "daily_cap": 0}, TriggerError, "daily-cap"),
    ],
    ids=["kind", "no-repo", "bad-repo", "secret-name", "monitor", "event", "no-source", "cap"],
)
def test_a_trigger_that_cannot_work_is_refused_and_nothing_is_stored(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create_trigger("t", run=f"{FLOWS}:adder", **kwargs)
    assert list_triggers() == []


# -- monitors, the registry, data ----------------------------------------------------------
def _finish(monitor: str, status: str) -> None:
    from alambic.monitoring._store import monitoring_store

    store = monitoring_store()
    run = store.start_run(store.get_monitor(monitor), since=None, until=None, actor="test")
    store.finish_run(run.id, status=status, results={}, report=None)


def _shop() -> None:
    x, y = pd.DataFrame({"price": [0.0, 1.0]}), pd.Series([0, 1])
    from sklearn.linear_model import LogisticRegression

    version = al.register(al.models.package(LogisticRegression().fit(x, y), x, y), "shop")
    al.registry.approve("shop", version["version"])
    al.registry.promote("shop", version["version"], to="production")
    al.serving.create_endpoint("shop", variants=["shop@production"])
    al.monitoring.create_monitor("shop-drift", endpoint="shop", window="1d")


def test_a_monitor_alert_starts_one_run_per_episode(monkeypatch: pytest.MonkeyPatch) -> None:
    _shop()
    create_trigger(
        "retrain", on="monitor", monitor="shop-drift", run=f"{FLOWS}:adder",
        params={"tag": "{{ monitor_run }}"}, cooldown="0s",
    )  # fmt: skip
    for status in ("ok", "alert", "alert", "warn"):
        _finish("shop-drift", status)
    wait_until(lambda: _step().events == 1, 15)
    (first,) = trigger_history("retrain")
    for status in ("ok", "alert"):
        _finish("shop-drift", status)  # a new episode
    wait_until(lambda: _step().events == 1, 15)
    results = _results("retrain")
    assert len(results) == 2 and results[-1]["tag"] == first.payload["monitor_run"]


def test_a_chain_that_would_loop_is_stopped_by_the_cooldown_and_the_daily_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _shop()
    create_trigger(
        "validate", on="registry", events=["version_approved"], groups="sh*",
        run=f"{FLOWS}:adder", params={"tag": "{{ group }}/{{ version }}"}, daily_cap=2,
    )  # fmt: skip
    create_trigger(
        "shadow", on="registry", events=["version_approved"], run=f"{FLOWS}:adder",
        cooldown="1h",
    )  # fmt: skip
    x, y = pd.DataFrame({"price": [0.0, 1.0]}), pd.Series([0, 1])
    from sklearn.linear_model import LogisticRegression

    for c in (0.5, 0.25, 0.125):
        model = al.models.package(LogisticRegression(C=c).fit(x, y), x, y)
        al.registry.approve("shop", al.register(model, "shop")["version"])
    wait_until(lambda: _step().events == 6, 15)
    statuses = [e.status for e in reversed(trigger_history("validate"))]
    assert statuses == ["started", "started", "capped"]
    assert "reached the daily cap (2)" in trigger_history("validate")[0].reason
    assert [r["tag"] for r in _results("validate")] == ["shop/3", "shop/2"]
    shadowed = list(reversed(trigger_history("shadow")))
    assert [e.status for e in shadowed] == ["started", "skipped", "skipped"]
    assert "cooldown" in shadowed[1].reason
    _results("shadow")


def test_new_data_starts_a_run_once_per_change(tmp_path: Path) -> None:
    data = tmp_path / "listings.csv"
    data.write_text("price\n1\n")
    create_trigger(
        "fresh", on="data", sources={"listings": str(data)}, every="1s",
        run=f"{FLOWS}:adder", params={"tag": "{{ fingerprint }}"},
    )  # fmt: skip
    _step()
    assert trigger_history("fresh") == []  # the data as it was is not news
    data.write_text("price\n1\n2\n")
    wait_until(lambda: _step().events == 1, 10)
    (result,) = _results("fresh")
    assert len(result["tag"]) == 64
    shutil.copy(data, tmp_path / "copy.csv")
    _step()
    assert len(trigger_history("fresh")) == 1
