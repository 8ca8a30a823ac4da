"""Faults a production orchestrator must survive, run as a user would: real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import alambic as al
from alambic.errors import IntegrityError
from alambic.pipelines import RunStore
from alambic.store import ArtifactStore
from tests.helpers import resume_cli, wait_until

pytestmark = pytest.mark.slow

PIPELINE = textwrap.dedent(
    """
    import time
    from pathlib import Path

    import alambic as al


    def mark(folder: str, name: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}-{time.time_ns()}").touch()


    @al.step
    def first(folder: str, i: int) -> int:
        mark(folder, f"first{i}")
        return i


    @al.step
    def second(values: list[int], folder: str, gate: str) -> int:
        mark(folder, "second")
        while not Path(gate).exists():  # blocks until the test opens the gate
            time.sleep(0.05)
        return sum(values)


    @al.pipeline
    def killed(folder: str, gate: str, n: int = 3) -> int:
        for i in al.map(list(range(3))):
            v = first(folder, i)
        return second(v, folder, gate)
    """
)


def cli(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alambic.cli", *args],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **kwargs,
    )  # type: ignore[call-overload]


def store() -> RunStore:
    return RunStore.open(al.config.settings().db_url)


def test_sigkill_of_the_orchestrator_then_resume_reuses_finished_steps(tmp_path: Path) -> None:
    (tmp_path / "killed.py").write_text(PIPELINE)
    marks, gate = tmp_path / "marks", tmp_path / "gate"
    process = cli("run", "killed.py:killed", "-q", "-p", f"folder={marks}", "-p", f"gate={gate}")

    def second_running() -> bool:
        if not (al.config.settings().home / "alambic.db").exists():
            return False
        runs = store().list_runs()
        return bool(runs) and any(
            s.node == "second" and s.status == "running" for s in store().step_runs(runs[0].id)
        )

    wait_until(second_running)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    run_id = store().list_runs()[0].id
    assert store().get_run(run_id).status == "running"  # nobody marked it: it was killed

    gate.touch()
    resume_cli(run_id)
    run = al.get_run(run_id)
    assert run.status == "succeeded"
    assert run.result() == 0 + 1 + 2
    names = sorted(p.name.split("-")[0] for p in marks.iterdir())
    # Each `first` ran exactly once; `second` ran once before the kill and once after.
    assert names == ["first0", "first1", "first2", "second", "second"]
    # No blob is half-written: every stored artifact still matches its hash.
    artifacts = ArtifactStore(al.config.settings().artifacts)
    objects = Path(al.config.settings().artifacts) / "objects"
    for blob in objects.glob("*/*"):
        if not blob.name.startswith(".tmp-"):
            artifacts.verify(blob.name)


def test_two_pipelines_at_once_on_one_sqlite_home(tmp_path: Path) -> None:
    (tmp_path / "twice.py").write_text(
        textwrap.dedent(
            """
        import alambic as al

        @al.step
        def square(x: int, salt: str) -> int:
            return x * x

        @al.pipeline
        def twice(salt: str, n: int = 12) -> int:
            for x in al.map(list(range(12))):
                sq = square(x, salt)
            return sq
        """
        )
    )
    processes = [cli("run", "twice.py:twice", "-q", "-p", f"salt={s}") for s in ("a", "b")]
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    runs = store().list_runs()
    assert len(runs) == 2 and {r.status for r in runs} == {"succeeded"}
    for run in runs:
        steps = store().step_runs(run.id)
        assert len(steps) == 12
        assert {s.status for s in steps} == {"succeeded"}
        assert al.get_run(run.id).result() == [x * x for x in range(12)]


def test_a_corrupted_artifact_is_never_used(tmp_path: Path) -> None:
    from tests.pipelines import flows

    run = al.run(flows.gated, params={"min_mean": 1.0})
    assert run.succeeded, run.error
    score = run.step("mean_value", 0).outputs["return"]["hash"]
    blob = Path(al.config.settings().artifacts) / "objects" / score[:2] / score
    blob.write_bytes(b"999.0")  # bytes changed on disk

    with pytest.raises(IntegrityError, match=rf"artifact {score} is corrupted"):
        run.output("mean_value", 0)
    # A new run reuses mean_value from the cache, but the condition that reads it fails
    # loudly, naming the artifact, instead of publishing on a forged score.
    again = al.run(flows.gated, params={"min_mean": 1.9})
    failed = [s for s in again.steps if s.status == "failed"]
    assert failed, [(s.label, s.status) for s in again.steps]
    assert all(score in (s.error or "") and "corrupted" in (s.error or "") for s in failed)
    assert "publish[0]" not in {s.label for s in again.steps if s.status == "succeeded"}


def test_orphan_workers_die_with_their_orchestrator(tmp_path: Path) -> None:
    (tmp_path / "killed.py").write_text(PIPELINE)
    marks, gate = tmp_path / "marks", tmp_path / "gate"
    process = cli("run", "killed.py:killed", "-q", "-p", f"folder={marks}", "-p", f"gate={gate}")
    wait_until(lambda: marks.exists() and any(p.name.startswith("second") for p in marks.iterdir()))
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children, "the orchestrator should have worker processes"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)

    def all_gone() -> bool:
        alive = []
        for pid in children:
            try:
                os.kill(int(pid), 0)
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    alive.append(pid)
            except (ProcessLookupError, FileNotFoundError):
                pass
        return not alive

    wait_until(all_gone, timeout=30)
