"""Spill files of the decision log: fsynced JSON lines under ``decision_log_dir``.

A line is ``{"institution_code", "decided_ms", "inputs", "response"}`` with the response
body exactly as the client received it (written with ``os.writev``: never copied in
Python) and the lines' inputs (``inputs_json``; absent in files of earlier versions).
Several processes may share the directory: a process holds an exclusive ``flock`` on its
active file, and a replay takes only files it can lock (its own once closed, or those of
processes that are gone).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Sequence
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import Protocol

import msgspec

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
LINES_KEY = b'"lines":['
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
_heads: dict[str, bytes] = {}


_encode = msgspec.json.encode
_performer = attrgetter("performer_code")


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


def lines_json(body: bytes) -> bytes:
    """The response's ``lines`` array (the last member of the object)."""
    return body[body.index(LINES_KEY) + len(LINES_KEY) - 1 : -1]


def spill_buffers(batch: list[Item]) -> list[bytes]:
    """The batch as JSON lines, as buffers for ``os.writev``."""
    out: list[bytes] = []
    add = out.append
    for item in batch:
        head = _heads.get(item[3])
        if head is None:
            if len(_heads) > 10_000:
                _heads.clear()
            head = _heads[item[3]] = b'{"institution_code":%b,"decided_ms":' % (
                msgspec.json.encode(item[3])
            )
        add(b'%b%d,"inputs":%b,"response":' % (head, item[1], item[9]))
        add(item[8])
        add(b"}\n")
    return out


def spill_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob("spill-*.jsonl"))


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
            name = f"spill-{time.time_ns():020d}-{os.getpid()}.jsonl"
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


def claim(path: Path) -> tuple[int, list[SpillEntry]] | None:
    """Lock a spill file (None: another process holds it) and read its entries; the
    caller deletes it once replayed, then closes the returned descriptor. Lines that do
    not parse (a write torn by a crash) are kept aside in ``<file>.rejected``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    rows, bad = [], []
    with os.fdopen(os.dup(fd), "rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rows.append(_decoder.decode(line))
            except msgspec.DecodeError:
                bad.append(line)
    if bad:
        log.error("decision log: %d unreadable lines in %s kept aside", len(bad), path.name)
        with open(path.with_name(path.name + ".rejected"), "ab") as out:
            out.writelines(bad)
    return fd, rows
