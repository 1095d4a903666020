"""``GET /v1/decisions/{decision_id}``: a decision of the token's institution, explained.

Read side, not the hot path: the decision comes from this process's decision-log queue
when it has not been written yet (so a client reads back its answer at once), else from
the decision log table, else, once its day is archived, from that day's Parquet file
(the UUIDv7 names the day: one ``stat`` when there is no file; the row is read by DuckDB
in a thread: ``app.registry.decision_archive``). The basis is computed now, from the
record as it stood at the decision's registry version (``app.registry.history``). A
decision of another institution is answered 404, exactly like an unknown id: an HIS
learns nothing about other institutions' traffic.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import NotFound
from app.gatekeeper.decisions.spill import Item, decode_item
from app.gatekeeper.decisions.withdrawals import Withdrawn
from app.models import SettlementDecision
from app.registry import decision_archive
from app.registry.decision_codec import as_row
from app.registry.explained import Withdrawal
from app.registry.history import WithdrawnLine, explain_decision, get_decision

DECISIONS_PREFIX = "/v1/decisions/"
DECISIONS_PATH = "/v1/decisions/{decision_id}"
_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")


def _pending(items: list[Item], decision_id: str) -> SettlementDecision | None:
    """A decision still queued (or being written) as the row it will become."""
    for item in reversed(items):
        if item[0] == decision_id:
            return as_row(decode_item(item))
    return None


def _withdrawn(pending: list[Withdrawn], decision_id: str) -> list[WithdrawnLine]:
    out: list[WithdrawnLine] = []
    for w in pending:
        if w.decision_id == decision_id:
            at = datetime.fromtimestamp(w.withdrawn_ms / 1000, UTC).isoformat()
            out.append(
                (
                    w.decision_id,
                    w.line_id or "",
                    Withdrawal(msgid=w.msgid, infno=w.infno, withdrawn_at=at),
                )
            )
    return out


async def _archived(archive: Path, decision_id: str, inst: str) -> SettlementDecision | None:
    """The decision from its day's archive file, when that day is archived."""
    did = uuid.UUID(decision_id)
    path = decision_archive.day_file(archive, did)
    if path is None:
        return None
    return await asyncio.to_thread(decision_archive.find, path, did, inst)


async def find(
    sessions: async_sessionmaker[AsyncSession],
    queued: list[Item],
    decision_id: str,
    inst: str,
    withdrawals: list[Withdrawn] | None = None,
    archive: Path | None = None,
) -> bytes:
    """The explained decision as JSON; NotFound unless it is ``inst``'s. ``queued``:
    decisions, ``withdrawals``: withdrawn lines, not yet in their tables; ``archive``:
    the directory of archived days (``decision_archive_dir``)."""
    if not _ID_RE.fullmatch(decision_id):
        raise NotFound(f"No decision {decision_id} (a decision_id is a UUIDv7).")
    async with sessions() as session:
        row = _pending(queued, decision_id) or await get_decision(session, decision_id, inst)
        if row is None and archive is not None:
            await session.rollback()  # the connection goes back to the pool meanwhile
            row = await _archived(archive, decision_id, inst)
        if row is None or row.institution_code != inst:
            raise NotFound(f"No decision {decision_id} of institution {inst}.")
        pending = _withdrawn(withdrawals or [], decision_id)
        explained = await explain_decision(session, row, pending)
    return msgspec.json.encode(explained)
