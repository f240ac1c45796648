"""The customer's postal address (the CCB names the borrower with it).

Nullable: customers registered before it have none until they add it (``PUT /v1/me/address``); the
contract step refuses to issue a CCB without one. The check keeps an address whole or absent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_REQUIRED = ("postal_code", "street", "number", "district", "city", "state")


def upgrade() -> None:
    op.add_column("customers", sa.Column("address_postal_code", sa.String(8), nullable=True))
    op.add_column("customers", sa.Column("address_street", sa.String(200), nullable=True))
    op.add_column("customers", sa.Column("address_number", sa.String(20), nullable=True))
    op.add_column("customers", sa.Column("address_complement", sa.String(100), nullable=True))
    op.add_column("customers", sa.Column("address_district", sa.String(100), nullable=True))
    op.add_column("customers", sa.Column("address_city", sa.String(100), nullable=True))
    op.add_column("customers", sa.Column("address_state", sa.String(2), nullable=True))
    op.create_check_constraint(
        "ck_customers_address_whole",
        "customers",
        f"num_nulls({', '.join(f'address_{name}' for name in _REQUIRED)}) IN (0, {len(_REQUIRED)})",
    )


def downgrade() -> None:
    op.drop_constraint("ck_customers_address_whole", "customers", type_="check")
    for name in ("state", "city", "district", "complement", "number", "street", "postal_code"):
        op.drop_column("customers", f"address_{name}")
