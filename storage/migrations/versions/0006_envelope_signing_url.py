"""What the app hands the customer: the envelope's signing link, the charge's BR Code and payment page.

Revision ID: 0006
Revises: 0003, 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = ("0003", "0005")  # also merges the pipeline and API branches
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signature_envelopes", sa.Column("signing_url", sa.String(500), nullable=True))
    op.add_column("pix_charges", sa.Column("br_code", sa.String(512), nullable=True))
    op.add_column("pix_charges", sa.Column("payment_url", sa.String(500), nullable=True))


def downgrade() -> None:
    op.drop_column("pix_charges", "payment_url")
    op.drop_column("pix_charges", "br_code")
    op.drop_column("signature_envelopes", "signing_url")
