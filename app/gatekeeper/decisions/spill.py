"""Spill files of the decision log: fsynced frames under ``decision_log_dir``.

A file (``spill-….ybz``) is one zstd stream cut into frames, each ``length`` (4 bytes,
little endian), ``crc32`` of the chunk (4 bytes) and the chunk: the stream flushed at the
end of a write (a block boundary, so every frame decodes with those before it). The
stream holds JSON lines ``{"institution_code", "decided_ms", "inputs", "response"}``, the
response body exactly as the client received it: the hot path only concatenates bytes it
already has (no parsing, no encoding per line), and zstd makes ~2.6 kB of JSON for 20
lines ~0.2–0.3 kB on disk (docs/capacity.md). The compact encoding of
``app.registry.decision_codec`` is made off the hot path, by the decision log's worker,
for the database's rows. A frame cut short by a crash, or whose checksum does not match,
ends the readable part of the file; what follows is kept aside in ``<file>.rejected``.
Files of earlier versions are still replayed: ``spill-….ybd`` (frames of one compact
record each) and ``spill-….jsonl`` (the JSON lines, uncompressed).
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
import zstandard

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
SUFFIX = ".ybz"
COMPACT_SUFFIX = ".ybd"  # files of the previous version: one compact record a frame
FRAME = struct.Struct("<II")
_IOV_MAX = min(1024, os.sysconf("SC_IOV_MAX"))
ROTATE_BYTES = 16 << 20  # of JSON (before zstd): a spill file is closed past it (a
# replay reads and decompresses a whole file)


class Response(msgspec.Struct, gc=False):
    settlement_id: str
    decision_id: str
    registry_version: int
    outcome: str
    accepted_amount: str
    rejected_amount: str
    lines: msgspec.Raw
    upstream_infcode: int | None = None  # 前置 mode (national/forward.py)
    upstream_error: str | None = None


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


def decode_item(item: Item) -> codec.Decision:
    """A queued decision in the compact encoding (the worker's rows, the read side)."""
    did, _, sid, inst, version, outcome, acc, rej, body, inputs = item
    return codec.from_answer(
        did, sid, inst, version, outcome, acc, rej, body, inputs, upstream_of(body)
    )


def frame(record: bytes) -> bytes:
    return FRAME.pack(len(record), zlib.crc32(record)) + record


_heads: dict[str, bytes] = {}


def json_buffers(batch: list[Item]) -> list[bytes]:
    """The batch as JSON lines, as buffers (the response body is not copied)."""
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


class Packer:
    """The zstd stream of one file: each ``pack`` is one frame (a flushed block)."""

    LEVEL = 1  # measured: ~2.5x less CPU than zlib level 1, and fewer bytes

    def __init__(self) -> None:
        self._z = zstandard.ZstdCompressor(level=self.LEVEL).compressobj()

    def pack(self, buffers: list[bytes]) -> bytes:
        z = self._z
        return frame(z.compress(b"".join(buffers)) + z.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))


def spill_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        [
            *directory.glob(f"spill-*{SUFFIX}"),
            *directory.glob(f"spill-*{COMPACT_SUFFIX}"),
            *directory.glob("spill-*.jsonl"),
        ]
    )


class SpillWriter:
    """The active spill file of this process (blocking calls: run them in a thread)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.fd: int | None = None
        self.size = 0
        self._packer = Packer()

    def append(self, batch: list[Item]) -> None:
        """Append and fsync; the batch counts as kept only when this returns."""
        if self.fd is not None and self.size > ROTATE_BYTES:
            self.close()
        if self.fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"spill-{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
            fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.fd, self.size, self._packer = fd, 0, Packer()
        try:
            bufs = json_buffers(batch)
            write_all(self.fd, [self._packer.pack(bufs)])
            self.size += sum(map(len, bufs))
            os.fsync(self.fd)
        except OSError:
            self.close()  # the stream is cut: what follows goes to a new file
            raise

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


def lock_and_read(path: Path) -> tuple[int, bytes] | None:
    """Lock a spill file and read its bytes: (the locked descriptor, the bytes), None
    when another process holds it or it is gone. The caller closes the descriptor."""
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
        return fd, f.read()


def claim(path: Path) -> tuple[int, list[codec.Decision]] | None:
    """Lock a spill file (None: another process holds it) and read its decisions; the
    caller deletes it once replayed, then closes the returned descriptor. What does not
    parse (a write torn by a crash) is kept aside in ``<file>.rejected``."""
    locked = lock_and_read(path)
    if locked is None:
        return None
    fd, data = locked
    rows, bad = read_spill(path.suffix, data)
    if bad:
        log.error("decision log: %d unreadable bytes in %s kept aside", len(bad), path.name)
        with open(path.with_name(path.name + ".rejected"), "ab") as out:
            out.write(bad)
    return fd, rows


def read_spill(suffix: str, data: bytes) -> tuple[list[codec.Decision], bytes]:
    """The decisions of a spill file's bytes, and what could not be read."""
    if suffix == ".jsonl":
        return read_json(data)
    if suffix == COMPACT_SUFFIX:
        return read_frames(data)
    text, bad = unpack_frames(data)
    rows, torn = read_json(text)
    return rows, torn + bad


def unpack_frames(data: bytes) -> tuple[bytes, bytes]:
    """The JSON lines of a ``.ybz`` file, and the bytes past its last whole frame."""
    z = zstandard.ZstdDecompressor().decompressobj()
    out: list[bytes] = []
    pos, end = 0, len(data)
    while pos + FRAME.size <= end:
        size, crc = FRAME.unpack_from(data, pos)
        chunk = data[pos + FRAME.size : pos + FRAME.size + size]
        if len(chunk) < size or zlib.crc32(chunk) != crc:
            break
        try:
            out.append(z.decompress(chunk))
        except zstandard.ZstdError:
            break
        pos += FRAME.size + size
    return b"".join(out), data[pos:]


def read_frames(data: bytes) -> tuple[list[codec.Decision], bytes]:
    """A ``.ybd`` file (one compact record a frame)."""
    rows: list[codec.Decision] = []
    pos, end = 0, len(data)
    while pos + FRAME.size <= end:
        size, crc = FRAME.unpack_from(data, pos)
        record = data[pos + FRAME.size : pos + FRAME.size + size]
        if len(record) < size or zlib.crc32(record) != crc:
            break
        try:
            rows.append(codec.decode(record))
        except (codec.CodecError, ValueError, IndexError):
            break
        pos += FRAME.size + size
    return rows, data[pos:]


def read_json(data: bytes) -> tuple[list[codec.Decision], bytes]:
    """JSON lines (a ``.ybz`` file's stream, or a ``.jsonl`` file)."""
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
                    (r.upstream_infcode, r.upstream_error),
                )
            )
        except (msgspec.DecodeError, ValueError, KeyError):
            bad.append(line)
    return rows, b"".join(bad)
