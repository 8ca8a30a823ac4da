"""Run output that CI logs and tools can use: event lines outside a terminal, JSON lines,
``runs wait`` and ``runs logs --follow`` (issue 13, item 3).

The commands run in subprocesses whose stdout is a pipe, as in a CI job.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import FAILING, FLOW, SCRIPT, SLEEPY, Alambic, Result, Write

RUN_ID = re.compile(r"run-\d{8}-\d{6}-[0-9a-f]+")
# 2026-12-01 16:15:05 square[0] succeeded: in 0.41s (the subject of a run's own lines
# is "run RUN").
EVENT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+(?: run-\S+)?) (\w+)(?:: (.*))?$")

TICKS = """
import time

import alambic as al
from alambic.pipelines import report_progress


@al.step
def tick(n: int) -> int:
    for i in range(n):
        print(f"tick {i}", flush=True)
        report_progress(f"trials {i + 1}/{n}")
        time.sleep(0.4)
    return n


@al.pipeline
def ticks(n: int = 5) -> int:
    return tick(n)
"""

FLAKY = """
import alambic as al


@al.step(retries=1, retry_delay=0.1)
def flaky() -> int:
    raise RuntimeError("the service is down")


@al.pipeline
def unlucky() -> int:
    return flaky()
"""


def events(result: Result) -> list[tuple[str, str, str]]:
    """(subject, event, detail) of each timestamped line of ``alambic run`` (text)."""
    found = []
    for line in result.out.splitlines():
        match = EVENT_LINE.match(line)
        if match:
            found.append((match.group(1), match.group(2), match.group(3) or ""))
    return found


def json_lines(result: Result) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert all(isinstance(line, dict) for line in lines), result.transcript
    return lines


def environment() -> dict[str, str]:
    environ = os.environ.copy()
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        environ.pop(key, None)
    environ.update({"COLUMNS": "200", "NO_COLOR": "1"})
    return environ


def command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "alambic.cli"]


# -- alambic run, not on a terminal --------------------------------------------------------
def test_run_prints_the_run_id_first_then_one_timestamped_line_per_event(
    alambic: Alambic, write: Write
) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow.py:squares")
    assert result.code == 0, result.transcript
    first = result.out.splitlines()[0]
    run = RUN_ID.search(first)
    assert run is not None, result.transcript
    assert f"alambic resume {run.group()}" in first
    assert f"alambic runs show {run.group()}" in first
    found = events(result)
    assert found[0][:2] == (f"run {run.group()}", "started")
    steps = [(subject, event) for subject, event, _ in found[1:]]
    for label in ("square[0]", "square[1]", "square[2]", "summarize"):
        assert (label, "started") in steps, result.transcript
        assert (label, "succeeded") in steps, result.transcript
        assert steps.index((label, "started")) < steps.index((label, "succeeded"))
    assert len(steps) == 8, result.transcript  # one line per event, no repeats
    started = next(d for s, e, d in found if (s, e) == ("square[0]", "started"))
    assert "miss:" in started  # why the step runs
    # The summary at the end, as before.
    assert result.out.rstrip().splitlines()[-1].startswith("result: ")
    assert f"run {run.group()} succeeded" in result.out


def test_cached_lines_carry_the_cache_reason(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    first = alambic("run", "flow.py:squares", "-q")
    assert first.code == 0, first.transcript
    again = alambic("run", "flow.py:squares")
    assert again.code == 0, again.transcript
    cached = {s: d for s, e, d in events(again) if e == "cached"}
    assert set(cached) == {"square[0]", "square[1]", "square[2]", "summarize"}, again.transcript
    for reason in cached.values():
        assert reason.startswith("hit: ") and RUN_ID.search(reason), again.transcript


def test_failed_lines_carry_the_error_and_skipped_lines_the_reason(
    alambic: Alambic, write: Write
) -> None:
    write("failing.py", FAILING)
    result = alambic("run", "failing.py:partly")
    assert result.code == 1, result.transcript
    found = {(s, e): d for s, e, d in events(result)}
    assert found[("fragile[1]", "failed")] == "ValueError: cannot handle 2", result.transcript
    assert "upstream" in found[("total", "skipped")], result.transcript
    assert "--- fragile[1]: ValueError: cannot handle 2" in result.out  # the summary


def test_retrying_lines_carry_the_reason(alambic: Alambic, write: Write) -> None:
    write("flaky.py", FLAKY)
    result = alambic("run", "flaky.py")
    assert result.code == 1, result.transcript
    found = [(s, e, d) for s, e, d in events(result) if s == "flaky"]
    assert [e for _, e, _ in found] == ["started", "retrying", "started", "failed"], found
    assert found[1][2] == "attempt 1 failed: RuntimeError: the service is down"
    assert found[2][2] == "attempt 2"
    assert found[3][2] == "RuntimeError: the service is down"


def test_progress_lines_are_throttled(alambic: Alambic, write: Write) -> None:
    write("ticks.py", TICKS)
    often = alambic("run", "ticks.py", "--progress-every", "0.5s", "-p", "n=6")
    assert often.code == 0, often.transcript
    progress = [d for s, e, d in events(often) if e == "progress"]
    assert 1 <= len(progress) <= 5, often.transcript
    assert all(re.fullmatch(r"trials \d/6", p) for p in progress), progress
    rarely = alambic("run", "ticks.py", "-p", "n=4")  # default: every 10s
    assert rarely.code == 0, rarely.transcript
    assert [e for _, e, _ in events(rarely) if e == "progress"] == []


def test_the_run_id_is_flushed_before_the_run_ends(tmp_path: Path, write: Write) -> None:
    write("sleepy.py", SLEEPY)
    process = subprocess.Popen(
        [*command(), "run", "sleepy.py", "-p", "seconds=3"],
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert RUN_ID.search(first), first
        second = process.stdout.readline()
        assert " nap started: " in second, second
        assert process.poll() is None  # the lines came while the step still ran
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, rest
    assert re.search(r" nap succeeded: in 3\.\d\ds$", rest, re.MULTILINE), rest


# -- --output json -------------------------------------------------------------------------
def test_json_lines_carry_the_same_events(alambic: Alambic, write: Write) -> None:
    write("failing.py", FAILING)
    text = alambic("run", "failing.py", "--no-cache")
    as_json = alambic("run", "failing.py", "--no-cache", "--output", "json")
    assert as_json.code == 1, as_json.transcript
    lines = json_lines(as_json)
    run = lines[0]["run"]
    assert lines[0]["event"] == "started" and lines[0]["step"] is None
    assert all(line["run"] == run for line in lines)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", x["time"]) for x in lines)
    step_events = {(x["step"], x["event"], x["detail"]) for x in lines[1:-1]}
    same = {(s, e, d) for s, e, d in events(text)[1:] if e != "succeeded"}
    assert {x for x in step_events if x[1] != "succeeded"} == same
    assert ("fragile[1]", "failed", "ValueError: cannot handle 2") in step_events
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["status"] == "failed"
    assert summary["failed"] == [{"step": "fragile[1]", "error": "ValueError: cannot handle 2"}]


def test_json_summary_holds_the_result(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow.py", "-o", "json")
    assert result.code == 0, result.transcript
    summary = json_lines(result)[-1]
    assert summary["status"] == "succeeded"
    assert summary["result"] == {"label": "sum", "total": 14.0, "tags": ["x"]}


def test_an_unknown_output_is_a_usage_error(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow.py", "--output", "yaml")
    assert result.code == 2, result.transcript
    assert "--output 'yaml': use text or json" in result.err


# -- runs wait -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pipeline", "code", "status"),
    [(FLOW, 0, "succeeded"), (FAILING, 1, "failed")],
    ids=["succeeded", "failed"],
)
def test_runs_wait_exits_with_the_runs_outcome(
    alambic: Alambic, write: Write, pipeline: str, code: int, status: str
) -> None:
    write("pipeline.py", pipeline)
    ran = alambic("run", "pipeline.py", "-q")
    run = RUN_ID.findall(ran.out)[-1]
    waited = alambic("runs", "wait", run)
    assert waited.code == code, waited.transcript
    assert f"run {run} {status}" in waited.out
    as_json = alambic("runs", "wait", run, "-o", "json")
    assert as_json.code == code, as_json.transcript
    assert json_lines(as_json)[-1]["status"] == status


def test_runs_wait_of_an_unknown_run_exits_2_with_one_line(alambic: Alambic) -> None:
    result = alambic("runs", "wait", "run-nope")
    assert result.code == 2, result.transcript
    assert result.err.count("\n") == 1
    assert "run 'run-nope' does not exist" in result.err


@pytest.mark.slow
def test_runs_wait_follows_a_submitted_run_and_times_out(alambic: Alambic, write: Write) -> None:
    write("sleepy.py", SLEEPY)
    submitted = alambic("submit", "sleepy.py", "-p", "seconds=4")
    assert submitted.code == 0, submitted.transcript
    run = submitted.out.strip()
    try:
        short = alambic("runs", "wait", run, "--timeout", "1s")
        assert short.code == 124, short.transcript
        assert f"run {run} still " in short.err and "after 1s" in short.err
        waited = alambic("runs", "wait", run, "--timeout", "2m")
        assert waited.code == 0, waited.transcript
    finally:
        alambic("cancel", run, "--wait", "0")  # never leave a sleeping run behind
    # On a loaded machine the run's heartbeat may go stale and the run be taken over: the
    # step then reads "kept from before" (it finished once); either way wait saw it end.
    pattern = r" nap succeeded: (in 4\.\d\ds|kept from before)$"
    assert re.search(pattern, waited.out, re.MULTILINE), waited.transcript
    assert f"run {run} succeeded" in waited.out


def test_runs_wait_rejects_a_bad_timeout(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = RUN_ID.findall(alambic("run", "flow.py", "-q").out)[-1]
    result = alambic("runs", "wait", run, "--timeout", "soon")
    assert result.code == 2, result.transcript
    assert "--timeout 'soon'" in result.err


# -- runs logs --follow --------------------------------------------------------------------
@pytest.mark.slow
def test_runs_logs_follow_tails_a_step_until_it_ends(alambic: Alambic, write: Write) -> None:
    write("ticks.py", TICKS)
    submitted = alambic("submit", "ticks.py", "-p", "n=5")
    assert submitted.code == 0, submitted.transcript
    run = submitted.out.strip()
    try:
        followed = alambic("runs", "logs", run, "tick", "--follow", timeout=60)
    finally:
        alambic("cancel", run, "--wait", "0")
    assert followed.code == 0, followed.transcript
    assert [f"tick {i}" for i in range(5)] == [
        line for line in followed.out.splitlines() if line.startswith("tick ")
    ]
    waited = alambic("runs", "wait", run, "-q")
    assert waited.code == 0, waited.transcript  # the step had ended when --follow returned


def test_runs_logs_follow_of_a_finished_step_prints_its_log(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = RUN_ID.findall(alambic("run", "flow.py", "-q", "-p", "values=[7]").out)[-1]
    followed = alambic("runs", "logs", run, "square", "-f")
    assert followed.code == 0, followed.transcript
    assert "squaring 7" in followed.out
    no_step = alambic("runs", "logs", run, "--follow")
    assert no_step.code == 2, no_step.transcript
    assert "--follow tails one step" in no_step.err
