"""related staff under the national rules: staff categories, degrees, 记分修复, policy versions

Revision ID: 0008_staff
Revises: 0007_withdrawals
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_staff"
down_revision: str | None = "0007_withdrawals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("physicians") as b:
        b.add_column(
            sa.Column("category", sa.String(length=16), nullable=False, server_default="doctor")
        )
    with op.batch_alter_table("violations") as b:
        b.add_column(sa.Column("degree", sa.String(length=16), nullable=True))
    op.create_table(
        "repairs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("physician_code", sa.String(length=40), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("period_key", sa.String(length=64), nullable=False),
        sa.Column("means", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["physician_code"],
            ["physicians.code"],
            name=op.f("fk_repairs_physician_code_physicians"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_repairs_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairs")),
    )
    op.create_index(op.f("ix_repairs_physician_code"), "repairs", ["physician_code"])
    op.create_index(op.f("ix_repairs_region_code"), "repairs", ["region_code"])
    op.create_table(
        "region_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_region_policies_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_policies")),
        sa.UniqueConstraint("region_code", "effective_from", name="uq_region_policies_from"),
    )
    op.create_index(
        op.f("ix_region_policies_region_code"), "region_policies", ["region_code"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_region_policies_region_code"), table_name="region_policies")
    op.drop_table("region_policies")
    op.drop_index(op.f("ix_repairs_region_code"), table_name="repairs")
    op.drop_index(op.f("ix_repairs_physician_code"), table_name="repairs")
    op.drop_table("repairs")
    with op.batch_alter_table("violations") as b:
        b.drop_column("degree")
    with op.batch_alter_table("physicians") as b:
        b.drop_column("category")
