"""Double-entry ledger, and the credit limit an application holds.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "loan_applications",
        sa.Column("reserved_amount", sa.Numeric(18, 2), server_default="0", nullable=False),
    )
    op.add_column(
        "loan_applications",
        sa.Column("steps", postgresql.JSONB(), server_default="[]", nullable=False),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("application_id", sa.Uuid(), sa.ForeignKey("loan_applications.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("reverses_entry_id", sa.Uuid(), sa.ForeignKey("journal_entries.id"), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_journal_entries_application_id", "journal_entries", ["application_id"])
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("entry_id", sa.Uuid(), sa.ForeignKey("journal_entries.id"), nullable=False),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("debit", sa.Numeric(18, 2), nullable=False, server_default="0"),
        sa.Column("credit", sa.Numeric(18, 2), nullable=False, server_default="0"),
        sa.CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="ck_journal_lines_one_side"
        ),
    )
    op.create_index("ix_journal_lines_entry_id", "journal_lines", ["entry_id"])
    op.create_index("ix_journal_lines_account", "journal_lines", ["account"])
    # Every entry balances: checked at commit, once all of its lines are in.
    op.execute(
        """
        CREATE FUNCTION journal_entry_balances() RETURNS trigger AS $$
        DECLARE
            unbalanced numeric;
        BEGIN
            SELECT COALESCE(SUM(debit), 0) - COALESCE(SUM(credit), 0) INTO unbalanced
              FROM journal_lines WHERE entry_id = NEW.entry_id;
            IF unbalanced <> 0 THEN
                RAISE EXCEPTION 'journal entry % does not balance (debits - credits = %)', NEW.entry_id, unbalanced
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER journal_lines_balance
            AFTER INSERT OR UPDATE ON journal_lines
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION journal_entry_balances();
        """
    )
    # Lines are append-only: corrections are reversing entries, never edits.
    op.execute(
        """
        CREATE FUNCTION journal_is_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'the ledger is append-only: post a reversing entry instead'
                USING ERRCODE = 'restrict_violation';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    op.execute(
        "CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines "
        "FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS journal_lines_append_only ON journal_lines")
    op.execute("DROP TRIGGER IF EXISTS journal_lines_balance ON journal_lines")
    op.drop_table("journal_lines")
    op.drop_table("journal_entries")
    op.execute("DROP FUNCTION IF EXISTS journal_is_append_only()")
    op.execute("DROP FUNCTION IF EXISTS journal_entry_balances()")
    op.drop_column("loan_applications", "steps")
    op.drop_column("loan_applications", "reserved_amount")
