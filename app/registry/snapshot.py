"""A compact snapshot file of a registry, for a fast start (a million physicians in well
under a second).

Layout: the magic line ``YBGSNAP1\\n`` then one msgpack document (msgspec) holding the
distinct physician entries once each, the YB codes as one newline-joined blob, a uint32
array giving each code's entry, the aliases, the institutions (terms with their last day
already folded), the regions, the HIS token hashes and, per region pattern, the registered
codes that fail it. Loading builds the physician map in C (``dict(zip(...))``) from the
blob and the index: no per-physician Python objects besides the code strings, so nothing
is left behind to fragment the heap.

Version 2 (``YBGSNAP2\n``, what is written now) keeps the two blobs out of the msgpack
document: the magic line, the document's length (8 bytes, little-endian), the document
(``codes`` and ``index`` empty, their lengths in ``codes_len``/``index_len``), then the codes
blob, then the index blob. So a dump is a list of pieces (:func:`dump_pieces`): the
shards' cached blobs as they are, never joined into one buffer (at ten million codes each
join was a third of a gigabyte copied while holding the GIL). Version 1 files still load.
Gateway credentials come last in the document, their secrets sealed (never in plaintext);
a file written before them loads with none.

Write it with :func:`write_snapshot` (atomic rename); load it with :func:`load_snapshot`.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import sys
import time
from array import array
from pathlib import Path

import msgspec

from app.registry.compact import Registry
from app.registry.gateway import GatewayPair
from app.registry.judge import Entry, InstitutionState, RegionPolicy
from app.registry.physmap import PhysicianMap

MAGIC = b"YBGSNAP1\n"
MAGIC2 = b"YBGSNAP2\n"
_LEN = struct.Struct("<Q")


class SnapAgreement(msgspec.Struct, array_like=True, gc=False):
    institution: str
    starts_on: dt.date
    ends_on: dt.date | None
    terminated_on: dt.date | None
    suspensions: list[tuple[dt.date, dt.date | None]]


class SnapVisit(msgspec.Struct, array_like=True, gc=False):
    institution: str
    starts_on: dt.date
    ends_on: dt.date


class SnapEntry(msgspec.Struct, array_like=True, gc=False):
    cancellations: list[tuple[dt.date, dt.date | None]]
    agreements: list[SnapAgreement]
    visits: list[SnapVisit]


class SnapInstitution(msgspec.Struct, array_like=True, gc=False):
    code: str
    region: str
    terms: list[tuple[dt.date, dt.date | None]]
    suspensions: list[tuple[dt.date, dt.date | None]]


class SnapRegionVersion(msgspec.Struct, array_like=True, gc=False):
    starts_on: dt.date
    policy: str
    code_pattern: str
    emergency_override: list[str]


class SnapRegion(msgspec.Struct, array_like=True, gc=False):
    code: str
    code_pattern: str
    emergency_override: list[str]
    policy: str = ""
    changes: list[SnapRegionVersion] = []  # later versions of its policy, by date


class SnapGateway(msgspec.Struct, array_like=True, gc=False):
    paasid: str
    institution: str
    scheme: str
    sealed: str  # the secret sealed (app/core/secrets.py): never the secret itself
    valid_until: float  # Unix seconds; inf: until revoked


class SnapshotFile(msgspec.Struct, array_like=True, gc=False):
    version: int
    written_at: float
    entries: list[SnapEntry]
    codes: bytes  # b"\n".join(YB codes), UTF-8
    index: bytes  # array("I"): entry index of each code, native byte order
    byteorder: str
    aliases: dict[str, str]  # YB code -> national alias
    institutions: list[SnapInstitution]
    regions: list[SnapRegion]
    his_tokens: dict[str, str]
    nonconforming: dict[str, list[str]]
    # (shard key, number of codes): the codes come in runs of one shard (physmap.py).
    shards: list[tuple[str, int]] = []
    # Version 2: the blobs follow the document (codes, then index), these long.
    codes_len: int = 0
    index_len: int = 0
    gateway: list[SnapGateway] = []


_decoder = msgspec.msgpack.Decoder(SnapshotFile)


def _entry_row(e: Entry) -> SnapEntry:
    return SnapEntry(
        list(e.cancellations),
        [
            SnapAgreement(
                a.institution, a.starts_on, a.ends_on, a.terminated_on, list(a.suspensions)
            )
            for a in e.agreements
        ],
        [SnapVisit(v.institution, v.starts_on, v.ends_on) for v in e.visits],
    )


class DumpCache:
    """What an incremental dump keeps between dumps of one registry (the relay's): each
    shard's encoded codes and entry indexes, and the entry rows (numbered once, so a
    shard's cached indexes stay right). A dump re-encodes only the shards a patch
    touched since the last one (``Registry.dirty_shards``) and joins the rest as they
    are: at ten million codes a refresh costs the touched shards, not every code."""

    def __init__(self) -> None:
        self.registry: Registry | None = None
        self.slot: dict[Entry, int] = {}  # entries kept alive here: identity is stable
        self.rows: list[SnapEntry] = []
        self.parts: dict[str, tuple[bytes, bytes, int]] = {}  # key -> codes, index, count
        self.encoded = 0  # shards encoded by the last dump

    def prepare(self, reg: Registry) -> set[str] | None:
        """The shards to encode again (None: all of them)."""
        if self.registry is not reg:
            self.__init__()  # type: ignore[misc]
            self.registry = reg
            return None
        return reg.dirty_shards

    def part(self, shard: dict[str, Entry], owners: dict[str, str]) -> tuple[bytes, bytes, int]:
        slot, rows = self.slot, self.rows
        codes: list[str] = []
        index = array("I")
        for code, entry in shard.items():
            if code in owners:
                continue
            if "\n" in code:
                raise ValueError(f"physician code with a newline: {code!r}")
            k = slot.get(entry)
            if k is None:
                k = slot[entry] = len(rows)
                rows.append(_entry_row(entry))
            codes.append(code)
            index.append(k)
        return "\n".join(codes).encode(), index.tobytes(), len(codes)


def dump_pieces(reg: Registry, cache: DumpCache | None = None) -> list[bytes]:
    """Serialise a registry as the pieces of a version-2 snapshot, in order (the caller
    keeps writers out while this runs). With a cache, only the shards changed since the
    cache's last dump are encoded again; the others' blobs are reused as they are."""
    keep = cache is not None
    cache = cache or DumpCache()
    dirty = cache.prepare(reg)
    owners = reg.alias_owner
    parts: dict[str, tuple[bytes, bytes, int]] = {}
    cache.encoded = 0
    for key, shard in reg.physicians.shards.items():
        part = cache.parts.get(key)
        if part is None or dirty is None or key in dirty:
            part = cache.part(shard, owners)
            cache.encoded += 1
        parts[key] = part
    cache.parts = parts
    if keep:
        reg.dirty_shards = set()
    kept = [(key, part) for key, part in parts.items() if part[2]]
    codes: list[bytes] = []
    for _, part in kept:
        codes += (part[0], b"\n")
    codes = codes[:-1]
    index = [part[1] for _, part in kept]
    snap = SnapshotFile(
        version=reg.version,
        written_at=time.time(),
        entries=cache.rows,
        codes=b"",
        index=b"",
        byteorder=sys.byteorder,
        aliases=dict(reg.aliases),
        institutions=[
            SnapInstitution(s.code, s.region, list(s.terms), list(s.suspensions))
            for s in reg.institutions.values()
        ],
        regions=[
            SnapRegion(
                r.code,
                r.pattern.pattern,
                sorted(r.overridable),
                r.policy,
                [
                    SnapRegionVersion(d, v.policy, v.pattern.pattern, sorted(v.overridable))
                    for d, v in r.changes
                ],
            )
            for r in reg.regions.values()
        ],
        his_tokens=dict(reg.tokens),
        nonconforming={k: sorted(v) for k, v in reg.nonconforming.items()},
        shards=[(key, part[2]) for key, part in kept],
        codes_len=sum(map(len, codes)),
        index_len=sum(map(len, index)),
        gateway=[SnapGateway(k, *pair) for k, pair in reg.gateway.items()],
    )
    document = msgspec.msgpack.encode(snap)
    return [MAGIC2, _LEN.pack(len(document)), document, *codes, *index]


def dump_snapshot(reg: Registry, cache: DumpCache | None = None) -> bytes:
    """:func:`dump_pieces` joined."""
    return b"".join(dump_pieces(reg, cache))


def write_snapshot(reg: Registry, path: str | os.PathLike[str]) -> None:
    """Write atomically: a temporary file, fsync, rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        f.writelines(dump_pieces(reg))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


def load_snapshot(path: str | os.PathLike[str]) -> Registry:
    """A registry from a snapshot file."""
    with open(path, "rb") as f:
        return loads_snapshot(f.read(), str(path))


def _document(view: memoryview, name: str) -> SnapshotFile:
    """The msgpack document, its blobs in place (version 2: views into ``view``)."""
    head = bytes(view[: len(MAGIC)])
    if head == MAGIC:
        return _decoder.decode(view[len(MAGIC) :])
    if head != MAGIC2 or len(view) < len(MAGIC2) + _LEN.size:
        raise ValueError(f"{name}: not a ybgate registry snapshot")
    start = len(MAGIC2) + _LEN.size
    (size,) = _LEN.unpack(view[len(MAGIC2) : start])
    snap = _decoder.decode(view[start : start + size])
    at = start + size
    if len(view) != at + snap.codes_len + snap.index_len:
        raise ValueError(f"{name}: {len(view)} bytes, the document says otherwise")
    snap.codes = view[at : at + snap.codes_len]  # type: ignore[assignment]
    snap.index = view[at + snap.codes_len :]  # type: ignore[assignment]
    return snap


def _codes_and_index(snap: SnapshotFile, name: str) -> tuple[list[str], array[int]]:
    """The snapshot's codes and, for each, its entry's position; the blobs let go."""
    index = array("I")
    index.frombytes(snap.index)
    if snap.byteorder != sys.byteorder:
        index.byteswap()
    codes = str(snap.codes, "utf-8").split("\n") if len(snap.codes) else []
    snap.codes = snap.index = b""  # let the blobs go before the map is built
    if len(codes) != len(index):
        raise ValueError(f"{name}: {len(codes)} codes but {len(index)} index entries")
    return codes, index


def _region(r: SnapRegion) -> RegionPolicy:
    """A region's policy versions as the registry holds them."""
    changes = tuple(
        (
            c.starts_on,
            RegionPolicy(r.code, c.code_pattern, frozenset(c.emergency_override), c.policy),
        )
        for c in r.changes
    )
    return RegionPolicy(r.code, r.code_pattern, frozenset(r.emergency_override), r.policy, changes)


def loads_snapshot(data: bytes | memoryview, name: str = "snapshot") -> Registry:
    """A registry from snapshot bytes (:func:`dump_snapshot` output)."""
    snap = _document(memoryview(data), name)
    del data
    reg = Registry(snap.version)
    it = reg.interner
    entries = [
        it.make_entry(
            it.intervals_of(row.cancellations),
            tuple(
                it.make_agreement(
                    a.institution,
                    a.starts_on,
                    a.ends_on,
                    a.terminated_on,
                    it.intervals_of(a.suspensions),
                )
                for a in row.agreements
            ),
            tuple(it.make_visit(v.institution, v.starts_on, v.ends_on) for v in row.visits),
        )
        for row in snap.entries
    ]
    codes, index = _codes_and_index(snap, name)
    values = list(map(entries.__getitem__, index))
    del index
    try:
        reg.physicians = PhysicianMap.from_groups(codes, values, snap.shards)
    except ValueError:  # written before shards, or with other shards: one by one
        reg.physicians = PhysicianMap()
        for code, entry in zip(codes, values, strict=True):
            reg.physicians[code] = entry
    del codes, values
    for code, alias in snap.aliases.items():
        reg.physicians[alias] = reg.physicians[code]
        reg.aliases[code] = alias
        reg.alias_owner[alias] = code
    for s in snap.institutions:
        reg.institutions[s.code] = InstitutionState(
            sys.intern(s.code),
            s.region,
            it.intervals_of(s.terms),
            it.intervals_of(s.suspensions),
        )
    reg.regions = {r.code: _region(r) for r in snap.regions}
    reg.tokens = {k: sys.intern(v) for k, v in snap.his_tokens.items()}
    reg.gateway = {
        g.paasid: GatewayPair(sys.intern(g.institution), g.scheme, g.sealed, g.valid_until)
        for g in snap.gateway
    }
    reg.nonconforming = {k: set(v) for k, v in snap.nonconforming.items()}
    if any(src not in reg.nonconforming for src in reg.patterns()):
        reg.compute_nonconforming()
    return reg
