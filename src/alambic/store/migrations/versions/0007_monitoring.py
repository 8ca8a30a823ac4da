"""Monitoring: monitors and their runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from alambic.store._orm import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "monitor_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("monitor", sa.String(100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("window_since", UTCDateTime(), nullable=True),
        sa.Column("window_until", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("report", sa.String(128), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_index("ix_monitor_runs_monitor", "monitor_runs", ["monitor"])


def downgrade() -> None:
    op.drop_index("ix_monitor_runs_monitor", table_name="monitor_runs")
    op.drop_table("monitor_runs")
    op.drop_table("monitors")
