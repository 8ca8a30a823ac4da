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
from alambic.errors import MonitoringError, NotFoundError
from alambic.monitoring import (
    create_monitor,
    delete_monitor,
    get_monitor,
    monitor_history,
    monitoring_store,
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


def _served(name: str = "cars") -> pd.DataFrame:
    """A model registered with its baseline, in production behind endpoint ``name``."""
    from sklearn.linear_model import LogisticRegression

    train = _cars(800, 0)
    X, y = train[["price", "km"]], (train["price"] > 20).astype(int)
    model = LogisticRegression().fit(X, y)
    MODEL[:] = [model]
    version = al.register(model, name, X=X, y=y, baseline=train)
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
    assert run_monitor("quiet").status == "warn"


def test_a_run_killed_halfway_is_listed_as_running_without_a_report() -> None:
    _served()
    create_monitor("killed", endpoint="cars")
    store = monitoring_store()
    store.start_run(get_monitor("killed"), since=None, until=None, actor="test")
    (run,) = monitor_history("killed")
    assert run.status == "running" and run.report is None


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
