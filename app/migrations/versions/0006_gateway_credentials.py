"""gateway credentials (x-tif / CSB pairs of an institution, secrets sealed)

Revision ID: 0006_gateway
Revises: 0005_i13
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_gateway"
down_revision: str | None = "0005_i13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("paasid", sa.String(length=64), nullable=False),
        sa.Column("institution_code", sa.String(length=32), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_code"],
            ["institutions.code"],
            name=op.f("fk_gateway_credentials_institution_code_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_credentials")),
        sa.UniqueConstraint("paasid", name=op.f("uq_gateway_credentials_paasid")),
    )
    op.create_index(
        op.f("ix_gateway_credentials_institution_code"),
        "gateway_credentials",
        ["institution_code"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_gateway_credentials_institution_code"), table_name="gateway_credentials")
    op.drop_table("gateway_credentials")
