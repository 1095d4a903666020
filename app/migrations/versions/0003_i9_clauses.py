"""i9: bans per region, calendar schedules, provisional deadlines, agreement renewal

Revision ID: 0003_i9
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_i9"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bans") as b:
        b.drop_constraint("uq_bans_key", type_="unique")
        b.create_unique_constraint(
            "uq_bans_key", ["physician_code", "policy_id", "source", "rule_id", "region_code"]
        )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "schedule",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_by", sa.String(length=36), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    with op.batch_alter_table("objections") as b:
        b.add_column(
            sa.Column("deadline_provisional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        b.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("resumption_applications") as b:
        b.add_column(sa.Column("window_opens_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("window_closes_on", sa.Date(), nullable=True))
        b.add_column(
            sa.Column("deadline_provisional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("agreements") as b:
        b.add_column(sa.Column("no_renewal", sa.String(length=32), nullable=True))
        b.add_column(sa.Column("end_requested_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agreements") as b:
        b.drop_column("end_requested_on")
        b.drop_column("no_renewal")
    with op.batch_alter_table("resumption_applications") as b:
        b.drop_column("deadline_provisional")
        b.drop_column("window_closes_on")
        b.drop_column("window_opens_on")
    with op.batch_alter_table("objections") as b:
        b.drop_column("late")
        b.drop_column("deadline_provisional")
    op.drop_table("calendar_years")
    with op.batch_alter_table("bans") as b:
        b.drop_constraint("uq_bans_key", type_="unique")
        b.create_unique_constraint(
            "uq_bans_key", ["physician_code", "policy_id", "source", "rule_id"]
        )
