"""前置 mode: the platform's answer to each forwarded fee upload, in the decision log

``upstream_infcode`` (the platform's ``infcode``) and ``upstream_error`` (``timeout`` or
``refused`` when it did not answer); both null for a decision not forwarded.

Revision ID: 0009_upstream
Revises: 0008_staff
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_upstream"
down_revision: str | None = "0008_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_decisions") as batch:
        batch.add_column(sa.Column("upstream_infcode", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("upstream_error", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlement_decisions") as batch:
        batch.drop_column("upstream_error")
        batch.drop_column("upstream_infcode")
