"""Runs end to end through the orchestrator and real worker processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import alambic as al
from alambic.core import utcnow
from alambic.errors import ExecutorError, ParameterError, RunError
from alambic.pipelines import RunStore
from alambic.store import ArtifactStore
from tests.helpers import wait_until
from tests.pipelines import flows

DONE = ("succeeded", "cached")  # two branches with equal inputs: one may reuse the other


def statuses(run: al.pipelines.Run) -> dict[str, str]:
    return {s.label: s.status for s in run.steps}


def test_map_over_parameter_runs_each_branch_and_gathers() -> None:
    run = al.run(flows.squares, params={"values": [2, 3, 4]})
    assert run.status == "succeeded", run.error
    assert statuses(run) == {
        "square[0]": "succeeded",
        "square[1]": "succeeded",
        "square[2]": "succeeded",
        "total": "succeeded",
    }
    assert [run.output("square", i) for i in range(3)] == [4, 9, 16]
    assert run.result() == 29


def test_map_over_step_output_is_expanded_at_run_time() -> None:
    run = al.run(flows.dynamic, params={"n": 5})
    assert run.succeeded, run.error
    assert sorted(s.label for s in run.steps if s.node == "square") == [
        f"square[{i}]" for i in range(5)
    ]
    assert run.result() == sum(i * i for i in range(5))


def test_map_over_an_empty_list_gathers_an_empty_list() -> None:
    run = al.run(flows.squares, params={"values": []})
    assert run.succeeded, run.error
    assert run.result() == 0


def test_when_and_otherwise_choose_per_branch() -> None:
    # rows=5 → mean 2.0 ≥ 1.5 publishes; with min_mean=3 every branch alerts instead.
    run = al.run(flows.gated, params={"min_mean": 1.5})
    assert statuses(run)["publish[0]"] in DONE
    assert statuses(run)["alert[0]"] == "skipped"
    assert run.output("publish", 1) == "published 2.0"
    run = al.run(flows.gated, params={"min_mean": 3.0})
    assert statuses(run)["publish[0]"] == "skipped"
    assert run.output("alert", 0) == "alert 2.0"
    skipped = run.step("publish", 0)
    assert "condition not met" in (skipped.error or "")


def test_condition_on_a_selected_output_and_gather_drops_skipped_branches() -> None:
    run = al.run(flows.selected)
    assert run.succeeded, run.error
    assert statuses(run)["publish[0]"] == "skipped"  # auc 0.3
    assert run.output("publish", 1) == "published 0.8"
    assert run.result() == [{"auc": 0.3, "name": "m3"}, {"auc": 0.8, "name": "m8"}]


def test_tuple_annotation_gives_separate_outputs() -> None:
    run = al.run(flows.pairs, params={"n": 6})
    assert run.result() == {"left": 0 + 1 + 2, "right": 3 + 4 + 5}
    step = run.step("split_pair")
    assert set(step.outputs) == {"0", "1"}


def test_dataframes_travel_through_parquet_artifacts() -> None:
    run = al.run(flows.gated, params={"rows": 4})
    frame = run.output("make_frame", 0)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["category", "value"]
    assert run.step("make_frame", 0).outputs["return"]["materializer"] == "pandas-parquet"


def test_second_run_is_fully_cached_and_explains_why() -> None:
    first = al.run(flows.squares)
    second = al.run(flows.squares)
    assert set(statuses(second).values()) == {"cached"}
    reasons = [s.cache["reason"] for s in second.steps]
    assert all(r.startswith("hit: same code, parameters and inputs") for r in reasons)
    assert all(first.id in r for r in reasons)
    assert second.result() == first.result()


def test_changed_parameter_is_a_miss_that_names_the_argument() -> None:
    al.run(flows.gated, params={"rows": 5})
    run = al.run(flows.gated, params={"rows": 7})
    reason = run.step("make_frame", 0).cache["reason"]
    assert reason.startswith("miss:")
    assert "argument 'rows' changed (5 → 7)" in reason
    downstream = run.step("mean_value", 0).cache["reason"]
    assert "input 'frame' changed" in downstream


def test_cache_can_be_turned_off() -> None:
    al.run(flows.squares)
    run = al.run(flows.squares, cache=False)
    assert set(statuses(run).values()) == {"succeeded"}
    assert "cache is off" in run.step("total").cache["reason"]


def test_bad_parameter_is_refused_before_anything_is_stored(home: Path) -> None:
    with pytest.raises(ParameterError, match=r"parameter 'values' expects list\[int\]"):
        al.run(flows.squares, params={"values": "not a list"})
    with pytest.raises(ParameterError, match="unknown parameter"):
        al.run(flows.squares, params={"nope": 1})
    assert not (home / "alambic.db").exists()


def test_failing_branch_skips_its_downstream_and_siblings_finish() -> None:
    run = al.run(flows.partly_failing)
    assert run.status == "failed"
    states = statuses(run)
    assert states["boom[1]"] == "failed"
    assert states["square[1]"] == "skipped"
    assert states["square[0]"] == states["square[2]"] == "succeeded"
    assert states["total"] == "skipped"
    failed = run.step("boom", 1)
    assert "ValueError: cannot handle 2" in (failed.error or "")
    assert 'raise ValueError(f"cannot handle {x}")' in (failed.traceback or "")
    assert "boom[1]" in (run.error or "")


def test_worker_crash_fails_only_its_step() -> None:
    run = al.run(flows.crashing)
    states = statuses(run)
    assert states == {"crash[0]": "succeeded", "crash[1]": "failed", "crash[2]": "succeeded"}
    assert "worker process running this step exited with code 3" in (
        run.step("crash", 1).error or ""
    )


def test_retries_with_backoff_until_success(tmp_path: Path) -> None:
    run = al.run(flows.retried, params={"marker_dir": str(tmp_path / "m"), "failures": 2})
    assert run.succeeded, run.error
    step = run.step("flaky")
    assert step.attempt == 3
    assert run.result() == "ok after 2 failures"


def test_retries_exhausted_fail_the_step(tmp_path: Path) -> None:
    run = al.run(flows.retried, params={"marker_dir": str(tmp_path / "m"), "failures": 5})
    assert run.status == "failed"
    assert run.step("flaky").attempt == 3
    assert len(list((tmp_path / "m").iterdir())) == 3


def test_timeout_stops_the_step() -> None:
    run = al.run(flows.slow, params={"seconds": 30.0})
    assert run.status == "failed"
    assert "TimeoutError" in (run.step("nap").error or "")
    duration = run.step("nap").duration
    assert duration is not None and duration < 10


def test_step_output_and_logging_are_captured() -> None:
    run = al.run(flows.squares, params={"values": [7]})
    logs = run.logs("square", 0)
    assert "squaring 7" in logs
    assert "logged 7" in logs


def test_unknown_type_fails_with_a_materializer_hint_and_pickle_is_opt_in() -> None:
    run = al.run(flows.unstorable)
    assert run.status == "failed"
    error = run.step("opaque").error or ""
    assert "register a materializer" in error.lower()
    assert "allow_pickle" in error
    run = al.run(flows.opted_in, params={"x": 5})
    assert run.succeeded, run.error
    assert run.step("pickled").outputs["return"]["materializer"] == "cloudpickle"
    assert run.result() == 5


def test_inline_executor_runs_steps_in_process() -> None:
    run = al.run(flows.squares, executor="inline", cache=False)
    assert run.succeeded, run.error
    assert run.result() == 14


def test_unknown_executor_is_refused() -> None:
    with pytest.raises(ExecutorError, match="unknown executor"):
        al.run(flows.squares, executor="nope", cache=False)


def test_steps_defined_in_a_function_are_shipped_by_value() -> None:
    @al.step
    def local_double(x: int) -> int:
        return 2 * x

    @al.pipeline
    def local(x: int = 21) -> int:
        return local_double(x)

    run = al.run(local)
    assert run.succeeded, run.error
    assert run.result() == 42


def test_submit_returns_at_once_and_the_run_finishes_in_the_background() -> None:
    started = time.monotonic()
    run = al.submit(flows.squares, params={"values": [5, 6]})
    assert time.monotonic() - started < 10
    assert run.status == "pending"
    run.wait(timeout=120)
    assert run.status == "succeeded", run.error
    assert run.result() == 61


def test_cancel_stops_running_steps_of_a_live_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAMBIC_HEARTBEAT_SECONDS", "0.5")
    run = al.submit(flows.sleepy, params={"n": 2, "seconds": 120})
    wait_until(lambda: any(s.node == "nap" and s.status == "running" for s in run.refresh().steps))
    al.cancel(run.id)
    run.wait(timeout=30)
    assert run.status == "cancelled"
    sleeping = [s for s in run.steps if s.node == "nap"]
    assert sleeping and all(s.status == "cancelled" for s in sleeping)


def test_cancel_of_a_finished_run_is_refused() -> None:
    run = al.run(flows.squares)
    with pytest.raises(RunError, match="already succeeded"):
        al.cancel(run.id)


def test_resume_of_a_succeeded_run_is_refused() -> None:
    run = al.run(flows.squares)
    with pytest.raises(RunError, match="already succeeded"):
        al.resume(run.id)


def test_resume_after_a_fix_reuses_succeeded_steps(tmp_path: Path) -> None:
    run = al.run(
        flows.not_retried, params={"marker_dir": str(tmp_path / "m"), "failures": 1}, cache=False
    )
    assert run.status == "failed"
    resumed = al.resume(run.id)  # the second attempt succeeds (one failure recorded)
    assert resumed.id == run.id
    assert resumed.succeeded, resumed.error
    assert resumed.result() == "ok after 1 failures"


def test_artifacts_of_a_run_are_content_addressed(home: Path) -> None:
    run = al.run(flows.squares)
    store = RunStore.open(al.config.settings().db_url)
    artifacts = ArtifactStore(al.config.settings().artifacts)
    for step in run.steps:
        for ref in step.outputs.values():
            artifacts.verify(ref["hash"])
            assert store.get_artifact(ref["hash"]).materializer == ref["materializer"]


@pytest.mark.postgres
def test_a_pipeline_runs_on_postgresql(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAMBIC_DB_URL", pg_url)
    first = al.run(flows.dynamic, params={"n": 3})
    assert first.succeeded, first.error
    again = al.run(flows.dynamic, params={"n": 3})
    assert set(statuses(again).values()) == {"cached"}
    assert again.result() == 0 + 1 + 4
    assert al.get_run(first.id[:-2]).id == first.id  # unique prefix


def test_resume_takes_over_a_run_whose_orchestrator_stopped_beating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALAMBIC_HEARTBEAT_SECONDS", "0.2")
    run = al.run(flows.not_retried, params={"marker_dir": str(tmp_path / "m"), "failures": 1})
    store = RunStore.open(al.config.settings().db_url)
    # Pretend an orchestrator on another machine drives it and is alive...
    store.update_run(run.id, status="running", orchestrator="elsewhere:1", heartbeat_at=utcnow())
    with pytest.raises(RunError, match="still driven by elsewhere:1"):
        al.resume(run.id)
    # ...then its heartbeat goes stale: a later process takes the run over.
    store.update_run(run.id, heartbeat_at=utcnow() - timedelta(seconds=5))
    resumed = al.resume(run.id)
    assert resumed.succeeded, resumed.error
    assert resumed.record.orchestrator != "elsewhere:1"


def test_a_run_cancelled_before_its_background_process_starts_never_runs(
    tmp_path: Path,
) -> None:
    marks = tmp_path / "marks"
    run = al.submit(flows.chain, params={"marker_dir": str(marks), "first": 0.1, "second": 0.1})
    al.cancel(run.id)
    run.wait(timeout=60)
    time.sleep(2)  # give a wrongly started orchestrator the time to run something
    assert run.refresh().status == "cancelled"
    assert not marks.exists()


def test_tuple_defaults_work_wherever_list_defaults_do() -> None:
    run = al.run(flows.tupled)
    assert run.succeeded, run.error
    assert run.result() == ["auto,moto,loisir", "tuple:3", "AUTO,MOTO,LOISIR"]
    overridden = al.run(flows.tupled, params={"categories": ["a", "b"]})
    assert overridden.result() == ["a,b", "tuple:2", "A,B"]
    # The same values as a list default give the same cache keys: switching forms re-runs nothing.
    listed = al.run(flows.listed)
    assert {s.status for s in listed.steps if s.node in ("joined", "upper")} == {"cached"}
    assert listed.result() == ["auto,moto,loisir", "tuple:3", "AUTO,MOTO,LOISIR"]


def test_a_pipeline_defined_in_an_interactive_session_runs(tmp_path: Path) -> None:
    # A notebook, a REPL or `python -c`: the steps' module has no file to import by name,
    # so the orchestrator ships them by value to the workers.
    code = textwrap.dedent(
        """
        import alambic as al

        @al.step
        def square(x: int) -> int:
            return x * x

        @al.pipeline
        def squares(values: tuple[int, ...] = (1, 2)) -> list[int]:
            for value in al.map(values):
                squared = square(value)
            return squared

        run = al.run(squares, params={"values": [3, 4]})
        print(run.status, run.result())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "succeeded [9, 16]", done.stderr


def test_a_step_a_worker_can_neither_import_nor_unpickle_fails_with_why() -> None:
    code = textwrap.dedent(
        """
        import threading
        import alambic as al

        guard = threading.Lock()

        @al.step
        def locked(x: int) -> int:
            with guard:
                return x

        @al.pipeline
        def closed(x: int = 1) -> int:
            return locked(x)

        run = al.run(closed)
        print(run.status)
        print(run.step("locked").error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    status, error = done.stdout.strip().splitlines()[-2:]
    assert status == "failed", done.stderr
    assert "cannot be imported by name" in error and "cannot be pickled" in error
