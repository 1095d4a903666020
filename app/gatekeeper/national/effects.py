"""What a national-format message leaves behind besides its answer, for the server that
answers it to carry out (the ASGI handler awaits it; the inline protocol, without Redis,
does it on the event loop): visits to remember (2201/2203/2401) and withdrawals to
journal (2205/2302). The answer is sent only once they are done."""

from __future__ import annotations

from app.gatekeeper.decisions.withdrawals import Withdrawn


class After:
    __slots__ = ("inst", "visits", "withdrawals")

    def __init__(
        self,
        inst: str,
        visits: list[tuple[str, bool]] | None = None,
        withdrawals: list[Withdrawn] | None = None,
    ) -> None:
        self.inst = inst
        self.visits = visits or []  # (mdtrt_id, emergency)
        self.withdrawals = withdrawals or []
