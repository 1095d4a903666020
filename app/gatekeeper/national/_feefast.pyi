"""csrc/: 2204/2301 fee uploads scanned and judged in C (see app/gatekeeper/national/fast.py)."""

from collections.abc import Mapping

from app.registry.judge import LineResult, Verdict

# (results, answer lines, plain lines, inputs JSON, err_msg listing, rejected lines,
#  record letters, accepted lines, accepted cents, rejected cents, the line memory's text,
#  the one visit of every line ("" none, None several))
Judged = tuple[
    list[LineResult], bytes, bytes, bytes, bytes, int, str, int, int, int, bytes, str | None
]

class Scanned:
    infno: str
    msgid: str
    fixmedins_code: str
    med_type: str | None
    days: tuple[str, ...]  # the distinct dates of fee_ocur_time, yyyy-MM-dd
    n: int
    def judge(
        self,
        tables: tuple[Mapping[str, Verdict], ...],
        emergency: int,
        visits: Mapping[str, float] | None = None,
        /,
    ) -> Judged | None: ...

def scan(body: bytes, max_lines: int, /) -> Scanned | None: ...
def setup(
    results: tuple[LineResult, ...],
    ok: tuple[bool, ...],
    letters: str,
    ans_next: tuple[bytes, ...],
    ans_last: tuple[bytes, ...],
    plain_next: tuple[bytes, ...],
    plain_last: tuple[bytes, ...],
    listed: tuple[bytes, ...],
    mid: bytes,
    sep: bytes,
    /,
) -> None: ...
