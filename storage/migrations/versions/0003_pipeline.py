"""Event pipeline: dedupe claims on processed_events, dead-letter replays, unmatched bridge events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("processed_events", sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))
    op.add_column("processed_events", sa.Column("outcome", sa.String(30), nullable=True))
    op.add_column("processed_events", sa.Column("source_partition", sa.Integer(), nullable=True))
    op.add_column("processed_events", sa.Column("source_offset", sa.BigInteger(), nullable=True))
    op.create_table(
        "dead_letter_replays",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("dlq_topic", sa.String(250), nullable=False),
        sa.Column("dlq_partition", sa.Integer(), nullable=False),
        sa.Column("dlq_offset", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=True),
        sa.Column("event_type", sa.String(100), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("replayed_to", sa.String(250), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("dlq_topic", "dlq_partition", "dlq_offset", name="uq_dead_letter_replays_letter"),
    )
    op.create_index("ix_dead_letter_replays_event_id", "dead_letter_replays", ["event_id"])
    op.create_table(
        "unmatched_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("workflow_id", sa.String(250), nullable=False),
        sa.Column("signal_name", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("consumer", "event_id", name="uq_unmatched_events_consumer_event"),
    )
    op.create_index("ix_unmatched_events_subject", "unmatched_events", ["subject"])


def downgrade() -> None:
    op.drop_table("unmatched_events")
    op.drop_table("dead_letter_replays")
    op.drop_column("processed_events", "source_offset")
    op.drop_column("processed_events", "source_partition")
    op.drop_column("processed_events", "outcome")
    op.drop_column("processed_events", "attempt")
