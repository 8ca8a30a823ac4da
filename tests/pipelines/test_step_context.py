"""What a step knows about itself in a worker, and the progress it reports to live views."""

from __future__ import annotations

import threading
from pathlib import Path

import alambic as al
from alambic.cli._render import live_view
from alambic.pipelines import Orchestrator, RunStore, current_step, read_progress
from tests.helpers import wait_until
from tests.pipelines import flows


def test_a_step_in_a_worker_knows_its_label_and_step_run() -> None:
    assert current_step() is None  # outside any step
    run = al.run(flows.context)
    (record,) = RunStore.open(al.config.settings().db_url).step_runs(run.id)
    assert run.result() == {"label": "whoami", "step_run": record.id}


def test_reported_progress_shows_in_the_live_view(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    views: list[Orchestrator] = []

    def watch(orchestrator: Orchestrator) -> None:
        views[:] = [orchestrator]

    thread = threading.Thread(
        target=al.run,
        args=(flows.progress,),
        kwargs={"params": {"gate": str(gate)}, "on_change": watch},
    )
    thread.start()
    try:

        def reported() -> bool:
            states = views[0].snapshot() if views else []
            return any(read_progress(s.record.log_path) == "chunk 3/3" for s in states)

        wait_until(reported, timeout=60)
        from rich.console import Console

        console = Console(width=120, record=True)
        console.print(live_view(views[0], 0.0))
        assert "chunk 3/3" in console.export_text()
    finally:
        gate.touch()
        thread.join(timeout=60)
