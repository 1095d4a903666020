"""one-time reveals of the console in the record

A secret minted by a console POST (an HIS or operator token, a gateway secret) waits for
the page after its redirect in ``console_reveals``, so that any admin process may show it:
sealed (AES-GCM), bound to the console session (deleted with it) and to a scope, deleted
on first view or once expired.

Revision ID: 0012_console_reveals
Revises: 0011_decisionlog
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_console_reveals"
down_revision: str | None = "0011_decisionlog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_reveals",
        sa.Column("handle_hash", sa.String(length=64), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=96), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_hash"],
            ["console_sessions.id_hash"],
            name=op.f("fk_console_reveals_session_hash_console_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("handle_hash", name=op.f("pk_console_reveals")),
    )
    op.create_index(
        op.f("ix_console_reveals_session_hash"), "console_reveals", ["session_hash"]
    )
    op.create_index(op.f("ix_console_reveals_expires_at"), "console_reveals", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_console_reveals_expires_at"), table_name="console_reveals")
    op.drop_index(op.f("ix_console_reveals_session_hash"), table_name="console_reveals")
    op.drop_table("console_reveals")
