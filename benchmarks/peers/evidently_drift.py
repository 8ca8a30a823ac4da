"""Peer side of the monitoring benchmark: Evidently's DataDriftPreset on two Parquet folders.

Runs only inside benchmarks/.venv-evidently (see benchmarks/peers/requirements-evidently.txt;
Evidently 0.7 does not import with pandas 3, which alambic's own environment has), never
in alambic's own environment, each time in a fresh process so that its peak memory is
this run's alone:

    benchmarks/.venv-evidently/bin/python benchmarks/peers/evidently_drift.py \
        REFERENCE_DIR CURRENT_DIR HTML_OUT

It imports Evidently (timed apart, ``import_s``), then times, as a user runs it:
``pandas.read_parquet`` of both folders (``read_s``), a ``Report`` of one
``DataDriftPreset()`` with Evidently's defaults run on them (``report_s``: column types
inferred, every column tested with its default test and threshold) and the report saved
as HTML (``html_s``). ``wall_s`` is their sum. It prints one JSON line: those times, the
process's peak RSS (``VmHWM``, MB), the HTML's size, the columns Evidently flags as
drifted, its share of drifted columns and its data set verdict, and each column's test.

Evidently >= 0.7 (``from evidently import Report``) gives each column a ``ValueDrift``
metric whose value is the test's p-value (a method named ``... p_value``: drift below
the threshold) or a distance (drift at or above it), as Evidently's own stattests
decide; the ``DriftedColumnsCount`` metric's count is checked against them. The data
set drifts when that share reaches the preset's ``drift_share`` (0.5). Evidently 0.4 to
0.6 (``evidently.report.Report``, ``evidently.metric_preset``) report ``drift_detected``
per column in ``DataDriftTable`` and ``dataset_drift`` in ``DatasetDriftMetric``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

DRIFT_SHARE = 0.5  # DataDriftPreset's default


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _current(snapshot: Any) -> dict[str, Any]:
    """Drift per column from an Evidently >= 0.7 snapshot's dict."""
    tests, count = {}, None
    for metric in snapshot.dict()["metrics"]:
        config, value = metric["config"], metric["value"]
        if config["type"].endswith("DriftedColumnsCount"):
            count = value["count"]
        elif config["type"].endswith("ValueDrift"):
            method, threshold = config["method"], config["threshold"]
            drifted = value < threshold if "p_value" in method else value >= threshold
            tests[config["column"]] = {"method": method, "score": value, "drifted": bool(drifted)}
    drifted = [name for name, test in tests.items() if test["drifted"]]
    if count is not None and int(count) != len(drifted):
        raise SystemExit(f"DriftedColumnsCount is {count}, the columns' tests say {drifted}")
    share = len(drifted) / len(tests) if tests else 0.0
    return {
        "tests": tests,
        "drifted": drifted,
        "share": share,
        "dataset_drift": share >= DRIFT_SHARE,
    }


def _legacy(report: Any) -> dict[str, Any]:
    """Drift per column from an Evidently 0.4-0.6 report's dict."""
    tests, result = {}, {}
    for metric in report.as_dict()["metrics"]:
        if metric["metric"] == "DataDriftTable":
            for name, column in metric["result"]["drift_by_columns"].items():
                tests[name] = {
                    "method": column["stattest_name"],
                    "score": column["drift_score"],
                    "drifted": bool(column["drift_detected"]),
                }
        elif metric["metric"] == "DatasetDriftMetric":
            result = metric["result"]
    drifted = [name for name, test in tests.items() if test["drifted"]]
    share = result.get("share_of_drifted_columns", len(drifted) / max(len(tests), 1))
    return {
        "tests": tests,
        "drifted": drifted,
        "share": share,
        "dataset_drift": result.get("dataset_drift", share >= DRIFT_SHARE),
    }


def _run(reference: str, current: str, html: str) -> dict[str, Any]:
    began = time.perf_counter()
    import evidently
    import pandas as pd

    try:  # Evidently >= 0.7
        from evidently import Report
        from evidently.presets import DataDriftPreset

        legacy = False
    except ImportError:  # 0.4 to 0.6
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report

        legacy = True
    imported = time.perf_counter()
    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    read = time.perf_counter()
    if legacy:
        report = Report(metrics=[DataDriftPreset()])
        report.run(reference_data=ref, current_data=cur)
        saved: Any = report
    else:
        saved = Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur)
    ran = time.perf_counter()
    saved.save_html(html)
    done = time.perf_counter()
    found = _legacy(saved) if legacy else _current(saved)
    return {
        "tool": "evidently",
        "version": evidently.__version__,
        "pandas": pd.__version__,
        "import_s": imported - began,
        "read_s": read - imported,
        "report_s": ran - read,
        "html_s": done - ran,
        "wall_s": done - imported,
        "peak_mb": peak_mb(),
        "html_bytes": os.path.getsize(html),
        "rows": [len(ref), len(cur)],
        **found,
    }


def main() -> None:
    reference, current, html = sys.argv[1:4]
    # The JSON line goes to the real stdout; anything Evidently prints goes to stderr.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    line = _run(reference, current, html)
    json_out.write(json.dumps(line) + "\n")
    json_out.flush()


if __name__ == "__main__":
    main()
