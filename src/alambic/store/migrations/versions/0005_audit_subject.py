"""The audit log names its subject by kind: model groups, endpoints and tokens apart.

Until now serving wrote ``endpoint:<name>`` and ``token:<id>`` into the registry's
``group`` column. The column becomes ``subject``, beside a new ``subject_kind``
(``model_group``, ``endpoint``, ``token``); every existing row is kept and classified.
A 0.1 process still running writes to ``group``: stop them all before upgrading a
database several machines share.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PREFIXES = (("endpoint:", "endpoint"), ("token:", "token"))


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_group_at")
        batch.alter_column(
            "group",
            new_column_name="subject",
            existing_type=sa.String(100),
            existing_nullable=False,
        )
        batch.add_column(
            sa.Column("subject_kind", sa.String(40), nullable=False, server_default="model_group")
        )
    audit = sa.table("audit_log", sa.column("subject", sa.String), sa.column("subject_kind"))
    for prefix, kind in _PREFIXES:
        op.execute(
            audit.update()
            .where(audit.c.subject.startswith(prefix, autoescape=True))
            .values(subject_kind=kind, subject=sa.func.substr(audit.c.subject, len(prefix) + 1))
        )
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("subject_kind", server_default=None, existing_type=sa.String(40))
        batch.create_index("ix_audit_log_subject_at", ["subject_kind", "subject", "at"])


def downgrade() -> None:
    audit = sa.table("audit_log", sa.column("subject", sa.String), sa.column("subject_kind"))
    for prefix, kind in _PREFIXES:
        op.execute(
            audit.update()
            .where(audit.c.subject_kind == kind)
            .values(subject=sa.literal(prefix) + audit.c.subject)
        )
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_subject_at")
        batch.drop_column("subject_kind")
        batch.alter_column(
            "subject",
            new_column_name="group",
            existing_type=sa.String(100),
            existing_nullable=False,
        )
    op.create_index("ix_audit_log_group_at", "audit_log", ["group", "at"])
