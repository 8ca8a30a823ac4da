"""Helpers of the pipeline tests: code run in spawned processes by the run-store
concurrency tests.

Kept apart from the test modules so that a spawned child imports only what it needs.
"""

from __future__ import annotations

import traceback
import uuid
from pathlib import Path
from typing import Any

from alambic.core import sha256_text, utcnow
from alambic.pipelines import ArtifactRecord, RunRecord, RunStore, StepRunRecord

SHARED_ARTIFACT = sha256_text("written by every worker")


def populate(url: str, worker: int, n_runs: int, barrier: Any, error_file: str) -> None:
    """Open the store (racing the others to migrate it), then write runs and step runs."""
    try:
        barrier.wait(timeout=120)
        store = RunStore.open(url)
        pipeline_hash = sha256_text(f"pipeline of worker {worker}")
        store.save_pipeline(pipeline_hash, "concurrent", {"worker": worker})
        shared = ArtifactRecord(SHARED_ARTIFACT, "json", "builtins.int", 1, {}, utcnow())
        for i in range(n_runs):
            # uuid4, not new_id: these ids must not collide however fast they are made.
            run = RunRecord(
                id=f"run-{worker:02d}-{i:03d}-{uuid.uuid4().hex}",
                pipeline_name="concurrent",
                pipeline_hash=pipeline_hash,
                params={"worker": worker, "i": i},
                source={},
                options={},
                status="pending",
                created_at=utcnow(),
            )
            store.create_run(run)
            steps = store.save_step_runs(
                [
                    StepRunRecord(
                        id=f"step-{uuid.uuid4().hex}",
                        run_id=run.id,
                        pipeline_name="concurrent",
                        node=node,
                        instance="",
                        status="running",
                        created_at=utcnow(),
                    )
                    for node in ("load", "train")
                ]
            )
            # Every worker records the same artifact: concurrent inserts of one hash.
            store.finish_step_run(steps[-1].id, [shared], status="succeeded", ended_at=utcnow())
    except BaseException:
        Path(error_file).write_text(traceback.format_exc(), encoding="utf-8")
        raise
