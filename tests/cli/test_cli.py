"""End-to-end scenarios of the ``alambic`` command, run in a subprocess as a user runs it.

Every test writes the small pipeline files it needs into its own folder and runs the
real console script there, with its own ALAMBIC_HOME. Exit codes: 0 success, 1 the run
failed, 2 usage error.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import (
    DEFAULT_RESULT,
    FAILING,
    FLOW,
    GATED,
    MISMATCH,
    NEEDS,
    OPTIONAL,
    SLEEPY,
    TWO,
    Alambic,
    Result,
    Show,
    Write,
    invoke,
)

RUN_LINE = re.compile(r"^run (run-\S+) (succeeded|failed|cancelled)$", re.MULTILINE)
RUN_ID = re.compile(r"run-\d{8}-\d{6}-[0-9a-f]+")
FINISHED = ("succeeded", "failed", "cancelled")


# -- helpers -------------------------------------------------------------------------------
def run_id(result: Result) -> str:
    """The run id from the last line ``run RUN STATUS`` of ``alambic run``/``resume``."""
    found = RUN_LINE.findall(result.out)
    assert found, result.transcript
    return str(found[-1][0])


def result_of(result: Result) -> Any:
    """The value printed on the ``result:`` line."""
    lines = [line for line in result.out.splitlines() if line.startswith("result: ")]
    assert len(lines) == 1, result.transcript
    return json.loads(lines[0].removeprefix("result: "))


def label(step: dict[str, Any]) -> str:
    return f"{step['node']}[{step['instance']}]" if step["instance"] else str(step["node"])


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {label(step): step["status"] for step in data["steps"]}


def marks(folder: Path, tag: str) -> int:
    """How many times the FAILING pipeline executed the step tagged ``tag``."""
    return len(list((folder / "marks").glob(f"{tag}.*")))


def wait_for(
    show: Show, run: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 120.0
) -> dict[str, Any]:
    """Poll ``alambic runs show RUN --json`` until ``predicate`` holds (a bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        data = show(run)
        if predicate(data):
            return data
        assert time.monotonic() < deadline, f"timed out waiting on {run}: {data['run']['status']}"
        time.sleep(0.5)


def table_row(text: str, first_cell: str) -> list[str]:
    """The cells of the Rich table row whose first cell is ``first_cell``."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


# -- alambic run ---------------------------------------------------------------------------
def test_run_shows_the_steps_and_prints_the_result(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow.py:squares")
    assert result.code == 0, result.transcript
    assert result.err == ""
    assert f"run {run_id(result)} succeeded" in result.out
    assert result_of(result) == DEFAULT_RESULT
    # The live view's last frame: one row per graph node, map nodes count their branches.
    assert re.search(r"square\s+✔ succeeded\s+3/3", result.out), result.transcript
    assert re.search(r"summarize\s+✔ succeeded", result.out), result.transcript


@pytest.mark.parametrize(
    ("param", "value", "changed"),
    [
        ("offset=5", 5, {"total": 19.0}),
        ("scale=0.5", 0.5, {"total": 7.0}),
        ('tags=["a","b"]', ["a", "b"], {"tags": ["a", "b"]}),
        ("tags=a,b", ["a", "b"], {"tags": ["a", "b"]}),
        ("label=42", "42", {"label": "42"}),  # a str parameter takes the text as it is
    ],
    ids=["int", "float", "json-list", "comma-list", "str"],
)
def test_run_parameter_overrides(
    alambic: Alambic, write: Write, show: Show, param: str, value: Any, changed: dict[str, Any]
) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow.py:squares", "-p", param, "-q")
    assert result.code == 0, result.transcript
    assert result_of(result) == {**DEFAULT_RESULT, **changed}
    stored = show(run_id(result))["run"]["params"]
    assert stored[param.partition("=")[0]] == value


def test_second_run_is_fully_cached(alambic: Alambic, write: Write, show: Show) -> None:
    write("flow.py", FLOW)
    first = alambic("run", "flow.py:squares", "-q")
    second = alambic("run", "flow.py:squares")
    assert first.code == second.code == 0, second.transcript
    assert "cached" in second.out
    assert result_of(second) == result_of(first) == DEFAULT_RESULT
    data = show(run_id(second))
    assert statuses(data) == {
        "square[0]": "cached",
        "square[1]": "cached",
        "square[2]": "cached",
        "summarize": "cached",
    }
    for step in data["steps"]:
        assert step["cache"]["reason"].startswith("hit:"), step["cache"]
    assert run_id(first) in data["steps"][-1]["cache"]["reason"]


def test_no_cache_executes_every_step_again(alambic: Alambic, write: Write, show: Show) -> None:
    write("flow.py", FLOW)
    assert alambic("run", "flow.py:squares", "-q").code == 0
    again = alambic("run", "flow.py:squares", "--no-cache", "-q")
    assert again.code == 0, again.transcript
    assert result_of(again) == DEFAULT_RESULT
    data = show(run_id(again))
    assert set(statuses(data).values()) == {"succeeded"}
    for step in data["steps"]:
        assert "cache is off" in step["cache"]["reason"], step["cache"]


def test_quiet_run_of_a_file_with_one_pipeline(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow.py", "-q")  # no :NAME, the file has one pipeline
    assert result.code == 0, result.transcript
    assert re.search(r"^run run-\S+ succeeded$", result.out, re.MULTILINE), result.transcript
    assert result_of(result) == DEFAULT_RESULT
    assert "progress" not in result.out  # no live view
    assert "elapsed" not in result.out


# -- usage errors --------------------------------------------------------------------------
USAGE_ERRORS = [
    pytest.param(
        {"flow.py": FLOW},
        ["run", "flow.py:squares", "-p", "offset=abc"],
        ["parameter 'offset' expects int", "'abc'"],
        id="int-not-a-number",
    ),
    pytest.param(
        {"flow.py": FLOW},
        ["run", "flow.py:squares", "-p", 'values=[1,"x"]'],
        ["parameter 'values' expects list[int]"],
        id="list-item-wrong-type",
    ),
    pytest.param(
        {"flow.py": FLOW},
        ["run", "flow.py:squares", "-p", "nope=1"],
        ["unknown parameter 'nope'", "takes: values, scale, offset, label, tags"],
        id="unknown-parameter",
    ),
    pytest.param(
        {"flow.py": FLOW},
        ["run", "flow.py:squares", "-p", "novalue"],
        ["-p 'novalue'", "NAME=VALUE"],
        id="no-equals-sign",
    ),
    pytest.param(
        {"flow.py": FLOW},
        ["run", "flow.py:nope"],
        ["flow.py has no pipeline named 'nope'", "it has: squares"],
        id="unknown-pipeline",
    ),
    pytest.param(
        {"two.py": TWO},
        ["run", "two.py"],
        ["two.py defines 2 pipelines (first, second)", "two.py:NAME"],
        id="two-pipelines-no-name",
    ),
    pytest.param(
        {}, ["run", "missing.py:squares"], ["missing.py: no such file"], id="missing-file"
    ),
    pytest.param(
        {"bad.py": "import alambic as al\n\ndef broken(:\n"},
        ["run", "bad.py"],
        ["cannot import", "bad.py", "SyntaxError"],
        id="syntax-error",
    ),
    pytest.param(
        {"imports.py": "import alambic as al\nimport no_such_module_xyz\n"},
        ["run", "imports.py"],
        ["cannot import", "imports.py", "ModuleNotFoundError", "no_such_module_xyz"],
        id="module-not-found",
    ),
    pytest.param(
        {"raises.py": 'raise ImportError("libfoo is not installed")\n'},
        ["run", "raises.py:anything"],
        ["cannot import", "raises.py", "ImportError: libfoo is not installed"],
        id="import-error",
    ),
    pytest.param(
        {"mismatch.py": MISMATCH},
        ["run", "mismatch.py"],
        ["argument 'x' of step 'double' expects int", "word of type str"],
        id="steps-do-not-fit",
    ),
    pytest.param(
        {"needs.py": NEEDS},
        ["run", "needs.py"],
        ["parameter 'name' (str) is required", "-p name=VALUE"],
        id="missing-required-parameter",
    ),
    pytest.param(
        {"flow.py": FLOW},
        ["submit", "flow.py:squares", "-p", "offset=abc"],
        ["parameter 'offset' expects int", "'abc'"],
        id="submit-bad-parameter",
    ),
    pytest.param(
        {"needs.py": NEEDS},
        ["submit", "needs.py"],
        ["parameter 'name' (str) is required", "-p name=VALUE"],
        id="submit-missing-required-parameter",
    ),
]


@pytest.mark.parametrize(("files", "args", "fragments"), USAGE_ERRORS)
def test_usage_error_is_one_line_and_stores_nothing(
    alambic: Alambic,
    write: Write,
    home: Path,
    files: dict[str, str],
    args: list[str],
    fragments: list[str],
) -> None:
    for name, text in files.items():
        write(name, text)
    result = alambic(*args)
    assert result.code == 2, result.transcript
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.transcript
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert not (home / "alambic.db").exists()
    assert result.out == ""


def test_optional_parameter_can_be_passed_to_a_step(alambic: Alambic, write: Write) -> None:
    write("optional.py", OPTIONAL)
    result = alambic("run", "optional.py", "-p", "limit=3", "-q")
    assert result.code == 0, result.transcript
    assert result_of(result) == "first 3"


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(
            False,
            id="script",
        ),
        pytest.param(True, id="python-m"),
    ],
)
def test_run_a_module_of_the_working_folder(alambic: Alambic, write: Write, module: bool) -> None:
    write("flow.py", FLOW)
    result = alambic("run", "flow:squares", "-q", module=module)  # module:NAME, not a path
    assert result.code == 0, result.transcript
    assert result_of(result) == DEFAULT_RESULT


@pytest.mark.parametrize(
    "command",
    [["runs", "show"], ["runs", "logs"], ["resume"], ["cancel"]],
    ids=["runs-show", "runs-logs", "resume", "cancel"],
)
def test_unknown_run_is_a_usage_error(alambic: Alambic, command: list[str]) -> None:
    result = alambic(*command, "run-nope")
    assert result.code == 2, result.transcript
    assert "run 'run-nope' does not exist" in result.err
    assert "Traceback" not in result.output


# -- failures ------------------------------------------------------------------------------
def test_failing_step_exits_1_and_runs_show_has_its_traceback(
    alambic: Alambic, write: Write, show: Show
) -> None:
    write("failing.py", FAILING)
    result = alambic("run", "failing.py:partly")
    assert result.code == 1, result.transcript
    run = run_id(result)
    assert f"run {run} failed" in result.out
    assert "--- fragile[1]: ValueError: cannot handle 2" in result.out
    assert f"alambic runs show {run}" in result.out
    assert "Traceback" not in result.output  # the summary is short; the details are below

    shown = alambic("runs", "show", run)
    assert shown.code == 0, shown.transcript
    assert re.search(r"fragile\[1\]\s+│\s+✘ failed", shown.out), shown.transcript
    assert "fragile[1] traceback:" in shown.out
    assert "Traceback (most recent call last)" in shown.out
    assert 'raise ValueError(f"cannot handle {x}")' in shown.out

    data = show(run)
    assert data["run"]["status"] == "failed"
    assert statuses(data) == {
        "side": "succeeded",
        "prepare[0]": "succeeded",
        "prepare[1]": "succeeded",
        "prepare[2]": "succeeded",
        "fragile[0]": "succeeded",
        "fragile[1]": "failed",
        "fragile[2]": "succeeded",
        "total": "skipped",
    }


# -- runs list / show / logs ---------------------------------------------------------------
def test_runs_list_is_newest_first_and_filters(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    write("failing.py", FAILING)
    oldest = run_id(alambic("run", "flow.py", "-q"))
    failed = run_id(alambic("run", "failing.py", "-q"))
    newest = run_id(alambic("run", "flow.py", "-q", "-p", "offset=1"))

    listed = alambic("runs", "list")
    assert listed.code == 0, listed.transcript
    assert RUN_ID.findall(listed.out) == [newest, failed, oldest]
    assert "offset=1" in table_row(listed.out, newest)[-1]
    assert table_row(listed.out, failed)[1:3] == ["partly", "✘ failed"]

    by_pipeline = alambic("runs", "list", "--pipeline", "squares")
    assert RUN_ID.findall(by_pipeline.out) == [newest, oldest]
    by_status = alambic("runs", "list", "--status", "failed")
    assert RUN_ID.findall(by_status.out) == [failed]
    limited = alambic("runs", "list", "--limit", "1")
    assert RUN_ID.findall(limited.out) == [newest]

    ambiguous = alambic("runs", "show", "run-")
    assert ambiguous.code == 2, ambiguous.transcript
    assert "ambiguous" in ambiguous.err


def test_runs_show_accepts_a_unique_prefix(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = run_id(alambic("run", "flow.py", "-q"))
    shown = alambic("runs", "show", run[:-3])
    assert shown.code == 0, shown.transcript
    assert re.search(rf"^run\s+{run}\s*$", shown.out, re.MULTILINE), shown.transcript
    assert re.search(r"^status\s+✔ succeeded", shown.out, re.MULTILINE), shown.transcript
    assert re.search(r"square\[2\]\s+│\s+✔ succeeded", shown.out), shown.transcript


def test_runs_logs_of_one_step(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = run_id(alambic("run", "flow.py", "-q", "-p", "values=[7]"))
    for step in ("square[0]", "square"):  # by label, or by node name when it is unique
        logs = alambic("runs", "logs", run, step)
        assert logs.code == 0, logs.transcript
        assert "squaring 7" in logs.out  # print
        assert "INFO flow: info about 7" in logs.out  # logging.info
        assert "WARNING flow: warning about 7" in logs.out  # logging.warning
        assert "to stderr 7" in logs.out  # sys.stderr
        assert "──" not in logs.out  # one step: no header


def test_runs_logs_of_a_run_has_a_header_per_step(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = run_id(alambic("run", "flow.py", "-q", "-p", "values=[7, 8]"))
    logs = alambic("runs", "logs", run)
    assert logs.code == 0, logs.transcript
    headers = [line for line in logs.out.splitlines() if line.startswith("── ")]
    assert headers == [
        "── square[0] (succeeded)",
        "── square[1] (succeeded)",
        "── summarize (succeeded)",
    ]
    first, second = logs.out.index("── square[0]"), logs.out.index("── square[1]")
    assert first < logs.out.index("squaring 7") < second < logs.out.index("squaring 8")

    unknown = alambic("runs", "logs", run, "nope")
    assert unknown.code == 2, unknown.transcript
    assert "has no step 'nope'; it has: square[0], square[1], summarize" in unknown.err


# -- submit / cancel -----------------------------------------------------------------------
@pytest.mark.slow
def test_submit_prints_the_run_id_and_the_run_finishes(
    alambic: Alambic, write: Write, show: Show
) -> None:
    write("flow.py", FLOW)
    submitted = alambic("submit", "flow.py:squares", "-p", "offset=3", timeout=30)
    assert submitted.code == 0, submitted.transcript
    run = submitted.out.strip()
    assert RUN_ID.fullmatch(run), submitted.transcript
    assert submitted.out == run + "\n"  # only the id on stdout, for `RUN=$(alambic submit …)`
    assert f"alambic runs show {run}" in submitted.err
    data = wait_for(show, run, lambda d: d["run"]["status"] in FINISHED)
    assert data["run"]["status"] == "succeeded", data["run"]
    assert data["run"]["params"]["offset"] == 3
    assert set(statuses(data).values()) == {"succeeded"}


@pytest.mark.slow
def test_cancel_stops_a_submitted_run(
    alambic: Alambic, write: Write, show: Show, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALAMBIC_HEARTBEAT_SECONDS", "0.5")
    write("sleepy.py", SLEEPY)
    submitted = alambic("submit", "sleepy.py", "-p", "seconds=120", timeout=30)
    assert submitted.code == 0, submitted.transcript
    run = submitted.out.strip()
    try:
        wait_for(show, run, lambda d: statuses(d).get("nap") == "running", timeout=60)
        live = alambic("runs", "logs", run, "nap")  # the log of a running step
        assert "napping 120.0s" in live.out, live.transcript

        cancelled = alambic("cancel", run, timeout=60)
        assert cancelled.code == 0, cancelled.transcript
        assert cancelled.out == f"run {run} cancelled\n"
    except BaseException:
        alambic("cancel", run, "--wait", "0")  # never leave a sleeping run behind
        raise
    data = show(run)
    assert data["run"]["status"] == "cancelled"
    assert statuses(data) == {"nap": "cancelled"}

    again = alambic("cancel", run)
    assert again.code == 2, again.transcript
    assert f"run {run} already cancelled; nothing to cancel" in again.err


def test_a_run_cancelled_as_it_starts_stays_cancelled_and_resumes(
    alambic: Alambic, write: Write, show: Show
) -> None:
    # The README's sequence: the cancel lands before the background process drives the
    # run; that process must not bring it back to life, and `resume` then finishes it.
    write("sleepy.py", SLEEPY)
    submitted = alambic("submit", "sleepy.py", "-p", "seconds=3")
    assert submitted.code == 0, submitted.transcript
    run = submitted.out.strip()
    cancelled = alambic("cancel", run)
    assert cancelled.code == 0, cancelled.transcript
    assert cancelled.out == f"run {run} cancelled\n"
    time.sleep(1.0)  # time for the background process to start, and find nothing to do
    assert show(run)["run"]["status"] == "cancelled"
    resumed = alambic("resume", run, "-q")
    assert resumed.code == 0, resumed.transcript
    assert show(run)["run"]["status"] == "succeeded"
    assert result_of(resumed) == 3.0


def test_cancel_of_a_finished_run_is_a_usage_error(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = run_id(alambic("run", "flow.py", "-q"))
    result = alambic("cancel", run)
    assert result.code == 2, result.transcript
    assert f"run {run} already succeeded; nothing to cancel" in result.err


# -- resume --------------------------------------------------------------------------------
def test_resume_after_a_fix_reuses_the_steps_that_succeeded(
    alambic: Alambic, write: Write, show: Show, tmp_path: Path
) -> None:
    path = write("failing.py", FAILING)
    failed = alambic("run", "failing.py", "-q")
    assert failed.code == 1, failed.transcript
    run = run_id(failed)
    before = {label(s): s for s in show(run)["steps"]}

    path.write_text(path.read_text().replace("if x == 2:", "if x == 99:"))  # the user's fix
    resumed = alambic("resume", run)
    assert resumed.code == 0, resumed.transcript
    assert run_id(resumed) == run  # the same run, finished
    assert result_of(resumed) == {"total": 60, "note": "side done"}

    assert marks(tmp_path, "fragile-2") == 2  # the fixed step ran again
    for tag in ("side", "prepare-1", "prepare-2", "prepare-3"):
        assert marks(tmp_path, tag) == 1, tag  # steps that had succeeded did not
    after = show(run)
    assert after["run"]["status"] == "succeeded"
    assert set(statuses(after).values()) == {"succeeded"}
    for name in ("side", "prepare[0]", "prepare[1]", "prepare[2]"):
        step = next(s for s in after["steps"] if label(s) == name)
        assert step["started_at"] == before[name]["started_at"], name


def test_resume_of_a_succeeded_run_is_a_usage_error(alambic: Alambic, write: Write) -> None:
    write("flow.py", FLOW)
    run = run_id(alambic("run", "flow.py", "-q"))
    result = alambic("resume", run)
    assert result.code == 2, result.transcript
    assert f"run {run} already succeeded; start a new run instead" in result.err
    assert "Traceback" not in result.output


# -- pipelines -----------------------------------------------------------------------------
def test_pipelines_list_counts_versions_and_runs(alambic: Alambic, write: Write) -> None:
    path = write("flow.py", FLOW)
    write("failing.py", FAILING)
    assert alambic("run", "flow.py", "-q").code == 0
    # Edits change the file's size too, so Python never reuses stale bytecode from __pycache__.
    path.write_text(path.read_text().replace("sum(squares) * scale", "scale * 1 * sum(squares)"))
    assert alambic("run", "flow.py", "-q").code == 0  # a second version of `squares`
    assert alambic("run", "failing.py", "-q").code == 1

    listed = alambic("pipelines", "list")
    assert listed.code == 0, listed.transcript
    squares, partly = table_row(listed.out, "squares"), table_row(listed.out, "partly")
    assert (squares[1], squares[3]) == ("2", "2")  # versions, runs
    assert (partly[1], partly[3]) == ("1", "1")
    assert re.fullmatch(r"[0-9a-f]{12}", squares[2])


def test_pipelines_show_a_stored_pipeline(alambic: Alambic, write: Write) -> None:
    path = write("flow.py", FLOW)
    assert alambic("run", "flow.py", "-q").code == 0
    path.unlink()  # the store has the definition; the file is not needed any more
    shown = alambic("pipelines", "show", "squares")
    assert shown.code == 0, shown.transcript
    assert table_row(shown.out, "1")[1:3] == ["square", "map(parameter 'values')"]
    assert table_row(shown.out, "2")[1] == "summarize"
    assert "squares←all(square)" in table_row(shown.out, "2")[4]
    as_json = alambic("pipelines", "show", "squares", "--format", "json")
    assert set(json.loads(as_json.out)["nodes"]) == {"square", "summarize"}


def test_pipelines_show_a_file_as_text(alambic: Alambic, write: Write, home: Path) -> None:
    write("gated.py", GATED)
    shown = alambic("pipelines", "show", "gated.py:gated")
    assert shown.code == 0, shown.transcript
    steps = [table_row(shown.out, str(i)) for i in (1, 2, 3)]
    assert [row[1] for row in steps] == ["score", "publish", "alert"]  # topological order
    assert all(row[2] == "map(parameter 'xs')" for row in steps)
    assert steps[0][3:] == ["", "x←item(map_1)"]
    assert steps[1][3:] == ["score >= parameter 'min_score'", "s←score"]
    assert steps[2][3:] == ["not (score >= parameter 'min_score')", "s←score"]
    assert table_row(shown.out, "min_score")[1:] == ["float", "0.5"]
    assert not (home / "alambic.db").exists()  # showing a file does not touch the store


def test_pipelines_show_prints_parameter_types_in_full(alambic: Alambic, write: Write) -> None:
    write("gated.py", GATED)
    shown = alambic("pipelines", "show", "gated.py:gated")
    assert shown.code == 0, shown.transcript
    assert table_row(shown.out, "xs")[1] == "list[int]"
    assert table_row(shown.out, "weights")[1] == "dict[str, float]"


def test_pipelines_show_mermaid(alambic: Alambic, write: Write) -> None:
    write("gated.py", GATED)
    shown = alambic("pipelines", "show", "gated.py:gated", "--format", "mermaid")
    assert shown.code == 0, shown.transcript
    lines = shown.out.splitlines()
    assert lines[0] == "flowchart TD"
    assert {"score --> publish", "score --> alert"} <= {line.strip() for line in lines}
    assert "score[[score]]" in shown.out  # a mapped step


def test_pipelines_show_json(alambic: Alambic, write: Write) -> None:
    write("gated.py", GATED)
    shown = alambic("pipelines", "show", "gated.py:gated", "--format", "json")
    assert shown.code == 0, shown.transcript
    graph = json.loads(shown.out)
    assert graph["name"] == "gated"
    assert set(graph["nodes"]) == {"score", "publish", "alert"}
    assert graph["params"]["min_score"] == {"type": "float", "required": False, "default": 0.5}
    assert graph["nodes"]["publish"]["guards"] == [["when_1", True]]
    assert graph["nodes"]["alert"]["guards"] == [["when_1", False]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no pipeline named 'nope' in the store"),
        (["gated.py:nope"], "gated.py has no pipeline named 'nope'; it has: gated"),
        (["gated.py:gated", "--format", "dot"], "--format 'dot': use text, mermaid or json"),
    ],
    ids=["unknown-stored", "unknown-in-file", "unknown-format"],
)
def test_pipelines_show_usage_errors(
    alambic: Alambic, write: Write, args: list[str], message: str
) -> None:
    write("gated.py", GATED)
    result = alambic("pipelines", "show", *args)
    assert result.code == 2, result.transcript
    assert message in result.err
    assert "Traceback" not in result.output


# -- db, help, narrow consoles -------------------------------------------------------------
def test_db_upgrade_creates_then_reports_up_to_date(alambic: Alambic, home: Path) -> None:
    assert not (home / "alambic.db").exists()
    first = alambic("db", "upgrade")
    assert first.code == 0, first.transcript
    match = re.fullmatch(r"database migrated from empty to (\S+)\n", first.out)
    assert match, first.transcript
    assert (home / "alambic.db").is_file()
    second = alambic("db", "upgrade")
    assert second.code == 0, second.transcript
    assert second.out == f"database is up to date (revision {match.group(1)})\n"


@pytest.mark.parametrize(
    ("args", "module", "commands"),
    [
        (["--help"], False, ["run", "submit", "resume", "cancel", "runs", "pipelines", "db"]),
        (["--help"], True, ["run", "submit", "resume", "cancel", "runs", "pipelines", "db"]),
        (["runs", "--help"], False, ["list", "show", "logs"]),
    ],
    ids=["script", "python-m", "runs"],
)
def test_help_lists_the_commands(
    alambic: Alambic, args: list[str], module: bool, commands: list[str]
) -> None:
    result = alambic(*args, module=module)
    assert result.code == 0, result.transcript
    assert "Usage:" in result.out
    listed = {m.group(1) for m in re.finditer(r"^│ (\S+)\s{2,}", result.out, re.MULTILINE)}
    assert set(commands) <= listed, result.transcript


def test_runs_list_shows_whole_run_ids_on_an_80_column_console(
    alambic: Alambic, write: Write
) -> None:
    write("flow.py", FLOW)
    run = run_id(alambic("run", "flow.py", "-q"))
    listed = alambic("runs", "list", env={"COLUMNS": "80"})
    assert listed.code == 0, listed.transcript
    assert run in listed.out


# -- which home ------------------------------------------------------------------------------
def test_a_command_in_a_sub_folder_uses_the_project_home(
    alambic: Alambic, write: Write, tmp_path: Path
) -> None:
    write("flow.py", FLOW)
    unset = {"ALAMBIC_HOME": ""}  # an empty variable counts as unset: discovery decides
    first = invoke(tmp_path, "run", "flow.py:squares", "--quiet", env=unset)
    assert first.code == 0, first.transcript
    assert first.err.startswith(f"created a new home at {tmp_path.resolve() / '.alambic'} ")
    deep = tmp_path / "examples" / "fraud"
    deep.mkdir(parents=True)
    listed = invoke(deep, "runs", "list", env=unset)
    assert listed.code == 0, listed.transcript
    assert "squares" in listed.out and "created" not in listed.err  # the same home, found
    assert not (deep / ".alambic").exists()
