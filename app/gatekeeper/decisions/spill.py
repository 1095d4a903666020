"""Spill files of the decision log: fsynced frames under ``decision_log_dir``.

A file (``spill-….ybd``) is a sequence of frames, each ``length`` (4 bytes, little
endian), ``crc32`` of the record (4 bytes) and the record: one decision in the compact
encoding of ``app.registry.decision_codec`` (about 130 bytes for 20 lines, against
~2.4 kB for the JSON lines of earlier versions). A frame cut short by a crash, or whose
checksum does not match, ends the readable part of the file; what follows is kept
aside in ``<file>.rejected``. Files of earlier versions (``spill-….jsonl``: JSON lines
``{"institution_code", "decided_ms", "inputs", "response"}``) are still replayed.
Several processes may share the directory: a process holds an exclusive ``flock`` on its
active file, and a replay takes only files it can lock (its own once closed, or those of
processes that are gone).
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import time
import zlib
from collections.abc import Sequence
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import Protocol

import msgspec

from app.registry import decision_codec as codec

log = logging.getLogger("ybgate.decisions")


class LineInput(Protocol):
    """What a decided line keeps for its explanation (a ``SettlementLine`` is one)."""

    @property
    def physician_code(self) -> str: ...
    @property
    def service_date(self) -> date: ...
    @property
    def emergency(self) -> bool: ...
    @property
    def performer_code(self) -> str | None: ...


# One decision as the hot path queues it:
# (decision_id, decided_ms, settlement_id, institution, version, outcome, accepted,
#  rejected, response body, the lines' inputs as JSON (``inputs_json``, encoded once))
Item = tuple[str, int, str, str, int, str, str, str, bytes, bytes]
SUFFIX = ".ybd"
_FRAME = struct.Struct("<II")
_IOV_MAX = min(1024, os.sysconf("SC_IOV_MAX"))
ROTATE_BYTES = 16 << 20  # a spill file is closed past this size (replays read whole files)


class Response(msgspec.Struct, gc=False):
    settlement_id: str
    decision_id: str
    registry_version: int
    outcome: str
    accepted_amount: str
    rejected_amount: str
    lines: msgspec.Raw


class SpillEntry(msgspec.Struct, gc=False):
    """One spilled decision: the response as the client got it, plus what it lacks."""

    institution_code: str
    decided_ms: int
    response: Response
    inputs: msgspec.Raw = msgspec.Raw(b"null")  # files of earlier versions lack it


_decoder = msgspec.json.Decoder(SpillEntry)
_encode = msgspec.json.encode
_performer = attrgetter("performer_code")


class _Upstream(msgspec.Struct, gc=False):
    upstream_infcode: int | None = None
    upstream_error: str | None = None


_upstream = msgspec.json.Decoder(_Upstream)
UPSTREAM_KEY = b',"upstream_infcode":'


def upstream_of(body: bytes) -> tuple[int | None, str | None]:
    """(upstream_infcode, upstream_error) of a decision forwarded in 前置 mode (national/
    forward.py puts them in the stored response), else (None, None)."""
    if UPSTREAM_KEY not in body:
        return None, None
    found = _upstream.decode(body)
    return found.upstream_infcode, found.upstream_error


def inputs_json(lines: Sequence[LineInput]) -> bytes:
    """The lines' inputs as ``[[physician_code, service_date, emergency], ...]``: encoded
    once per decision, for the journal and the decision log's row alike. A line naming a
    second staff code (``performer_code``) carries it fourth."""
    if not any(map(_performer, lines)):  # the usual case: one pass in C, then as before
        return _encode([(ln.physician_code, ln.service_date, ln.emergency) for ln in lines])
    return _encode(
        [
            (ln.physician_code, ln.service_date, ln.emergency, ln.performer_code)
            if ln.performer_code
            else (ln.physician_code, ln.service_date, ln.emergency)
            for ln in lines
        ]
    )


# Decisions the journal encoded on the hot path, kept for the decision log's worker
# (encoded once per decision; bounded: cleared past MEMO_MAX).
_memo: dict[str, codec.Decision] = {}
MEMO_MAX = 50_000


def decode_item(item: Item, *, keep: bool = False) -> codec.Decision:
    """A queued decision in the compact encoding; ``keep``: for a later call too."""
    d = _memo.get(item[0]) if keep else _memo.pop(item[0], None)
    if d is None:
        did, _, sid, inst, version, outcome, acc, rej, body, inputs = item
        d = codec.from_answer(
            did, sid, inst, version, outcome, acc, rej, body, inputs, upstream_of(body)
        )
        if keep:
            if len(_memo) >= MEMO_MAX:
                _memo.clear()
            _memo[did] = d
    return d


def frame(record: bytes) -> bytes:
    return _FRAME.pack(len(record), zlib.crc32(record)) + record


def spill_buffers(batch: list[Item], *, keep: bool = False) -> list[bytes]:
    """The batch as frames, as buffers for ``os.writev`` (``keep``: the journal's, the
    decision log's worker will want the same decisions)."""
    return [frame(codec.encode(decode_item(item, keep=keep))) for item in batch]


def spill_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted([*directory.glob(f"spill-*{SUFFIX}"), *directory.glob("spill-*.jsonl")])


class SpillWriter:
    """The active spill file of this process (blocking calls: run them in a thread)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.fd: int | None = None
        self.size = 0

    def append(self, buffers: list[bytes]) -> None:
        """Append and fsync; the batch counts as kept only when this returns."""
        if self.fd is not None and self.size > ROTATE_BYTES:
            self.close()
        if self.fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"spill-{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
            fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.fd, self.size = fd, 0
        self.size += write_all(self.fd, buffers)
        os.fsync(self.fd)

    def close(self) -> None:
        """Close (and unlock) the active file: the next append starts a new one."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def write_all(fd: int, buffers: list[bytes]) -> int:
    """``os.writev`` in chunks of at most IOV_MAX buffers, resuming short writes; the
    number of bytes written."""
    i = total = 0
    while i < len(buffers):
        chunk = buffers[i : i + _IOV_MAX]
        written = os.writev(fd, chunk)
        i += len(chunk)
        size = sum(map(len, chunk))
        total += size
        if written < size:
            rest = b"".join(chunk)[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
    return total


def claim(path: Path) -> tuple[int, list[codec.Decision]] | None:
    """Lock a spill file (None: another process holds it) and read its decisions; the
    caller deletes it once replayed, then closes the returned descriptor. What does not
    parse (a write torn by a crash) is kept aside in ``<file>.rejected``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    with os.fdopen(os.dup(fd), "rb") as f:
        data = f.read()
    rows, bad = _read_json(data) if path.suffix == ".jsonl" else read_frames(data)
    if bad:
        log.error("decision log: %d unreadable bytes in %s kept aside", len(bad), path.name)
        with open(path.with_name(path.name + ".rejected"), "ab") as out:
            out.write(bad)
    return fd, rows


def read_frames(data: bytes) -> tuple[list[codec.Decision], bytes]:
    rows: list[codec.Decision] = []
    pos, end = 0, len(data)
    while pos + _FRAME.size <= end:
        size, crc = _FRAME.unpack_from(data, pos)
        record = data[pos + _FRAME.size : pos + _FRAME.size + size]
        if len(record) < size or zlib.crc32(record) != crc:
            break
        try:
            rows.append(codec.decode(record))
        except (codec.CodecError, ValueError, IndexError):
            break
        pos += _FRAME.size + size
    return rows, data[pos:]


def _read_json(data: bytes) -> tuple[list[codec.Decision], bytes]:
    """A spill file of an earlier version (JSON lines)."""
    rows: list[codec.Decision] = []
    bad: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if not line.strip():
            continue
        try:
            e = _decoder.decode(line)
            r = e.response
            rows.append(
                codec.from_answer(
                    r.decision_id,
                    r.settlement_id,
                    e.institution_code,
                    r.registry_version,
                    r.outcome,
                    r.accepted_amount,
                    r.rejected_amount,
                    b'{"lines":' + bytes(r.lines) + b"}",
                    bytes(e.inputs),
                )
            )
        except (msgspec.DecodeError, ValueError, KeyError):
            bad.append(line)
    return rows, b"".join(bad)
