"""The platform's kept answers on disk (``upstream.answer_files``): what one process (a
pre-forked worker) appended, another finds; a line still being written is read once it
is whole; files older than the answers' window are deleted as the hour turns."""

from __future__ import annotations

import time
from pathlib import Path

from app.gatekeeper.upstream.answer_files import HOUR_S, KEEP_HOURS, FileAnswers
from app.gatekeeper.upstream.client import Answer

ANSWER = Answer(200, [(b"Content-Type", b"application/json; charset=UTF-8")], b'{"infcode":0}')


async def test_another_worker_finds_an_answer_appended_by_one(tmp_path: Path) -> None:
    a, b = FileAnswers(tmp_path, 1 << 20), FileAnswers(tmp_path, 1 << 20)
    await a.start()
    await b.start()
    assert await b.get("H1", "m1") is None
    await a.put("H1", "m1", ANSWER)
    assert await b.get("H1", "m1") == ANSWER
    assert await b.get("H2", "m1") is None  # another institution's msgid
    await a.stop()
    await b.stop()
    c = FileAnswers(tmp_path, 1 << 20)  # a restart: read back from the files
    await c.start()
    assert await c.get("H1", "m1") == ANSWER
    await c.stop()


def the_file(directory: Path) -> tuple[Path, bytes]:
    [path] = directory.glob("answers-*.jsonl")
    return path, path.read_bytes()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


async def test_a_torn_line_waits_until_it_is_whole(tmp_path: Path) -> None:
    a, b = FileAnswers(tmp_path, 1 << 20), FileAnswers(tmp_path, 1 << 20)
    await a.start()
    await b.start()
    await a.put("H1", "m1", ANSWER)
    path, line = the_file(tmp_path)
    other = line.replace(b"m1", b"m2")
    append(path, other[:20])  # half of another worker's line
    assert await b.get("H1", "m2") is None
    append(path, other[20:])
    assert await b.get("H1", "m2") == ANSWER
    await a.stop()
    await b.stop()


async def test_files_past_the_window_are_deleted(tmp_path: Path) -> None:
    hour = int(time.time()) // HOUR_S
    old = tmp_path / f"answers-{hour - KEEP_HOURS - 1}.jsonl"
    kept = tmp_path / f"answers-{hour - 2}.jsonl"
    for p in (old, kept):
        append(p, b"")
    a = FileAnswers(tmp_path, 1 << 20)
    await a.start()
    await a.put("H1", "m1", ANSWER)
    assert not old.exists() and kept.exists()
    await a.stop()
