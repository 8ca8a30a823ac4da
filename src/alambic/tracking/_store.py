"""The repository behind experiment tracking: experiments, tracked runs, metric points.

Writers hand over whole batches (see :meth:`TrackingStore.write`): one transaction for
many runs and metric points, which is what keeps logging cheap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from alambic.core import new_id, utcnow
from alambic.errors import StoreError
from alambic.store import Repository, to_record
from alambic.tracking._change import RunChange
from alambic.tracking._query import has_column, search_selects, values_of
from alambic.tracking._tables import ExperimentRow, MetricRow, RunValueRow, TrackedRunRow

__all__ = ["ExperimentRecord", "RunChange", "TrackedRunRecord", "TrackingStore"]


@dataclass(frozen=True)
class ExperimentRecord:
    """A named group of tracked runs."""

    id: str
    name: str
    tags: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class TrackedRunRecord:
    """A tracked run: a pipeline run, a step run, a tuning trial or a hand-made run."""

    id: str
    experiment_id: str
    parent_id: str | None
    kind: str
    name: str
    status: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    tags: dict[str, Any]
    artifacts: dict[str, Any]
    created_at: datetime
    ended_at: datetime | None


def _merge(first: RunChange, later: RunChange) -> RunChange:
    """One change holding both (the later one's scalar fields win when set)."""
    merged = dataclasses.replace(first)
    for name in ("status", "ended_at"):
        if getattr(later, name) is not None:
            setattr(merged, name, getattr(later, name))
    for name in ("params", "metrics", "tags", "artifacts"):
        setattr(merged, name, {**getattr(first, name), **getattr(later, name)})
    return merged


def _apply(change: RunChange, row: TrackedRunRow) -> None:
    """Merge a change into the row of a run that exists (the change's fields win)."""
    if change.status is not None:
        row.status = change.status
    if change.ended_at is not None:
        row.ended_at = change.ended_at
    for column in ("params", "metrics", "tags", "artifacts"):
        update = getattr(change, column)
        if update:
            setattr(row, column, {**getattr(row, column), **update})


class TrackingStore(Repository):
    """Experiments and tracked runs on any SQLAlchemy URL."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._experiments: dict[str, str] = {}

    # -- experiments -----------------------------------------------------------------
    def experiment_id(
        self, name: str, session: Session | None = None, made: dict[str, str] | None = None
    ) -> str:
        """Return the id of the experiment called ``name``, creating it if needed.

        In the caller's ``session``, a new id is noted in ``made`` rather than remembered:
        the caller remembers it once its transaction commits (it may roll back, or run again).
        """
        known = self._experiments.get(name) or (made or {}).get(name)
        if known is not None:
            return known
        own = session is None
        session = session or Session(self.engine)
        try:
            found = session.scalar(select(ExperimentRow.id).where(ExperimentRow.name == name))
            if found is None:
                # Two pipelines may create the same experiment at once: one row wins.
                row = {"id": new_id("exp"), "name": name, "tags": {}, "created_at": utcnow()}
                self.insert_ignore(session, ExperimentRow, [row])
                found = session.scalar(select(ExperimentRow.id).where(ExperimentRow.name == name))
                if own:
                    session.commit()
        finally:
            if own:
                session.close()
        if found is None:  # pragma: no cover - the row was just inserted or found
            raise StoreError(f"experiment {name!r} could not be created; try again")
        if own or made is None:
            self._experiments[name] = found
        else:
            made[name] = found
        return found

    def list_experiments(self) -> list[dict[str, Any]]:
        """Every experiment with its number of runs and its last activity."""
        with self.reading() as session:
            rows = session.execute(
                select(
                    ExperimentRow.id,
                    ExperimentRow.name,
                    ExperimentRow.created_at,
                    func.count(TrackedRunRow.id),
                    func.max(TrackedRunRow.created_at),
                )
                .outerjoin(TrackedRunRow, TrackedRunRow.experiment_id == ExperimentRow.id)
                .group_by(ExperimentRow.id, ExperimentRow.name, ExperimentRow.created_at)
                .order_by(ExperimentRow.name)
            ).all()
        return [
            {"id": r[0], "name": r[1], "created_at": r[2], "runs": r[3], "last_run": r[4]}
            for r in rows
        ]

    # -- writing ---------------------------------------------------------------------
    def write(self, changes: list[RunChange], points: list[dict[str, Any]]) -> None:
        """Merge run changes and insert metric points, in one transaction."""
        if not changes and not points:
            return
        merged: dict[str, RunChange] = {}
        for change in changes:  # several changes of one run in a batch: merge them first
            earlier = merged.get(change.id)
            merged[change.id] = change if earlier is None else _merge(earlier, change)

        made: dict[str, str] = {}  # experiments this write creates, known once it commits

        def work(session: Session) -> None:
            made.clear()  # a transaction that runs again finds or makes them again
            existing = {}
            if merged:
                query = select(TrackedRunRow).where(TrackedRunRow.id.in_(list(merged)))
                existing = {row.id: row for row in session.scalars(query)}
            new_rows = []
            for change in merged.values():
                row = existing.get(change.id)
                if row is None:
                    new_rows.append(self._new_row(change, session, made))
                else:
                    _apply(change, row)
            if new_rows:  # new runs are the common case: one executemany
                session.execute(insert(TrackedRunRow), new_rows)
            self._index_values(session, new_rows, existing, merged)
            if points:
                session.execute(insert(MetricRow), points)

        self.transaction(work)
        self._experiments.update(made)

    def _index_values(
        self,
        session: Session,
        new_rows: list[dict[str, Any]],
        existing: dict[str, TrackedRunRow],
        merged: dict[str, RunChange],
    ) -> None:
        """Rewrite the search values of every run the batch touched."""
        values = [v for row in new_rows for v in values_of(row["id"], row)]
        touched = [
            row
            for run_id, row in existing.items()
            if merged[run_id].params or merged[run_id].metrics or merged[run_id].tags
        ]
        if touched:
            ids = [row.id for row in touched]
            session.execute(delete(RunValueRow).where(RunValueRow.run_id.in_(ids)))
            for row in touched:
                columns = {"params": row.params, "metrics": row.metrics, "tags": row.tags}
                values += values_of(row.id, columns)
        if values:
            session.execute(insert(RunValueRow), values)

    def _new_row(self, change: RunChange, session: Session, made: dict[str, str]) -> dict[str, Any]:
        return {
            "id": change.id,
            "experiment_id": self.experiment_id(change.experiment, session, made),
            "parent_id": change.parent_id,
            "kind": change.kind,
            "name": change.name or change.id,
            "status": change.status or "running",
            "params": change.params,
            "metrics": change.metrics,
            "tags": change.tags,
            "artifacts": change.artifacts,
            "created_at": change.created_at or utcnow(),
            "ended_at": change.ended_at,
        }

    # -- reading ---------------------------------------------------------------------
    def runs(self, experiments: list[str] | None = None) -> list[TrackedRunRecord]:
        """Tracked runs, newest first; only those of the named experiments when given."""
        query = select(TrackedRunRow).order_by(TrackedRunRow.created_at.desc())
        if experiments:
            query = query.join(
                ExperimentRow, ExperimentRow.id == TrackedRunRow.experiment_id
            ).where(ExperimentRow.name.in_(experiments))
        with self.reading() as session:
            return [to_record(TrackedRunRecord, row) for row in session.scalars(query)]

    def search(
        self,
        where: ColumnElement[bool] | None,
        *,
        experiments: list[str] | None,
        order: list[tuple[str, bool]],
        limit: int,
    ) -> list[tuple[TrackedRunRecord, str]]:
        """Runs matching ``where`` (see :mod:`alambic.tracking._query`), with their experiment."""
        queries = search_selects(
            where, experiments=experiments, order=order, limit=limit, postgres=self._postgres
        )
        found: list[tuple[TrackedRunRecord, str]] = []
        with self.reading() as session:
            for query in queries:
                if len(found) >= limit:
                    break
                rows = session.execute(query.limit(limit - len(found))).all()
                found += [(to_record(TrackedRunRecord, run), name) for run, name in rows]
        return found

    def has_column(self, column: str, experiments: list[str] | None) -> bool:
        """Whether a run (of the named experiments) has ``column``, e.g. ``metrics.auc``."""
        with self.reading() as session:
            return bool(session.scalar(has_column(column, experiments)))

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def get_run(self, run_id: str) -> TrackedRunRecord:
        """One tracked run by id.

        Raises:
            NotFoundError: no tracked run has this id.
        """
        missing = f"no tracked run {run_id!r}; see `alambic experiments list`"
        return self.by_key(TrackedRunRecord, TrackedRunRow, run_id, missing=missing)

    def experiment_names(self) -> dict[str, str]:
        """Experiment id → name."""
        with self.reading() as session:
            return dict(session.execute(select(ExperimentRow.id, ExperimentRow.name)).all())

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, float]]:
        """(step, value, timestamp) of every point logged for ``key``, in step order."""
        with self.reading() as session:
            rows = session.execute(
                select(MetricRow.step, MetricRow.value, MetricRow.timestamp)
                .where(MetricRow.run_id == run_id, MetricRow.key == key)
                .order_by(MetricRow.step, MetricRow.id)
            ).all()
        return [(int(s), float(v), float(t)) for s, v, t in rows]
