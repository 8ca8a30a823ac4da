"""The pipelines' repository: definitions, runs, step runs and the artifacts they made.

The orchestrator, ``alambic runs …`` and lineage read and write runs through
:class:`RunStore`, in frozen dataclasses, never ORM objects.

Example:
    >>> from alambic.pipelines import RunStore
    >>> store = RunStore.open("sqlite://")
    >>> store.list_runs()
    []
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from alambic.core import canonical_json, sha256_text, utcnow
from alambic.errors import NotFoundError
from alambic.pipelines._tables import ArtifactRow, PipelineRow, RunRow, StepRunRow
from alambic.store import Repository, to_record

__all__ = [
    "ArtifactRecord",
    "PipelineRecord",
    "RunRecord",
    "RunStore",
    "StepRunRecord",
]


@dataclass(frozen=True)
class PipelineRecord:
    """A stored pipeline definition, versioned by its content hash."""

    hash: str
    name: str
    definition: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RunRecord:
    """One run of a pipeline with its parameters and state."""

    id: str
    pipeline_name: str
    pipeline_hash: str
    params: dict[str, Any]
    source: dict[str, Any]
    options: dict[str, Any]
    status: str
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    orchestrator: str | None = None
    heartbeat_at: datetime | None = None
    cancel_requested: bool = False
    outputs: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        """Whether the run reached a final state."""
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class StepRunRecord:
    """One execution (or cache hit, or skip) of one step instance inside a run."""

    id: str
    run_id: str
    pipeline_name: str
    node: str
    instance: str
    status: str
    created_at: datetime
    attempt: int = 0
    cache_key: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    cached_from: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None
    error: str | None = None
    traceback: str | None = None
    log_artifact: str | None = None
    log_path: str | None = None

    @property
    def label(self) -> str:
        """The step's display name: ``train`` or ``train[2]`` inside a map."""
        return f"{self.node}[{self.instance}]" if self.instance else self.node


@dataclass(frozen=True)
class ArtifactRecord:
    """What the store knows of one content-addressed artifact."""

    hash: str
    materializer: str
    type_name: str
    size: int
    meta: dict[str, Any]
    created_at: datetime


_FINISHED = ("succeeded", "failed", "cancelled")


