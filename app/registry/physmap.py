"""The physician map: code (or national alias) -> shared entry, sharded by the code's last
four characters.

Why shards: a registry of ten million codes in one dict takes ~7 s of CPU to build (every
insert and every resize is a cache miss in a 400 MB table); ten thousand dicts of a
thousand, each built while it fits in the CPU cache, take well under 2 s. And the relay's
snapshot refresh encodes again only the shards changed since its last one
(``snapshot.DumpCache``): the smaller the shards, the less a scattered write costs. The snapshot
stores the codes grouped by shard (app/registry/snapshot.py), so loading builds each
shard with one ``dict(zip(...))`` over a slice. Lookups cost one more small dict lookup,
and only on a memo miss: the hot path looks codes up in the memo (app/registry/memo.py).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, MutableMapping
from itertools import chain
from typing import TypeVar, overload

from app.registry.judge import Entry

_MISSING = object()
T = TypeVar("T")


def shard_key(code: str) -> str:
    return code[-4:]


class PhysicianMap(MutableMapping[str, Entry]):
    __slots__ = ("_len", "shards")

    def __init__(self) -> None:
        self.shards: dict[str, dict[str, Entry]] = {}
        self._len = 0

    @classmethod
    def from_groups(
        cls, codes: list[str], entries: list[Entry], groups: list[tuple[str, int]]
    ) -> PhysicianMap:
        """``codes[i] -> entries[i]``, the codes in runs of one shard each: ``groups`` is
        ``(shard key, run length)`` in order (app/registry/snapshot.py writes them)."""
        out = cls()
        start = 0
        for key, count in groups:
            end = start + count
            shard = dict(zip(codes[start:end], entries[start:end], strict=True))
            if any(shard_key(c) != key for c in (codes[start], codes[end - 1])):
                raise ValueError(f"shard {key!r} holds codes of another shard")
            out.shards[key] = shard
            out._len += len(shard)
            start = end
        if start != len(codes) or (codes and not groups):
            raise ValueError(f"shards cover {start} of {len(codes)} codes")
        return out

    @overload
    def get(self, code: str, /) -> Entry | None: ...
    @overload
    def get(self, code: str, default: Entry, /) -> Entry: ...
    @overload
    def get(self, code: str, default: T, /) -> Entry | T: ...
    def get(self, code: str, default: object = None) -> object:
        shard = self.shards.get(code[-4:])
        return default if shard is None else shard.get(code, default)

    def __getitem__(self, code: str) -> Entry:
        shard = self.shards.get(code[-4:])
        if shard is None:
            raise KeyError(code)
        return shard[code]

    def __setitem__(self, code: str, entry: Entry) -> None:
        key = code[-4:]
        shard = self.shards.get(key)
        if shard is None:
            shard = self.shards[key] = {}
        size = len(shard)
        shard[code] = entry
        self._len += len(shard) - size

    def __delitem__(self, code: str) -> None:
        shard = self.shards.get(code[-4:])
        if shard is None:
            raise KeyError(code)
        del shard[code]
        self._len -= 1

    def discard(self, code: str) -> None:
        shard = self.shards.get(code[-4:])
        if shard is not None and shard.pop(code, _MISSING) is not _MISSING:
            self._len -= 1

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        shard = self.shards.get(code[-4:])
        return shard is not None and code in shard

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self.shards.values())

    def __len__(self) -> int:
        return self._len

    def items(self) -> ItemsView[str, Entry]:
        return _Items(self)

    def copy(self) -> PhysicianMap:
        """A shallow copy (shard by shard, in C): a consistent view for another thread."""
        out = PhysicianMap()
        out.shards = {k: s.copy() for k, s in self.shards.items()}
        out._len = self._len
        return out

    def pairs(self) -> Iterator[tuple[str, Entry]]:
        """(code, entry) shard by shard: what a snapshot writes (faster than items())."""
        return chain.from_iterable(s.items() for s in self.shards.values())


class _Items(ItemsView[str, Entry]):
    _mapping: PhysicianMap

    def __iter__(self) -> Iterator[tuple[str, Entry]]:
        return self._mapping.pairs()
