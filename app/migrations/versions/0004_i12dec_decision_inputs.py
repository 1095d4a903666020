"""decision inputs and explanation lookups

Each logged decision keeps its lines' inputs (physician code, service date, emergency),
so a decision can be explained later; decisions are listed newest first by id (UUIDv7,
time-ordered) per institution; on PostgreSQL the outbox is searchable by the entities a
change touched (GIN on the ``physicians`` and ``institutions`` objects of the payload), so
"the facts of physician P as of version V" and "changed after V" are index lookups.

Revision ID: 0004_i12dec
Revises: 0003_i9
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_i12dec"
down_revision: str | None = "0003_i9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("settlement_decisions", sa.Column("inputs", JSON, nullable=True))
    op.drop_index("ix_settlement_decisions_inst_at", table_name="settlement_decisions")
    op.create_index(
        "ix_settlement_decisions_inst_id",
        "settlement_decisions",
        ["institution_code", "decision_id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_registry_changes_physicians ON registry_changes "
            "USING gin ((payload -> 'physicians'))"
        )
        op.execute(
            "CREATE INDEX ix_registry_changes_institutions ON registry_changes "
            "USING gin ((payload -> 'institutions'))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_registry_changes_institutions")
        op.execute("DROP INDEX ix_registry_changes_physicians")
    op.drop_index("ix_settlement_decisions_inst_id", table_name="settlement_decisions")
    op.create_index(
        "ix_settlement_decisions_inst_at",
        "settlement_decisions",
        ["institution_code", "decided_at"],
        unique=False,
    )
    op.drop_column("settlement_decisions", "inputs")