class RunStore(Repository):
    """Runs, step runs, pipeline definitions and artifact records, on any SQLAlchemy URL.

    Args:
        engine: an engine whose database is migrated to the newest schema.
    """

    # -- pipelines -------------------------------------------------------------------
    def save_pipeline(self, hash: str, name: str, definition: dict[str, Any]) -> PipelineRecord:
        """Store a definition under its hash; storing the same hash again is a no-op."""
        row = {"hash": hash, "name": name, "definition": definition, "created_at": utcnow()}
        # Two processes may store the same new definition at once: one row wins.
        self.transaction(lambda session: self.insert_ignore(session, PipelineRow, [row]))
        return self.get_pipeline(hash)

    def get_pipeline(self, hash: str) -> PipelineRecord:
        """Return the definition stored under ``hash``."""
        missing = f"no pipeline definition {hash}"
        return self.by_key(PipelineRecord, PipelineRow, hash, missing=missing)

    def latest_pipeline(self, name: str) -> PipelineRecord:
        """Return the newest stored definition of the pipeline called ``name``."""
        with self.reading() as session:
            row = session.scalars(
                select(PipelineRow)
                .where(PipelineRow.name == name)
                .order_by(PipelineRow.created_at.desc())
                .limit(1)
            ).first()
            if row is None:
                raise NotFoundError(
                    f"no pipeline named {name!r} in the store; run it once, or name its file "
                    "(alambic pipelines show path/to/file.py:NAME)"
                )
            return to_record(PipelineRecord, row)

    def list_pipelines(self) -> list[dict[str, Any]]:
        """Return one summary per pipeline name: versions, newest hash, runs, last run."""
        with self.reading() as session:
            rows = session.execute(
                select(PipelineRow.name, func.count(), func.max(PipelineRow.created_at)).group_by(
                    PipelineRow.name
                )
            ).all()
            summaries = []
            for name, versions, _ in sorted(rows):
                latest = session.scalars(
                    select(PipelineRow)
                    .where(PipelineRow.name == name)
                    .order_by(PipelineRow.created_at.desc())
                    .limit(1)
                ).one()
                n_runs, last_run = session.execute(
                    select(func.count(), func.max(RunRow.created_at)).where(
                        RunRow.pipeline_name == name
                    )
                ).one()
                summaries.append(
                    {
                        "name": name,
                        "versions": versions,
                        "hash": latest.hash,
                        "runs": n_runs,
                        "last_run": last_run,
                    }
                )
            return summaries

    # -- runs ------------------------------------------------------------------------
    def create_run(self, run: RunRecord) -> RunRecord:
        """Insert a new run."""
        self.transaction(lambda session: session.add(RunRow(**dataclasses.asdict(run))))
        return run

    def create_untraced_runs(self, runs: list[RunRecord]) -> list[RunRecord]:
        """Insert runs whose pipeline is not traced yet, in one transaction; each one's
        definition is an empty placeholder of its name until its orchestrator traces it.

        Returns every run asked for: made now, or as it was when it existed already.
        """

        def work(session: Session) -> list[RunRecord]:
            placeholders: dict[str, str] = {}
            for name in {r.pipeline_name for r in runs}:
                definition: dict[str, Any] = {"name": name, "params": {}, "nodes": {}, "maps": {},
                              "conditions": {}, "outputs": None, "code": {}}  # fmt: skip
                digest = sha256_text(canonical_json({**definition, "untraced": True}))
                placeholders[name] = digest
                self.insert_ignore(session, PipelineRow, [
                    {"hash": digest, "name": name, "definition": definition, "created_at": utcnow()}
                ])  # fmt: skip
            ids = [r.id for r in runs]
            existing = {row.id: to_record(RunRecord, row) for row in session.scalars(
                select(RunRow).where(RunRow.id.in_(ids)))}  # fmt: skip
            fresh = [
                dataclasses.replace(r, pipeline_hash=placeholders[r.pipeline_name])
                for r in runs
                if r.id not in existing
            ]
            rows = [dict(vars(r)) for r in fresh]  # shallow, not asdict's deep copies
            self.insert_ignore(session, RunRow, rows)
            made = {r.id: r for r in fresh}
            return [existing.get(r.id) or made[r.id] for r in runs]

        return self.transaction(work, conflicts=True)

    def run_view(self, run_id: str) -> tuple[RunRecord, list[StepRunRecord]]:
        """A run (by id, or a unique prefix) and its step runs, read with two SQL queries
        on one connection and no ORM: what a server polled for a run's status answers.

        Raises:
            NotFoundError: no run has that id (or the prefix is ambiguous).
        """
        runs, steps = RunRow.__table__, StepRunRow.__table__
        with self._reader.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            if row is None:
                record = self.get_run(run_id)  # a prefix, or the not-found message
            else:
                record = RunRecord(**row)
            found = connection.execute(
                select(steps)
                .where(steps.c.run_id == record.id)
                .order_by(steps.c.created_at, steps.c.id)
            ).mappings()
            return record, [StepRunRecord(**step) for step in found]

    def find_run(self, run_id: str) -> RunRecord | None:
        """Return the run with exactly this id, or None."""
        with self.reading() as session:
            row = session.get(RunRow, run_id)
            return None if row is None else to_record(RunRecord, row)

    def run_states(self, run_ids: list[str]) -> dict[str, str]:
        """The status of each of these runs (those that exist)."""
        if not run_ids:
            return {}
        query = select(RunRow.id, RunRow.status).where(RunRow.id.in_(run_ids))
        with self.reading() as session:
            return {row.id: row.status for row in session.execute(query)}

    def get_run(self, run_id: str) -> RunRecord:
        """Return a run by its id or by a unique prefix of it."""
        with self.reading() as session:
            row = session.get(RunRow, run_id)
            if row is None:
                rows = session.scalars(
                    select(RunRow).where(RunRow.id.startswith(run_id, autoescape=True)).limit(2)
                ).all()
                if len(rows) != 1:
                    what = "is ambiguous" if rows else "does not exist"
                    raise NotFoundError(f"run {run_id!r} {what}; see `alambic runs list`")
                row = rows[0]
            return to_record(RunRecord, row)

    def list_runs(
        self, *, pipeline: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[RunRecord]:
        """Return runs, newest first."""
        query = select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit)
        if pipeline:
            query = query.where(RunRow.pipeline_name == pipeline)
        if status:
            query = query.where(RunRow.status == status)
        with self.reading() as session:
            return [to_record(RunRecord, row) for row in session.scalars(query)]

    def update_run(self, run_id: str, **values: Any) -> None:
        """Set some columns of a run."""
        self.update_where(RunRow, RunRow.id == run_id, values)

    def claim_run(self, run_id: str, orchestrator: str, *, stale_after: float) -> bool:
        """Become the run's orchestrator unless a live one holds it; return whether we did.

        A holder is live when its heartbeat is younger than ``stale_after`` seconds. A run
        that finished, or whose cancel was asked for, is never claimed (a cancel may land
        before a submitted run's process starts; ``resume`` clears both first).
        """
        now = utcnow()
        stale = now - timedelta(seconds=stale_after)

        def work(session: Session) -> bool:
            # Lock the row: two orchestrators claiming at once must not both win.
            row = session.get(RunRow, run_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"run {run_id!r} does not exist; see `alambic runs list`")
            if row.cancel_requested or row.status in ("succeeded", "failed", "cancelled"):
                return False
            held = (
                row.orchestrator not in (None, orchestrator)
                and row.heartbeat_at is not None
                and row.heartbeat_at > stale
            )
            if held:
                return False
            row.orchestrator = orchestrator
            row.heartbeat_at = now
            return True

        return self.transaction(work)

    def heartbeat(self, run_id: str, orchestrator: str) -> tuple[bool, bool]:
        """Refresh the orchestrator's heartbeat.

        Returns:
            (whether it still owns the run, whether a cancel was requested).
        """

        def work(session: Session) -> tuple[bool, bool]:
            result = session.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.orchestrator == orchestrator)
                .values(heartbeat_at=utcnow())
            )
            owned = bool(getattr(result, "rowcount", 0))
            cancel = session.scalar(select(RunRow.cancel_requested).where(RunRow.id == run_id))
            return owned, bool(cancel)

        return self.transaction(work)

    def cancel_requested(self, run_id: str) -> bool:
        """Whether someone asked the run to stop (a read; no heartbeat is written)."""
        with self.reading() as session:
            return bool(session.scalar(select(RunRow.cancel_requested).where(RunRow.id == run_id)))

    def update_run_unless_finished(self, run_id: str, **values: Any) -> bool:
        """Set columns of a run that has not finished; return whether it was updated."""

        def work(session: Session) -> bool:
            result = session.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status.not_in(_FINISHED))
                .values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

        return self.transaction(work)

    # -- step runs -------------------------------------------------------------------
    def save_step_runs(self, steps: list[StepRunRecord]) -> list[StepRunRecord]:
        """Insert step runs in one transaction; a step run that exists (same run, node and
        instance) is kept as it is and returned instead."""
        if not steps:
            return []

        def work(session: Session) -> list[StepRunRecord]:
            saved = []
            existing = {
                (row.node, row.instance): row
                for row in session.scalars(
                    select(StepRunRow).where(StepRunRow.run_id == steps[0].run_id)
                )
            }
            for step in steps:
                row = existing.get((step.node, step.instance))
                if row is None:
                    session.add(StepRunRow(**dataclasses.asdict(step)))
                    saved.append(step)
                else:
                    saved.append(to_record(StepRunRecord, row))
            return saved

        return self.transaction(work)

    def finish_step_run(self, step_id: str, artifacts: list[ArtifactRecord], **values: Any) -> None:
        """Set a step run's final columns and record its output artifacts, in one transaction."""

        def work(session: Session) -> None:
            session.execute(update(StepRunRow).where(StepRunRow.id == step_id).values(**values))
            self._insert_artifacts(session, artifacts)

        self.transaction(work)

    def write_step_updates(
        self, updates: dict[str, dict[str, Any]], artifacts: list[ArtifactRecord]
    ) -> None:
        """Apply many step-run updates and record artifacts in one transaction.

        The orchestrator batches its writes this way: one commit per scheduling round
        instead of several per step.
        """
        if not updates and not artifacts:
            return
        table: Any = StepRunRow.__table__
        # One executemany per set of columns: updates of one kind share a statement.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for step_id, values in sorted(updates.items()):  # rows locked in one order
            columns = tuple(sorted(values))
            groups.setdefault(columns, []).append({"_id": step_id, **values})

        def work(session: Session) -> None:
            for columns, rows in groups.items():
                statement = (
                    table.update()
                    .where(table.c.id == bindparam("_id"))
                    .values({c: bindparam(c) for c in columns})
                )
                session.connection().execute(statement, rows)
            self._insert_artifacts(session, artifacts)

        self.transaction(work)

    def find_cached_many(self, keys: list[str]) -> dict[str, StepRunRecord]:
        """Return, for each cache key that has one, the newest succeeded step run."""
        found: dict[str, StepRunRecord] = {}
        with self.reading() as session:
            for start in range(0, len(keys), 500):
                rows = session.scalars(
                    select(StepRunRow)
                    .where(
                        StepRunRow.cache_key.in_(keys[start : start + 500]),
                        StepRunRow.status == "succeeded",
                    )
                    .order_by(StepRunRow.ended_at.asc().nulls_first())
                )
                for row in rows:  # ascending: the newest wins
                    found[str(row.cache_key)] = to_record(StepRunRecord, row)
        return found

    def recent_step_runs(
        self, pipeline_name: str, *, exclude_run: str, n_runs: int = 5
    ) -> dict[tuple[str, str], StepRunRecord]:
        """The newest step run of each (node, instance) over the pipeline's last runs.

        Used to explain cache misses ("argument 'rows' changed (5 → 7)").
        """
        with self.reading() as session:
            run_ids = session.scalars(
                select(RunRow.id)
                .where(RunRow.pipeline_name == pipeline_name, RunRow.id != exclude_run)
                .order_by(RunRow.created_at.desc())
                .limit(n_runs)
            ).all()
            if not run_ids:
                return {}
            rows = session.scalars(
                select(StepRunRow)
                .where(
                    StepRunRow.run_id.in_(run_ids),
                    StepRunRow.cache_key.is_not(None),
                    StepRunRow.status.in_(("succeeded", "cached", "failed")),
                )
                .order_by(StepRunRow.created_at)
            )
            return {(row.node, row.instance): to_record(StepRunRecord, row) for row in rows}

    def update_step_run(self, step_id: str, **values: Any) -> None:
        """Set some columns of a step run."""
        self.update_where(StepRunRow, StepRunRow.id == step_id, values)

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        """Return one step run by its id."""
        missing = f"no step run {step_run_id}"
        return self.by_key(StepRunRecord, StepRunRow, step_run_id, missing=missing)

    def step_runs(self, run_id: str) -> list[StepRunRecord]:
        """Return the step runs of a run in creation order."""
        with self.reading() as session:
            rows = session.scalars(
                select(StepRunRow)
                .where(StepRunRow.run_id == run_id)
                .order_by(StepRunRow.created_at, StepRunRow.id)
            )
            return [to_record(StepRunRecord, row) for row in rows]

    def find_cached(self, cache_key: str) -> StepRunRecord | None:
        """Return the newest succeeded step run with this cache key, if any."""
        with self.reading() as session:
            row = session.scalars(
                select(StepRunRow)
                .where(StepRunRow.cache_key == cache_key, StepRunRow.status == "succeeded")
                .order_by(StepRunRow.ended_at.desc().nulls_last())
                .limit(1)
            ).first()
            return None if row is None else to_record(StepRunRecord, row)

    def previous_step_run(
        self, pipeline_name: str, node: str, instance: str, *, exclude_run: str
    ) -> StepRunRecord | None:
        """Return the newest step run of the same step in another run (explains cache misses)."""
        with self.reading() as session:
            row = session.scalars(
                select(StepRunRow)
                .where(
                    StepRunRow.pipeline_name == pipeline_name,
                    StepRunRow.node == node,
                    StepRunRow.instance == instance,
                    StepRunRow.run_id != exclude_run,
                    StepRunRow.cache_key.is_not(None),
                    StepRunRow.status.in_(("succeeded", "cached", "failed")),
                )
                .order_by(StepRunRow.created_at.desc())
                .limit(1)
            ).first()
            return None if row is None else to_record(StepRunRecord, row)

    # -- artifacts -------------------------------------------------------------------
    def record_artifacts(self, artifacts: Iterable[ArtifactRecord]) -> None:
        """Remember artifacts; recording a hash that is already known is a no-op."""
        records = list(artifacts)
        self.transaction(lambda session: self._insert_artifacts(session, records))

    def _insert_artifacts(self, session: Session, artifacts: list[ArtifactRecord]) -> None:
        if not artifacts:
            return
        # Two processes may store the same content at once: same hash, same row. In hash
        # order, so that two such inserts wait for each other rather than deadlock.
        rows = [dataclasses.asdict(a) for a in sorted(artifacts, key=lambda a: a.hash)]
        self.insert_ignore(session, ArtifactRow, rows)

    def get_artifact(self, hash: str) -> ArtifactRecord:
        """Return what the store knows of the artifact ``hash``."""
        missing = f"no artifact {hash} in the metadata store"
        return self.by_key(ArtifactRecord, ArtifactRow, hash, missing=missing)
