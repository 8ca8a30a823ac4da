"""Experiment tracking's tables: experiments, tracked runs, metric points, search values.

Only :mod:`alambic.tracking._store` reads or writes them. A change here needs a new
revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import AUTO_ID, Base

__all__ = ["ExperimentRow", "MetricRow", "RunValueRow", "TrackedRunRow"]


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class TrackedRunRow(Base):
    __tablename__ = "tracked_runs"
    # search_runs' default order (newest first, then by id), over all runs or one experiment
    __table_args__ = (
        Index("ix_tracked_runs_created_at", "created_at", "id"),
        Index("ix_tracked_runs_experiment_created_at", "experiment_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    tags: Mapped[dict[str, Any]]
    artifacts: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class MetricRow(Base):
    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_key", "run_id", "key", "step"),)

    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Float)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[float] = mapped_column(Float)


class RunValueRow(Base):
    """One param, latest metric value or tag of a run, as ``search_runs`` compares it.

    A copy of the run row's JSON, one row per key, so that filters and orderings run in
    SQL: ``text`` is the value as text (what a quoted literal is compared with), ``num``
    the value as a number, or NULL when it does not read as one.
    """

    __tablename__ = "tracked_run_values"
    # Filters on a key with a numeric bound, and orderings by a metric, read this index.
    # Text is not indexed: PostgreSQL refuses index entries past ~2.7 kB, and a param may
    # be longer; a quoted comparison is checked run by run through the primary key.
    __table_args__ = (Index("ix_tracked_run_values_key_num", "kind", "key", "num"),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(6), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    num: Mapped[float | None] = mapped_column(Float)
