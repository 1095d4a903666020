"""compact decision log, partitioned by day on PostgreSQL

Rows in the compact encoding of ``app.registry.decision_codec``: ids as ``uuid``, amounts
as integer cents, outcome as a small integer, the staff codes once per decision
(``physicians``: joined by U+001F, GIN-indexed as an array on PostgreSQL), the lines as bytes. The
key ``(institution_code, decision_id)``; a hash index on ``settlement_id``. On
PostgreSQL the table is ``PARTITION BY RANGE (decision_id)``, one partition per UTC day
(``app.models.partitions``) and a default one. Existing rows are converted.

Revision ID: 0011_decisionlog
Revises: 0010_console
Create Date: 2026-12-06
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.models import partitions
from app.registry import decision_codec as codec

revision: str = "0011_decisionlog"
down_revision: str | None = "0010_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "settlement_decisions_v0"
BATCH = 5_000
PG_TABLE = """
CREATE TABLE settlement_decisions (
    registry_version bigint NOT NULL,
    accepted_cents bigint NOT NULL,
    rejected_cents bigint NOT NULL,
    decision_id uuid NOT NULL,
    outcome smallint NOT NULL,
    upstream_infcode integer,
    upstream_error varchar(16),
    institution_code varchar(32) NOT NULL,
    settlement_id varchar(64) NOT NULL,
    physicians text NOT NULL,
    lines bytea NOT NULL,
    CONSTRAINT pk_settlement_decisions PRIMARY KEY (institution_code, decision_id)
) PARTITION BY RANGE (decision_id)
"""


def _new_table_sqlite() -> None:
    op.create_table(
        "settlement_decisions",
        sa.Column("registry_version", sa.BigInteger(), nullable=False),
        sa.Column("accepted_cents", sa.BigInteger(), nullable=False),
        sa.Column("rejected_cents", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.SmallInteger(), nullable=False),
        sa.Column("upstream_infcode", sa.Integer(), nullable=True),
        sa.Column("upstream_error", sa.String(16), nullable=True),
        sa.Column("institution_code", sa.String(32), nullable=False),
        sa.Column("settlement_id", sa.String(64), nullable=False),
        sa.Column("physicians", sa.Text(), nullable=False),
        sa.Column("lines", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "institution_code", "decision_id", name="pk_settlement_decisions"
        ),
    )


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.rename_table("settlement_decisions", OLD)
    if pg:
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT pk_settlement_decisions TO pk_{OLD}")
    op.drop_index("ix_settlement_decisions_inst_id", table_name=OLD)
    op.drop_index("ix_settlement_decisions_settlement_id", table_name=OLD)
    if pg:
        op.execute(PG_TABLE)
        op.execute(
            f"CREATE TABLE {partitions.DEFAULT} PARTITION OF settlement_decisions DEFAULT"
        )
        for day in _days(bind):
            op.execute(partitions.create_sql(day))
        op.execute(
            "CREATE INDEX ix_settlement_decisions_settlement ON settlement_decisions "
            "USING hash (settlement_id)"
        )
        op.execute(
            "CREATE INDEX ix_settlement_decisions_physicians ON settlement_decisions "
            "USING gin (string_to_array(physicians, E'\\x1f'))"
        )
    else:
        _new_table_sqlite()
        op.create_index(
            "ix_settlement_decisions_settlement", "settlement_decisions", ["settlement_id"]
        )
    _convert(bind)
    op.drop_table(OLD)


def _days(bind: sa.engine.Connection) -> list[date]:
    """Days to partition: a week either side of today, and the days the old rows span
    (at most the last 400; older rows go to the default partition)."""
    today = datetime.now(UTC).date()
    days = set(partitions.days_ahead(today, 7, 7))
    first = bind.execute(sa.text(f"SELECT min(decided_at) FROM {OLD}")).scalar()
    if first is not None:
        span = max(0, (today - first.date()).days)
        days |= set(partitions.days_ahead(today, min(span, 400), 0))
    return sorted(days)


def _compact(name: str) -> sa.TableClause:
    types: dict[str, Any] = {"decision_id": sa.Uuid(), "lines": sa.LargeBinary()}
    return sa.table(name, *(sa.column(c, types.get(c)) for c in codec.ROW_COLUMNS))


def _convert(bind: sa.engine.Connection) -> None:
    """The old rows in the compact encoding, in batches (keyset on the id)."""
    new = _compact("settlement_decisions")
    after = ""
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT decision_id, settlement_id, institution_code, registry_version, "
                "outcome, accepted_amount, rejected_amount, lines, inputs, "
                "upstream_infcode, upstream_error "
                f"FROM {OLD} WHERE decision_id > :after ORDER BY decision_id LIMIT {BATCH}"
            ),
            {"after": after},
        ).all()
        if not rows:
            return
        values = []
        for r in rows:
            lines = r.lines if isinstance(r.lines, list) else json.loads(r.lines)
            inputs = r.inputs if not isinstance(r.inputs, str) else json.loads(r.inputs)
            d = codec.from_lines(
                r.decision_id,
                r.settlement_id,
                r.institution_code,
                r.registry_version,
                r.outcome,
                (r.accepted_amount, r.rejected_amount),
                lines,
                inputs,
                (r.upstream_infcode, r.upstream_error),
            )
            values.append(dict(zip(codec.ROW_COLUMNS, codec.row_values(d), strict=True)))
        bind.execute(sa.insert(new), values)
        after = rows[-1].decision_id


def downgrade() -> None:
    bind = op.get_bind()
    op.rename_table("settlement_decisions", "settlement_decisions_v1")
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE settlement_decisions_v1 RENAME CONSTRAINT pk_settlement_decisions "
            "TO pk_settlement_decisions_v1"
        )
        op.execute("DROP INDEX ix_settlement_decisions_settlement")
        op.execute("DROP INDEX ix_settlement_decisions_physicians")
    else:
        op.drop_index("ix_settlement_decisions_settlement", table_name="settlement_decisions_v1")
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    old = op.create_table(
        "settlement_decisions",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("settlement_id", sa.String(64), nullable=False),
        sa.Column("institution_code", sa.String(32), nullable=False),
        sa.Column("registry_version", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("accepted_amount", sa.String(24), nullable=False),
        sa.Column("rejected_amount", sa.String(24), nullable=False),
        sa.Column("lines", json_type, nullable=False),
        sa.Column("inputs", json_type, nullable=True),
        sa.Column("upstream_infcode", sa.Integer(), nullable=True),
        sa.Column("upstream_error", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("decision_id", name="pk_settlement_decisions"),
    )
    op.create_index(
        "ix_settlement_decisions_inst_id",
        "settlement_decisions",
        ["institution_code", "decision_id"],
    )
    op.create_index(
        "ix_settlement_decisions_settlement_id", "settlement_decisions", ["settlement_id"]
    )
    src = _compact("settlement_decisions_v1")
    values = []
    for r in bind.execute(sa.select(src)).all():
        did = r.decision_id if isinstance(r.decision_id, uuid.UUID) else uuid.UUID(r.decision_id)
        lines, inputs = codec.decode_lines(r.lines, r.physicians)
        values.append(
            {
                "decision_id": str(did),
                "settlement_id": r.settlement_id,
                "institution_code": r.institution_code,
                "registry_version": r.registry_version,
                "decided_at": codec.decided_at(did),
                "outcome": codec.OUTCOMES[r.outcome],
                "accepted_amount": codec.money(r.accepted_cents),
                "rejected_amount": codec.money(r.rejected_cents),
                "lines": lines,
                "inputs": inputs,
                "upstream_infcode": r.upstream_infcode,
                "upstream_error": r.upstream_error,
            }
        )
    if values:
        op.bulk_insert(old, values)
    op.drop_table("settlement_decisions_v1")
