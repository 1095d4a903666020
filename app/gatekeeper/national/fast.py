"""The fast path of ``POST /v1/hsa`` fee uploads: the message scanned, judged and
written in C (``csrc/``, built into ``app.gatekeeper.national._feefast`` at install).

Optional: the extension is built only where a C compiler and Python's headers are
present (``setup.py``: ``optional=True``), and ``YBGATE_HSA_FAST_PATH=off`` switches it
off. Without it :func:`scan` answers None and the reference serves every message: the
same answers, a little later. Start-up logs which path is active, ``/metrics`` says it
(``ybgate_hsa_fast_path_active``).

Same registry, same judgement: the C code reads the institution's memo table for the
service date (``InstContext.tables``, the table ``upload.judge_fees`` reads), the
institution's emergency visits (visit memory: ``lines.emergencies`` reads the same dict)
and writes the fragments of ``render``/``LineResult`` given to it here, once, plus the
line memory's text of the message. It takes a strict subset of messages: at most 128
service dates, each within the service-date rule (``day_in_bounds``), ASCII judged
fields and ids, no escape anywhere, no repeated key, every line carrying a non-negative
amount whose value has at most two decimals (``58``, ``58.5``, ``58.50``, ``"58.0000"``:
a number or a string), a string or integer ``feedetl_sn``, a ``bilg_dr_codg`` string,
``cnt``/``pric`` plain numbers, decimal strings or null, no refund reference
(``init_feedetl_sn``) and no ``exp_content`` (null or "" aside), no ``input.data``; a
leading byte-order mark, any indentation and line ends (CRLF), null optional fields and
shuffled key order are in it. Anything else, a memo miss included, returns None and the
reference (msgspec + ``upload.fee_judge``) decides, so every malformed message gets the
reference's answer naming its field. ``tests/gatekeeper/test_hsa_fast.py`` holds the
two to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.gatekeeper.decisions.idempotency import Record
from app.gatekeeper.host.runtime import Host
from app.gatekeeper.national.fee import FeeDecision, day_of, fingerprint
from app.gatekeeper.national.lines import EMERGENCY_MED_TYPES
from app.gatekeeper.national.render import FAST_FRAGMENTS, RESULT_CHAR, err_msg_listed, now_text
from app.gatekeeper.plain.checks import day_in_bounds
from app.gatekeeper.plain.decide import money
from app.registry.judge import ALL_RESULTS
from app.registry.memo import STATS as MEMO

if TYPE_CHECKING:
    from datetime import date

    from app.gatekeeper.host.runtime import Runtime
    from app.gatekeeper.national._feefast import Judged, Scanned
    from app.registry.memo import InstContext


def _no_scan(body: bytes, max_lines: int) -> Scanned | None:
    return None


scan: Callable[[bytes, int], Scanned | None] = _no_scan
try:
    from app.gatekeeper.national import _feefast
except ImportError:  # built without a C compiler: the reference path serves
    BUILT = False
else:
    BUILT = True
    _feefast.setup(
        ALL_RESULTS,
        tuple(r.ok for r in ALL_RESULTS),
        "".join(RESULT_CHAR[r] for r in ALL_RESULTS),
        *FAST_FRAGMENTS,
    )
    scan = _feefast.scan


def active(setting: str) -> bool:
    """Whether the fast path serves, for ``YBGATE_HSA_FAST_PATH`` = ``setting``."""
    return BUILT and setting != "off"


def describe(setting: str) -> str:
    """The start-up log line: which path serves the usual 2204/2301 message, and why."""
    if setting == "off":
        return "POST /v1/hsa: C fast path off (YBGATE_HSA_FAST_PATH=off); the reference serves"
    if not BUILT:
        return (
            "POST /v1/hsa: C fast path not built (no C compiler or Python headers at "
            "install); the reference serves"
        )
    return "POST /v1/hsa: C fast path active (app.gatekeeper.national._feefast)"


def emergency_of(scanned: Scanned) -> int:
    """2204 with a wrapper med_type: every line by it (0/1); 2301: each line's own, else
    its visit's (-1); 2204 without one: each line's visit's (-2). See lines.emergencies."""
    if scanned.infno == "2301":
        return -1
    if not scanned.med_type:
        return -2
    return 1 if scanned.med_type in EMERGENCY_MED_TYPES else 0


def judge(
    ctx: InstContext, scanned: Scanned, days: list[date], visits: dict[str, float] | None
) -> Judged | None:
    """The scanned lines judged on the memo tables of their dates (``days``: the dates of
    ``scanned.days``); None on a miss (the general path fills the memo). The caller holds
    the store's lock."""
    if ctx.epoch != ctx.budget[1]:  # the memo started a new epoch (see memo.py)
        return None
    get = ctx.tables.get
    tables = tuple(map(get, days))
    if None in tables:
        return None
    return scanned.judge(tables, emergency_of(scanned), visits)  # type: ignore[arg-type]


def fast_judge(
    app: Host, rt: Runtime, inst: str, scanned: Scanned, body: bytes, received: str
) -> FeeDecision | None:
    """A message of the fast subset judged in C, its msgid record made; None where the
    reference must decide (no such day, a day out of bounds, a memo miss, sums past 64
    bits)."""
    try:
        days = list(map(day_of, scanned.days))
    except ValueError:
        return None
    if not all(map(day_in_bounds, days)):
        return None
    visits = rt.visits.of(inst)
    store = app.store
    with store.lock:
        reg = store.current
        assert reg is not None
        ctx = reg.contexts.get(inst) or reg.context(inst)
        judged = judge(ctx, scanned, days, visits)
        version = reg.version
    if judged is None:
        return None
    results, lines, plain, inputs, listed, n_bad, codes, _, acc, rej, memory, visit = judged
    MEMO.lookups += scanned.n
    fee = FeeDecision(inst, scanned.msgid, body, [])
    fee.results, fee.version = results, version
    outcome = "accept" if not n_bad else "reject" if n_bad == len(results) else "partial"
    fee.summed = (outcome, money(acc), money(rej))
    fee.fast = (lines, plain, inputs, err_msg_listed(n_bad, listed))
    did, ms = app.new_id()
    fee.rec = Record(fingerprint(body), did, ms, version, received, now_text(), codes)
    fee.memory = (memory, visit)
    return fee
