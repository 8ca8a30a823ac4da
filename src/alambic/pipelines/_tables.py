"""The pipelines' tables: definitions, runs, step runs and the artifacts steps produced.

Only :mod:`alambic.pipelines._store` reads or writes them. A change here needs a new
revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alambic.store import Base

__all__ = ["ArtifactRow", "PipelineRow", "RunRow", "StepRunRow"]


class PipelineRow(Base):
    __tablename__ = "pipelines"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pipeline_name: Mapped[str] = mapped_column(String(200), index=True)
    pipeline_hash: Mapped[str] = mapped_column(ForeignKey("pipelines.hash"))
    params: Mapped[dict[str, Any]]
    outputs: Mapped[dict[str, Any] | None]
    source: Mapped[dict[str, Any]]
    options: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    orchestrator: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class StepRunRow(Base):
    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "node", "instance"),
        Index("ix_step_runs_cache", "cache_key", "status"),
        Index("ix_step_runs_history", "pipeline_name", "node", "instance"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    pipeline_name: Mapped[str] = mapped_column(String(200))
    node: Mapped[str] = mapped_column(String(200))
    instance: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    cache_key: Mapped[str | None] = mapped_column(String(64))
    cache: Mapped[dict[str, Any]]
    inputs: Mapped[dict[str, Any]]
    outputs: Mapped[dict[str, Any]]
    cached_from: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    log_artifact: Mapped[str | None] = mapped_column(String(64))
    log_path: Mapped[str | None] = mapped_column(Text)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    materializer: Mapped[str] = mapped_column(String(100))
    type_name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    meta: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
