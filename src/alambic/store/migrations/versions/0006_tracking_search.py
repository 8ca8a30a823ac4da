"""Tracked runs are searched in SQL: their params, metrics and tags one row per key.

``tracked_run_values`` copies each run's params, latest metric values and tags, as text
and as a number, so that ``search_runs`` filters and sorts in the database; every
existing run is copied. ``tracked_runs`` gets indexes on the default order (newest
first), over all runs and per experiment.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import json
import math
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# A copy of alambic.tracking._filter.as_number as of this revision (a migration is frozen).
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_KINDS = {"params": "param", "metrics": "metric", "tags": "tag"}
_BATCH = 1000


def _as_number(text: str) -> float | None:
    stripped = text.strip(" \t\n\r\f\v")
    if _NUMBER.fullmatch(stripped):
        return float(stripped)
    sign, body = (-1.0 if stripped[:1] == "-" else 1.0), stripped.lstrip("+-")
    if len(stripped) - len(body) <= 1 and body.lower() in ("inf", "infinity"):
        return sign * math.inf
    return None


def _values(run_id: str, column: str, data: Any) -> list[dict[str, Any]]:
    if isinstance(data, str):  # some drivers hand JSON back as text
        data = json.loads(data)
    rows = []
    for key, value in (data or {}).items():
        if column == "metrics":
            number = None if value is None else float(value)
            number = number if number is not None and math.isfinite(number) else None
            text = None if number is None else str(number)
        else:
            text = None if value is None else str(value)
            number = None if text is None else _as_number(text)
        rows.append(
            {"run_id": run_id, "kind": _KINDS[column], "key": key, "text": text, "num": number}
        )
    return rows


def upgrade() -> None:
    values = op.create_table(
        "tracked_run_values",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(6), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("num", sa.Float(), nullable=True),
    )
    op.create_index("ix_tracked_run_values_key_num", "tracked_run_values", ["kind", "key", "num"])
    op.create_index("ix_tracked_runs_created_at", "tracked_runs", ["created_at", "id"])
    op.create_index(
        "ix_tracked_runs_experiment_created_at",
        "tracked_runs",
        ["experiment_id", "created_at", "id"],
    )
    runs = sa.table(
        "tracked_runs",
        sa.column("id", sa.String),
        sa.column("params", sa.JSON),
        sa.column("metrics", sa.JSON),
        sa.column("tags", sa.JSON),
    )
    connection = op.get_bind()
    pending: list[dict[str, Any]] = []
    for run_id, *columns in connection.execute(
        sa.select(runs.c.id, runs.c.params, runs.c.metrics, runs.c.tags)
    ).all():
        for column, data in zip(("params", "metrics", "tags"), columns, strict=True):
            pending += _values(run_id, column, data)
        if len(pending) >= _BATCH:
            connection.execute(sa.insert(values), pending)
            pending = []
    if pending:
        connection.execute(sa.insert(values), pending)


def downgrade() -> None:
    op.drop_index("ix_tracked_runs_experiment_created_at", table_name="tracked_runs")
    op.drop_index("ix_tracked_runs_created_at", table_name="tracked_runs")
    op.drop_index("ix_tracked_run_values_key_num", table_name="tracked_run_values")
    op.drop_table("tracked_run_values")
