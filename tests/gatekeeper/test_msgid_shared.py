"""The msgid journal shared by pre-forked workers (decisions/msgid_shared.py), two or
three stores on one directory as the workers hold them (each its own file descriptor and
reading offset); tests/hardening/test_prefork_msgids.py runs the real workers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.core.errors import NotReady
from app.gatekeeper.decisions import msgid_shared
from app.gatekeeper.decisions.idempotency import LocalIdempotency, Record
from app.gatekeeper.decisions.msgid_shared import SharedIdempotency


def rec(decision_id: str, body_hash: str = "h") -> Record:
    return Record(body_hash, decision_id, 1, 1, "t", "t", "AB")


def append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, data)
    os.close(fd)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SharedIdempotency, SharedIdempotency]]:
    a, b = SharedIdempotency(tmp_path), SharedIdempotency(tmp_path)
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()


async def test_the_first_claim_wins_in_every_worker(
    pair: tuple[SharedIdempotency, SharedIdempotency],
) -> None:
    a, b = pair
    first = rec("d1")
    assert await a.claim("H1", "m", first) is None
    assert await b.claim("H1", "m", rec("d2")) == first  # answered from the first
    assert await b.claim("H1", "m", rec("d3", "other body")) == first  # refused upstream
    assert await a.claim("H1", "m", rec("d4")) is first
    assert await b.claim("H2", "m", rec("d5")) is None  # per institution
    assert b.voided == 1 and a.voided == 0  # (then answered from the record it held)


async def test_a_release_in_one_worker_frees_the_msgid_in_the_other(
    pair: tuple[SharedIdempotency, SharedIdempotency],
) -> None:
    a, b = pair
    assert await a.claim("H1", "m", rec("d1")) is None
    assert await b.claim("H1", "m", rec("d2")) == rec("d1")
    await a.release("H1", "m", rec("d1"))
    again = rec("d3")
    assert await b.claim("H1", "m", again) is None  # judged again
    assert await a.claim("H1", "m", rec("d4")) == again
    await a.release("H1", "m", rec("d1"))  # a stale release frees nothing
    assert await a.claim("H1", "m", rec("d5")) == again


async def test_a_rotation_keeps_every_record_and_both_follow(tmp_path: Path) -> None:
    a, b = SharedIdempotency(tmp_path), SharedIdempotency(tmp_path)
    await a.start()
    await b.start()
    try:
        for k in range(300):
            assert await (a if k % 2 else b).claim("H1", f"m{k}", rec(f"d{k}")) is None
            await (b if k % 2 else a).release("H1", f"m{k}", rec(f"d{k}"))
        for k in range(300, 320):
            assert await b.claim("H1", f"m{k}", rec(f"d{k}")) is None
        assert await a.compact()
        size = (tmp_path / "msgids.jsonl").stat().st_size
        assert await b.claim("H1", "m305", rec("x")) == rec("d305")  # b followed
        assert await b.claim("H1", "new", rec("n")) is None
        assert await a.claim("H1", "new", rec("y")) == rec("n")
        assert a.compactions == 1 and size < 25_000
        c = SharedIdempotency(tmp_path)  # a worker started afterwards
        await c.start()
        assert await c.claim("H1", "m319", rec("z")) == rec("d319")
        assert await c.claim("H1", "m5", rec("d5b")) is None  # released before
        await c.stop()
    finally:
        await a.stop()
        await b.stop()


async def test_a_marker_left_by_a_dead_mover_is_taken_over(
    pair: tuple[SharedIdempotency, SharedIdempotency], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    monkeypatch.setattr(msgid_shared, "FOLLOW_S", 0.1)
    assert await a.claim("H1", "m", rec("d1")) is None
    append(a.path, msgid_shared.MOVED + b"\n")  # the marker, then the mover killed
    assert await b.claim("H1", "m", rec("d2")) == rec("d1")
    assert await b.claim("H1", "n", rec("d3")) is None
    assert await a.claim("H1", "n", rec("d4")) == rec("d3")  # a followed b's new file
    assert msgid_shared.MOVED not in a.path.read_bytes()


async def test_a_torn_line_hides_no_later_line(
    pair: tuple[SharedIdempotency, SharedIdempotency],
) -> None:
    a, b = pair
    append(a.path, b'["H1","torn",1.0,["h","d0"')  # a worker killed during its write
    assert await b.claim("H1", "m", rec("d1")) is None
    assert await a.claim("H1", "m", rec("d2")) == rec("d1")
    assert await a.claim("H1", "torn", rec("d3")) is None


async def test_a_claim_that_cannot_be_written_is_a_503(
    pair: tuple[SharedIdempotency, SharedIdempotency],
) -> None:
    a, _ = pair
    assert a._fd is not None
    os.close(a._fd)
    a._fd = os.open(a.path, os.O_RDONLY)  # writes fail from here
    with pytest.raises(NotReady):
        await a.claim("H1", "m", rec("d1"))


async def test_one_gatekeeper_started_on_the_workers_journal_keeps_the_winners(
    tmp_path: Path,
) -> None:
    """The workers' journal (void claims, releases, a rotation) read back by a gatekeeper
    started without --workers."""
    a, b = SharedIdempotency(tmp_path), SharedIdempotency(tmp_path)
    await a.start()
    await b.start()
    assert await a.compact()
    assert await a.claim("H1", "m", rec("d1")) is None
    assert await b.claim("H1", "m", rec("d2")) == rec("d1")  # void, released
    assert await b.claim("H1", "n", rec("d3")) is None
    assert await a.claim("H1", "n", rec("d4")) == rec("d3")
    await a.stop()
    await b.stop()
    one = LocalIdempotency(tmp_path)
    await one.start()
    assert await one.claim("H1", "m", rec("x")) == rec("d1")
    assert await one.claim("H1", "n", rec("y")) == rec("d3")
    await one.stop()


async def test_a_worker_that_slept_through_two_rotations_reads_the_journal_again(
    pair: tuple[SharedIdempotency, SharedIdempotency],
) -> None:
    a, b = pair
    assert await b.claim("H1", "m", rec("d1")) is None
    assert await a.compact()
    assert await a.claim("H1", "n", rec("d2")) is None  # in the second file only
    assert await a.compact()  # b read neither: its next read finds the third file
    assert await b.claim("H1", "n", rec("d3")) == rec("d2")
    assert await b.claim("H1", "m", rec("d4")) == rec("d1")
    assert b.gen == a.gen == 2
