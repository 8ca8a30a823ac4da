"""Monitors: stored configurations, runs with results, statuses and reports, the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import alambic as al
from alambic.errors import ModelError, MonitoringError, NotFoundError
from alambic.monitoring import (
    create_monitor,
    delete_monitor,
    get_monitor,
    monitor_history,
    run_monitor,
    update_monitor,
)
from tests.cli.helpers import invoke
from tests.monitoring.helpers import write_capture


def _cars(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "price": rng.normal(20 + shift, 3, n),
            "km": rng.gamma(2, 10, n),
            "brand": rng.choice(["bmw", "audi", "fiat"], n),
        }
    )


MODEL: list[Any] = []


def _outcome(frame: pd.DataFrame) -> pd.Series:
    """Expensive cars are mostly (not always) the positive class."""
    rng = np.random.default_rng(len(frame))
    noisy = frame["price"] + rng.normal(0, 1.5, len(frame))
    return (noisy > 20).astype(int)


def _served(name: str = "cars", *, calibrated: bool = False) -> pd.DataFrame:
    """A model registered with its baseline (and held-out scores), in production behind
    endpoint ``name``."""
    from sklearn.linear_model import LogisticRegression

    train = _cars(800, 0)
    X, y = train[["price", "km"]], _outcome(train)
    model = LogisticRegression().fit(X, y)
    MODEL[:] = [model]
    held_out = _cars(2000, 20)
    calibration = (held_out[["price", "km"]], _outcome(held_out)) if calibrated else None
    version = al.register(model, name, X=X, y=y, baseline=train, calibration=calibration)
    al.registry.approve(name, version["version"], comment="test")
    al.registry.promote(name, version["version"], to="production")
    al.serving.create_endpoint(name, variants=[f"{name}@production"], public=True)
    return train


def _capture(frame: pd.DataFrame, **options: Any) -> list[str]:
    """``frame`` captured at endpoint cars as the served model answered it."""
    inputs = frame[["price", "km"]]  # what serving captures: the model's inputs
    proba = MODEL[0].predict_proba(inputs)
    return write_capture("cars", inputs, model="cars/1", probabilities=proba, **options)


def test_a_run_stores_its_status_results_and_a_self_contained_report() -> None:
    _served()
    now = time.time()
    _capture(_cars(300, 1, shift=6.0), at=now - 3600)
    create_monitor("cars-health", endpoint="cars", window="6h", chunk="2h")
    run = run_monitor("cars-health")
    assert run.status == "alert"  # drift alerts by default
    assert set(run.results["drift"]["drifted"]) >= {"price"}
    assert "km" not in run.results["drift"]["drifted"]
    assert len(run.results["drift_over_time"]) == 3
    assert {v["constraint_check_type"] for v in run.results["quality"]} >= {"range_check"}
    html = al.store.ArtifactStore(al.config.settings().artifacts).get_bytes(run.report).decode()
    assert html.startswith("<!doctype html>") and "<script" not in html
    assert "http://" not in html and "https://" not in html  # nothing fetched: opens offline
    assert "price" in html and "<svg" in html and len(html) < 200_000
    assert monitor_history("cars-health")[0].id == run.id
    from alambic.serving._gauges import render_gauges

    gauges = render_gauges(["cars"])
    mine = 'endpoint="cars",source="monitor-cars-health",monitor="cars-health"'
    assert f"alambic_monitor_status{{{mine}}} 2.0" in gauges
    assert (
        'alambic_monitor_column_drifted{endpoint="cars",source="monitor-cars-health",monitor="cars-health",column="price",method="'
        in gauges
    )
    # The same window again: the same verdicts (KLL sketches compact at random, so the
    # statistics of a large window move within the bound each result states)
    again = run_monitor("cars-health", until=run.window_until)
    assert again.status == run.status
    assert again.results["drift"]["drifted"] == run.results["drift"]["drifted"]
    for a, b in zip(
        again.results["drift"]["columns"], run.results["drift"]["columns"], strict=True
    ):
        assert abs(a["statistic"] - b["statistic"]) <= a["bound"] + b["bound"]
    kinds = [(v["feature_name"], v["constraint_check_type"]) for v in run.results["quality"]]
    assert [
        (v["feature_name"], v["constraint_check_type"]) for v in again.results["quality"]
    ] == kinds


def test_statuses_follow_the_severities_and_no_data_is_a_status() -> None:
    _served()
    create_monitor("quiet", endpoint="cars", window="1h")
    empty = run_monitor("quiet")
    assert empty.status == "no_data" and "endpoint 'cars'" in empty.results["no_data"]
    _capture(_cars(300, 2), at=time.time() - 600)
    calm = run_monitor("quiet")
    assert calm.status == "ok", calm.results
    _capture(_cars(300, 3, shift=6.0), at=time.time() - 300, prefix="s")
    update_monitor("quiet", severity={"drift": "warn"}, checks=["drift"])
    assert get_monitor("quiet").revision == 2
    warned = run_monitor("quiet")
    assert warned.status == "warn"
    minute = "%Y-%m-%dT%H:%M+00:00"
    assert warned.results["since"] == {  # the ok run before it ends the streak
        "first_seen": warned.window_until.strftime(minute),
        "last_ok": calm.window_until.strftime(minute),
    }
    assert "since" not in calm.results  # an ok run is not "not ok since"


@pytest.mark.e2e  # the alambic command, killed in its own process
def test_a_run_killed_halfway_is_listed_as_running_and_a_rerun_gives_the_verdict(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from alambic.monitoring import report_file

    _served()
    now = time.time()
    for hour in range(6):  # drift over time in 72 chunks: a run that takes a while
        _capture(_cars(60, 30 + hour, shift=hour), at=now - hour * 3600 - 60, prefix=f"k{hour}-")
    create_monitor("killed", endpoint="cars", window="6h", chunk="5m")
    until = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    before = run_monitor("killed", until=until)  # a run that was never killed
    environ = {**os.environ, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "alambic.cli", "monitors", "run", "killed", "--until", until]
    process = subprocess.Popen(command, cwd=tmp_path, env=environ)
    deadline = time.monotonic() + 60
    while len(monitor_history("killed")) < 2 and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)  # halfway: the run is stored, its results are not
    process.wait()
    killed = monitor_history("killed")[0]
    assert killed.status == "running" and killed.report is None and not killed.results
    assert report_file(killed) is None  # no half-written report is listed
    rerun = run_monitor("killed", until=killed.window_until)
    assert (rerun.window_since, rerun.window_until) == (before.window_since, before.window_until)
    assert rerun.status == before.status == "alert"
    assert rerun.results["drift"]["drifted"] == before.results["drift"]["drifted"]
    verdicts = [c["status"] for c in rerun.results["drift_over_time"]]
    assert verdicts == [c["status"] for c in before.results["drift_over_time"]]
    kinds = sorted(v["constraint_check_type"] for v in rerun.results["quality"])
    assert kinds == sorted(v["constraint_check_type"] for v in before.results["quality"])
    assert [r.status for r in monitor_history("killed")] == ["alert", "running", "alert"]


def test_bad_configurations_are_refused_with_what_to_do() -> None:
    with pytest.raises(MonitoringError, match="give one"):
        create_monitor("m1")
    with pytest.raises(MonitoringError, match="unknown checks"):
        create_monitor("m2", endpoint="cars", checks=["vibes"])
    with pytest.raises(MonitoringError, match="not a period"):
        create_monitor("m3", endpoint="cars", window="a while")
    with pytest.raises(MonitoringError, match="warn or alert"):
        create_monitor("m4", endpoint="cars", severity={"drift": "panic"})
    with pytest.raises(MonitoringError, match="labels: give endpoint"):
        create_monitor("m5", data="x.parquet", checks=["performance"])
    with pytest.raises(NotFoundError, match="no monitor 'nope'"):
        run_monitor("nope")
    create_monitor("m6", endpoint="cars")
    delete_monitor("m6")
    with pytest.raises(NotFoundError):
        get_monitor("m6")


def test_a_data_source_monitor_needs_no_endpoint(tmp_path: Path) -> None:
    reference, current = _cars(500, 4), _cars(500, 5, shift=5.0)
    reference.to_parquet(tmp_path / "train.parquet")
    current.to_parquet(tmp_path / "today.parquet")
    create_monitor("files", data=str(tmp_path / "today.parquet"),
                   reference=str(tmp_path / "train.parquet"), checks=["drift"])  # fmt: skip
    run = run_monitor("files")  # one column of three drifted: a warning
    assert run.status == "warn" and run.results["drift"]["drifted"] == ["price"]
    update_monitor("files", drift_options={"drift_share": 0.3})  # a third is enough
    assert run_monitor("files").status == "alert"


@pytest.mark.e2e  # the alambic command, in processes of its own
def test_the_cli_creates_runs_and_reports_monitors(tmp_path: Path) -> None:
    _served()
    _capture(_cars(300, 6, shift=6.0), at=time.time() - 600)
    created = invoke(tmp_path, "monitors", "create", "cli-mon", "--endpoint", "cars",
                     "--window", "2h", "--threshold", "drift_share=0.3", "--severity",
                     "quality=alert")  # fmt: skip
    assert created.code == 0, created.transcript
    ran = invoke(tmp_path, "monitors", "run", "cli-mon", "--output", "json")
    assert ran.code == 1  # alert
    run = json.loads(ran.out)
    assert run["status"] == "alert" and Path(run["report"]).read_text().startswith("<!doctype")
    report = invoke(tmp_path, "monitors", "report", run["id"])
    assert report.code == 0 and "price" in report.out and "drift" in report.out
    listed = invoke(tmp_path, "monitors", "list")
    assert "cli-mon" in listed.out and "alert" in listed.out
    history = invoke(tmp_path, "monitors", "history", "cli-mon")
    assert run["id"] in history.out
    bad = invoke(tmp_path, "monitors", "create", "x", "--endpoint", "cars", "--window", "soon")
    assert bad.code == 2 and "not a period" in bad.err


def test_requests_serving_refused_are_quality_violations() -> None:
    from alambic.serving import capture_root
    from alambic.serving._capture import CaptureBuffer

    _served()
    _capture(_cars(100, 7), at=time.time() - 600)
    buffer = CaptureBuffer(capture_root(), flush_seconds=3600)
    for _ in range(25):
        buffer.reject("cars", "price", "422: expected a number", time.time() - 300)
    buffer.flush()
    buffer.close()
    create_monitor("refusals", endpoint="cars", window="1h", checks=["quality"])
    run = run_monitor("refusals")
    (refused,) = [
        v for v in run.results["quality"] if v["constraint_check_type"] == "rejected_requests_check"
    ]
    assert refused["feature_name"] == "price" and refused["observed"] == 25
    assert refused["share"] == pytest.approx(25 / 125)
    assert run.status == "warn"


def test_estimated_performance_warns_before_the_labels_and_shows_beside_them() -> None:
    _served(calibrated=True)
    now = time.time()
    easy, hard = _cars(400, 21), _cars(400, 22)
    hard["price"] = 20 + np.random.default_rng(3).normal(0, 0.4, 400)  # near the boundary
    ids = _capture(easy, at=now - 2.5 * 3600, prefix="e")
    _capture(hard, at=now - 0.5 * 3600, prefix="h")
    inputs = easy[["price", "km"]].head(100)  # a challenger's answers: not its calibration's
    write_capture("cars", inputs, model="cars-small/1", at=now - 2.5 * 3600, prefix="c",
                  probabilities=MODEL[0].predict_proba(inputs)[:, ::-1])  # fmt: skip
    al.serving.write_labels("cars", pd.DataFrame({"request_id": ids, "label": _outcome(easy)}))
    create_monitor("cars-estimate", endpoint="cars", window="3h", chunk="1h",
                   checks=["estimate", "performance"], minimum={"accuracy": 0.75})  # fmt: skip
    run = run_monitor("cars-estimate")
    first, *_, last = run.results["estimate"]["chunks"]
    assert first["rows"] == 400  # the served champion's rows only
    assert first["estimated"]["accuracy"] > 0.75 > last["estimated"]["accuracy"]
    low, high = first["band"]["accuracy"]
    assert low - 0.02 <= first["realized"]["accuracy"] <= high + 0.02
    assert last["realized"] == {}  # no label yet: the estimate alone
    assert run.status == "warn", run.results  # estimates warn; nothing realized is bad
    assert run.results["estimate_problems"][0].startswith("estimated accuracy is")
    over_time = run.results["performance_over_time"]
    assert over_time[0]["labelled"] == 400 and "roc_auc" in over_time[0]["ci"]
    html = al.store.ArtifactStore(al.config.settings().artifacts).get_bytes(run.report).decode()
    assert "Estimated performance" in html and "Quality over time" in html
    estimated = html[html.index("<h2>Estimated performance</h2>") :]
    assert "<title>realized" in estimated and "<polygon" in estimated  # dots and bands
    again = run_monitor("cars-estimate", until=run.window_until)
    first_seen = run.window_until.isoformat(timespec="minutes")
    assert again.results["since"] == {"first_seen": first_seen, "last_ok": None}
    from alambic.serving._gauges import render_gauges

    assert 'alambic_monitor_estimated{endpoint="cars"' in render_gauges(["cars"])
    calibration = al.monitoring.calibration_of("cars@production")
    assert list(calibration.columns) == ["score", "label"] and len(calibration) == 2000


def test_an_estimate_without_calibration_data_says_how_to_register_it() -> None:
    from sklearn.linear_model import LinearRegression

    _served()
    _capture(_cars(50, 23), at=time.time() - 600)
    create_monitor("no-calibration", endpoint="cars", checks=["estimate"])
    with pytest.raises(MonitoringError, match=r"calibration=\(X_test, y_test\)"):
        run_monitor("no-calibration")
    assert monitor_history("no-calibration")[0].status == "failed"
    train, held_out = _cars(800, 0), _cars(300, 25)
    again = al.register(MODEL[0], "cars", X=train[["price", "km"]], y=_outcome(train),
                        calibration=(held_out[["price", "km"]], _outcome(held_out)))  # fmt: skip
    assert again["version"] == 1  # the same model: its version gains what it lacked
    assert len(al.monitoring.calibration_of("cars/1")) == 300
    assert run_monitor("no-calibration").status in ("ok", "warn")
    (audit,) = [a for a in al.registry.history("cars") if a.action == "add-lineage"]
    assert audit.after is not None and audit.after["calibration"]["rows"] == 300
    frame = _cars(50, 24)
    X = frame[["price", "km"]]
    with pytest.raises(ModelError, match="class probabilities"):
        al.register(LinearRegression().fit(X, frame["price"]), "cars-reg", X=X,
                    y=frame["price"], calibration=(X, frame["price"]))  # fmt: skip
    with pytest.raises(ModelError, match="not one of the model's classes"):
        al.register(MODEL[0], "cars-bad", X=X, y=_outcome(frame), calibration=(X, ["?"] * 50))


def test_a_pipeline_runs_a_monitor_and_acts_on_its_status() -> None:
    from tests.monitoring import flows

    _served()
    _capture(_cars(300, 26, shift=6.0), at=time.time() - 600)
    create_monitor("cars-health", endpoint="cars", window="1h")
    run = al.run(flows.watched)
    assert run.succeeded, run.error
    assert run.result() == "retrain: alert"
    (stored,) = monitor_history("cars-health")
    assert stored.status == "alert" and stored.report is not None
    create_monitor("quiet-one", endpoint="cars", window="1h", checks=["drift"],
                   severity={"drift": "warn"})  # fmt: skip
    calm = al.run(flows.watched, params={"name": "quiet-one"})
    assert calm.succeeded, calm.error
    assert calm.step("react").status == "skipped"  # a warning: no retraining
    assert monitor_history("quiet-one")[0].status == "warn"
    assert al.monitoring.monitor_step("quiet-one")["status"] == "warn"  # plain Python
