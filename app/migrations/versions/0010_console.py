"""the console's look-ups at scale: settlements by their id

结算查询 looks a settlement up by its id (the HIS's); the decision log was indexed by
institution and decision id only, so the look-up read the whole log.

Revision ID: 0010_console
Revises: 0009_upstream
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_console"
down_revision: str | None = "0009_upstream"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_settlement_decisions_settlement_id", "settlement_decisions", ["settlement_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_settlement_decisions_settlement_id", table_name="settlement_decisions")
