"""The Ray executor, against a real Ray cluster (see ``ray_cluster`` in conftest.py)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import alambic as al
from alambic.config import settings
from alambic.errors import ExecutorError
from alambic.executors import RayExecutor, Task, create_executor
from alambic.testing import check_executor, collect_results, conformance_task
from tests.executors.helpers import RayCluster
from tests.helpers import wait_until
from tests.pipelines import flows

# Every test needs the cluster fixture, which skips them all when Ray is not installed.
pytestmark = pytest.mark.usefixtures("ray_address")


def test_ray_executor_conforms(tmp_path: Path) -> None:
    check_executor(lambda s: RayExecutor(s, max_workers=2), tmp_path)


def test_ray_is_found_by_name() -> None:
    assert isinstance(create_executor(settings(), "ray"), RayExecutor)


def test_map_fan_out_runs_on_ray() -> None:
    run = al.run(flows.dynamic, params={"n": 5}, executor="ray")
    assert run.succeeded, run.error
    assert run.result() == sum(i * i for i in range(5))
    assert sorted(s.label for s in run.steps if s.node == "square") == [
        f"square[{i}]" for i in range(5)
    ]
    assert "squaring 3" in run.logs("square", 3)


def test_a_failing_step_or_a_crashing_worker_fails_only_its_step() -> None:
    # One test for both: each test's new settings cost Ray a worker start-up.
    run = al.run(flows.partly_failing, executor="ray")
    assert run.status == "failed"
    failed = run.step("boom", 1)
    assert failed.status == "failed"
    assert "ValueError: cannot handle 2" in (failed.error or "")
    assert 'raise ValueError(f"cannot handle {x}")' in (failed.traceback or "")
    assert run.step("square", 1).status == "skipped"
    assert run.step("square", 0).status == run.step("square", 2).status == "succeeded"

    run = al.run(flows.crashing, executor="ray")
    assert {s.label: s.status for s in run.steps} == {
        "crash[0]": "succeeded",
        "crash[1]": "failed",
        "crash[2]": "succeeded",
    }
    assert "WorkerCrashed: the Ray worker running this step died" in (
        run.step("crash", 1).error or ""
    )


def test_a_step_past_its_timeout_is_stopped() -> None:
    import ray

    run = al.run(flows.slow, params={"seconds": 30.0}, executor="ray")
    assert run.status == "failed"
    assert "TimeoutError" in (run.step("nap").error or "")
    duration = run.step("nap").duration
    assert duration is not None and duration < 10
    # Its worker was killed: both CPUs of the cluster are free again.
    wait_until(lambda: ray.available_resources().get("CPU") == 2, timeout=30)


def test_the_next_run_reuses_the_connection_and_workers(tmp_path: Path) -> None:
    pids = []
    for attempt in range(2):
        folder = tmp_path / str(attempt)
        executor = RayExecutor(settings(), max_workers=1)
        try:
            executor.submit(
                conformance_task("w", "window", tmp_path, folder=str(folder), seconds=0.0)
            )
            assert collect_results(executor, {"w"}, 60)["w"].ok
        finally:
            executor.shutdown()
        pids += [p.name.split("-")[0] for p in folder.iterdir()]
    assert len(pids) == 2 and pids[0] == pids[1]


def test_tuning_trials_run_on_ray_and_a_killed_one_fails_alone() -> None:
    from tests.tuning import flows as objectives

    result = al.tune(
        objective=objectives.killed_once,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        metric="score",
        directions=["maximize"],
        n_trials=5,
        n_jobs=2,
        executor="ray",
    )
    rows = result.trials.set_index("number")
    assert rows.loc[1, "state"] == "fail" and rows.loc[1, "reason"].startswith("worker crashed")
    assert (result.trials.state == "complete").sum() == 4


def test_the_ray_client_address_works(ray_cluster: RayCluster, tmp_path: Path) -> None:
    executor = RayExecutor(replace(settings(), ray_address=ray_cluster.client_address))
    try:
        executor.submit(conformance_task("echo", "echo", tmp_path, value=3))
        result = collect_results(executor, {"echo"}, 60)["echo"]
    finally:
        executor.shutdown()
    assert result.ok, result.error
    assert "echo 3" in result.logs


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("ray://127.0.0.1:1", r"cannot reach the Ray cluster at ray://127.0.0.1:1 .*ray start"),
        ("127.0.0.1:1", r"cannot reach the Ray cluster at 127.0.0.1:1"),
        ("nonsense", r"ray_address='nonsense' is not valid; set ALAMBIC_RAY_ADDRESS"),
    ],
    ids=["client", "gcs", "malformed"],
)
def test_a_bad_address_is_an_executor_error(
    address: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ALAMBIC_RAY_ADDRESS", address)
    executor = RayExecutor(settings())
    with pytest.raises(ExecutorError, match=message):
        executor.submit(Task("t", {}, None))


def test_without_ray_installed_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    executor = RayExecutor(settings())
    with pytest.raises(ExecutorError, match=r"pip install 'alambic\[ray\]'"):
        executor.submit(Task("t", {}, None))


def test_a_folder_is_profiled_file_by_file_on_ray_as_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import pandas as pd

    from alambic.data import _profile, profile
    from alambic.executors import executor_map

    rng = np.random.default_rng(0)
    for i in range(3):
        pd.DataFrame({"x": rng.normal(i, 1, 500), "c": rng.choice(["a", "b"], 500)}).to_parquet(
            tmp_path / f"part-{i}.parquet"
        )
    monkeypatch.setattr(_profile, "PARALLEL_BYTES", 0)  # small files: split them anyway
    used: list[int] = []

    def on_ray(fn: Any, calls: list[Any]) -> list[Any]:
        used.append(len(calls))
        return executor_map(fn, calls, settings=settings(), executor="ray")

    shared, alone = profile(tmp_path, runner=on_ray), profile(tmp_path, n_jobs=1)
    assert used == [3] and shared.rows == alone.rows == 1_500
    assert shared["x"].mean == pytest.approx(alone["x"].mean, rel=1e-9)
    assert dict(shared["c"].top()) == dict(alone["c"].top())
