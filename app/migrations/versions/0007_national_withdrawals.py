"""decision withdrawals (2205/2302 of the national format)

Withdrawn lines of logged decisions, in their own table (joined to the decision log when
a decision is read), so the decision log's rows stay as they were answered.

Revision ID: 0007_withdrawals
Revises: 0006_gateway
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_withdrawals"
down_revision: str | None = "0006_gateway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_withdrawals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("institution_code", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("line_id", sa.String(length=64), nullable=True),
        sa.Column("mdtrt_id", sa.String(length=64), nullable=False),
        sa.Column("chrg_bchno", sa.String(length=64), nullable=True),
        sa.Column("msgid", sa.String(length=30), nullable=False),
        sa.Column("infno", sa.String(length=8), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_withdrawals")),
    )
    op.create_index(
        "ix_decision_withdrawals_decision_id", "decision_withdrawals", ["decision_id"]
    )
    op.create_index(
        "ix_decision_withdrawals_inst_visit",
        "decision_withdrawals",
        ["institution_code", "mdtrt_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_decision_withdrawals_inst_visit", table_name="decision_withdrawals")
    op.drop_index("ix_decision_withdrawals_decision_id", table_name="decision_withdrawals")
    op.drop_table("decision_withdrawals")
