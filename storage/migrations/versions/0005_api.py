"""API: refresh-token families, idempotency keys, operators, the append-only ops audit log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_subject_id", "refresh_tokens", ["subject_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column(
            "application_id",
            sa.Uuid(),
            sa.ForeignKey("loan_applications.id", deferrable=True, initially="DEFERRED"),
            nullable=False,
        ),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("customer_id", "key", name="uq_idempotency_keys_customer_key"),
    )

    op.create_table(
        "operators",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )

    op.create_table(
        "ops_audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("operator_id", sa.Uuid(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("operator_username", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(100), nullable=False),
        sa.Column("detail", postgresql.JSONB(), server_default="{}", nullable=False),
    )
    op.create_index("ix_ops_audit_log_operator_id", "ops_audit_log", ["operator_id"])
    op.create_index("ix_ops_audit_log_object_id", "ops_audit_log", ["object_id"])
    # The audit log is append-only: what happened stays written.
    op.execute(
        """
        CREATE FUNCTION ops_audit_log_is_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'the ops audit log is append-only'
                USING ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    op.execute(
        "CREATE TRIGGER ops_audit_log_append_only BEFORE UPDATE OR DELETE ON ops_audit_log "
        "FOR EACH ROW EXECUTE FUNCTION ops_audit_log_is_append_only();"
    )
    op.execute(
        "CREATE TRIGGER ops_audit_log_no_truncate BEFORE TRUNCATE ON ops_audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION ops_audit_log_is_append_only();"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ops_audit_log_no_truncate ON ops_audit_log")
    op.execute("DROP TRIGGER IF EXISTS ops_audit_log_append_only ON ops_audit_log")
    op.drop_table("ops_audit_log")
    op.execute("DROP FUNCTION IF EXISTS ops_audit_log_is_append_only()")
    op.drop_table("operators")
    op.drop_table("idempotency_keys")
    op.drop_table("refresh_tokens")
