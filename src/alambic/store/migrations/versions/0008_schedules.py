"""The control plane: schedules and their fires, triggers and their events, alerts and
their targets, and the leases of its loops.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from alambic.store._orm import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("every_seconds", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("catchup", sa.String(10), nullable=False),
        sa.Column("concurrency", sa.String(10), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_fire_at", UTCDateTime(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "schedule_fires",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("fire_time", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("server", sa.String(200), nullable=False),
        sa.UniqueConstraint("schedule", "fire_time"),
    )
    op.create_index("ix_schedule_fires_schedule", "schedule_fires", ["schedule"])
    op.create_index("ix_schedule_fires_status", "schedule_fires", ["status"])
    op.create_table(
        "triggers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("cooldown_seconds", sa.Float(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "trigger_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("trigger", sa.String(100), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("trigger", "key"),
    )
    op.create_index("ix_trigger_events_trigger", "trigger_events", ["trigger"])
    op.create_index("ix_trigger_events_status", "trigger_events", ["status"])
    op.create_table(
        "alert_targets",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret_env", sa.String(200), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_alerts_status", "alerts", ["status"])
    op.create_table(
        "control_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("control_leases")
    op.drop_index("ix_alerts_status", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("alert_targets")
    op.drop_index("ix_trigger_events_status", table_name="trigger_events")
    op.drop_index("ix_trigger_events_trigger", table_name="trigger_events")
    op.drop_table("trigger_events")
    op.drop_table("triggers")
    op.drop_index("ix_schedule_fires_status", table_name="schedule_fires")
    op.drop_index("ix_schedule_fires_schedule", table_name="schedule_fires")
    op.drop_table("schedule_fires")
    op.drop_table("schedules")
