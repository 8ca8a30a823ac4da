"""Experiment tracking from Python and from pipeline steps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import alambic as al
from alambic import tracking
from alambic.tracking import TrackingError, search_runs, tracking_store
from tests.tracking import flows


def test_params_metrics_and_tags_of_a_run() -> None:
    with tracking.start_run("baseline", experiment="fraud", tags={"team": "risk"}) as run:
        tracking.log_params({"max_depth": 6, "lr": 0.1})
        for step in range(5):
            tracking.log_metric("loss", 1.0 / (step + 1), step=step)
        tracking.log_metrics({"auc": 0.93, "f1": 0.7})
    record = tracking.get_tracked_run(run.id)
    assert record.status == "finished" and record.ended_at is not None
    assert record.params == {"max_depth": "6", "lr": "0.1"}
    assert record.metrics == {"loss": pytest.approx(0.2), "auc": 0.93, "f1": 0.7}
    assert record.tags == {"team": "risk"}
    history = tracking_store().metric_history(run.id, "loss")
    assert [s for s, _, _ in history] == [0, 1, 2, 3, 4]
    assert [v for _, v, _ in history] == pytest.approx([1, 0.5, 1 / 3, 0.25, 0.2])


def test_nested_runs_know_their_parent() -> None:
    with tracking.start_run("study") as parent:
        with tracking.start_run("trial") as child:
            tracking.log_metric("auc", 0.9)
    assert tracking.get_tracked_run(child.id).parent_id == parent.id
    assert tracking.get_tracked_run(parent.id).parent_id is None


def test_an_exception_marks_the_run_failed_and_loses_nothing() -> None:
    with pytest.raises(ValueError, match="boom"), tracking.start_run("crashy") as run:
        tracking.log_metric("loss", 3.0)
        raise ValueError("boom")
    record = tracking.get_tracked_run(run.id)
    assert record.status == "failed"
    assert record.metrics == {"loss": 3.0}


def test_a_process_dying_by_an_exception_still_flushes(tmp_path: Path) -> None:
    script = tmp_path / "dies.py"
    script.write_text(
        textwrap.dedent(
            """
        from alambic import tracking
        run = tracking.start_run("doomed")
        for i in range(100):
            tracking.log_metric("x", i, step=i)
        print(run.id, flush=True)
        raise SystemExit("crash without end_run")
        """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 1
    run_id = done.stdout.strip()
    assert len(tracking_store().metric_history(run_id, "x")) == 100
    assert tracking.get_tracked_run(run_id).metrics == {"x": 99.0}


def test_logging_without_a_run_starts_one() -> None:
    tracking.log_metric("auc", 0.5)
    run_id = tracking.active_run_id()
    assert run_id is not None
    tracking.end_run()
    assert tracking.get_tracked_run(run_id).metrics == {"auc": 0.5}
    assert tracking.active_run_id() is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tracking.log_metric("auc", "high"), "must be a number"),  # type: ignore[arg-type]
        (lambda: tracking.log_metric("", 1.0), "non-empty string"),
        (lambda: tracking.end_run("weird"), "use finished, failed or killed"),
        (lambda: tracking.set_experiment(" "), "non-empty name"),
    ],
    ids=["non-numeric", "empty-key", "bad-status", "empty-experiment"],
)
def test_bad_tracking_calls_are_refused(call: object, message: str) -> None:
    with tracking.start_run("guard"), pytest.raises(TrackingError, match=message):
        call()  # type: ignore[operator]


def test_artifacts_are_stored_with_the_run() -> None:
    with tracking.start_run("with-artifact") as run:
        key = tracking.log_artifact(pd.DataFrame({"a": [1, 2]}), "sample")
    assert tracking.get_tracked_run(run.id).artifacts["sample"]["hash"] == key


def _hundred_runs() -> None:
    for k in range(100):
        with tracking.start_run(f"run-{k}", experiment="search"):
            tracking.log_params({f"p{j}": str((k + j) % 7) for j in range(10)})
            tracking.log_metrics({f"m{j}": ((k * 31 + j * 17) % 100) / 100 for j in range(10)})


def test_search_filters_orders_and_limits() -> None:
    _hundred_runs()
    found = search_runs(
        "metrics.m0 > 0.5 and params.p0 = '3'", experiment="search", order_by="metrics.m1 DESC"
    )
    # The same rows, in the same order, as MLflow finds (benchmarks/peers/mlflow_tracking.py).
    assert [int(n.split("-")[1]) for n in found["name"]] == [80, 38, 73, 31, 87, 45, 3]
    numeric = search_runs("params.p1 < 2", experiment="search")
    assert len(numeric) > 0 and set(numeric["params.p1"]) <= {"0", "1"}
    assert len(search_runs("metrics.nope > 0", experiment="search")) == 0
    limited = search_runs(experiment="search", order_by=["metrics.m0", "name DESC"], max_results=3)
    assert len(limited) == 3 and limited["metrics.m0"].is_monotonic_increasing
    either = search_runs(
        "(params.p0 = '0' or params.p0 = '1') and status = 'finished'", experiment="search"
    )
    assert set(either["params.p0"]) == {"0", "1"}


@pytest.mark.parametrize(
    "bad",
    ["metrics.auc >", "metrics.auc ~ 3", "nonsense.x = 1", "(metrics.a > 1", "metrics.a > 1 xor"],
    ids=["truncated", "bad-operator", "bad-name", "unbalanced", "trailing"],
)
def test_bad_filters_are_refused(bad: str) -> None:
    with tracking.start_run("one"):
        tracking.log_metric("a", 1)
    with pytest.raises(TrackingError):
        search_runs(bad)


def test_every_step_run_is_a_tracked_run_under_its_pipeline_run() -> None:
    run = al.run(flows.tracked, params={"depths": [2, 4]})
    assert run.succeeded, run.error
    pipeline_run = tracking.get_tracked_run(run.id)
    assert pipeline_run.kind == "pipeline" and pipeline_run.status == "finished"
    assert pipeline_run.params == {"depths": "[2,4]"}
    step = run.step("fit", 1)
    tracked = tracking.get_tracked_run(step.id)
    assert tracked.parent_id == run.id and tracked.kind == "step" and tracked.name == "fit[1]"
    assert tracked.params == {"depth": "4", "optimizer": "sgd"}
    assert tracked.metrics["loss"] == pytest.approx(1 / 6)
    assert tracked.tags["family"] == "tree"
    assert [v for _, v, _ in tracking_store().metric_history(step.id, "loss")] == pytest.approx(
        [1 / 4, 1 / 5, 1 / 6]
    )
    trials = search_runs(f"kind = 'trial' and parent_id = '{step.id}'", experiment="tracked")
    assert sorted(trials["name"]) == ["trial-0", "trial-1"]
    assert set(trials["metrics.auc"]) == {0.8, 0.9}


def test_a_failed_step_is_a_failed_tracked_run_with_what_it_logged() -> None:
    run = al.run(flows.tracked_failure)
    assert run.status == "failed"
    tracked = tracking.get_tracked_run(run.step("broken").id)
    assert tracked.status == "failed" and tracked.metrics == {"loss": 9.0}
    assert tracking.get_tracked_run(run.id).status == "failed"


@pytest.mark.postgres
def test_tracking_on_postgresql(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAMBIC_DB_URL", pg_url)
    with tracking.start_run("pg", experiment="pg") as run:
        tracking.log_metric("auc", 0.7, step=1)
    found = search_runs("metrics.auc >= 0.7", experiment="pg")
    assert found["run_id"].tolist() == [run.id]


@pytest.mark.postgres
def test_two_processes_creating_one_experiment_at_once(pg_url: str) -> None:
    import threading

    from alambic.tracking import RunChange, TrackingStore

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create(i: int) -> None:
        store = TrackingStore.open(pg_url)
        barrier.wait()
        try:
            store.write([RunChange(id=f"trk-{i}", experiment="shared")], [])
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = TrackingStore.open(pg_url)
    assert [e["runs"] for e in store.list_experiments() if e["name"] == "shared"] == [4]


def test_a_run_started_by_the_first_log_call_is_ended_at_exit(tmp_path: Path) -> None:
    script = tmp_path / "auto.py"
    script.write_text(
        textwrap.dedent(
            """
        from alambic import tracking
        tracking.log_metric("auc", 0.9)
        print(tracking.active_run_id(), flush=True)
        """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    record = tracking.get_tracked_run(done.stdout.strip())
    assert record.status == "finished" and record.ended_at is not None
