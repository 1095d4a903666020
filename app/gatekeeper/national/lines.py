"""Fee lines as clients write them, read the one way both paths agree on (the C fast path
takes only lines where these readings are trivial, and is held to the same bytes).

* ``feedetl_sn``: a string, or an integer counter echoed as its decimal text.
* ``bilg_dr_codg``: null or absent is judged like an empty code (CODE_MALFORMED).
* Emergency, per line, the first that applies: the line's own marker (``exp_content``
  with ``"er_flag": "1"``; on 2301 the line's ``med_type``) -> on 2204 the wrapper's
  ``med_type`` -> the visit's ``med_type`` as 2201/2203/2401 told it (visit memory) ->
  not an emergency. ``med_type`` 13 (急诊) and 24 (急诊转住院) are emergencies; an empty
  ``med_type`` (a client writing "" for unset) is absent, like null.
* ``exp_content``: an object, a list of objects, or a string holding either.
* The line memory's text of a message (``decisions/recent.py``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.gatekeeper.national.render import Malformed
from app.gatekeeper.national.schemas import FeeDetail

EMERGENCY_MED_TYPES = frozenset({"13", "24"})
_exp_decode = msgspec.json.Decoder(dict[str, Any] | list[Any] | str)
_EXP_MESSAGE = "须为对象、对象数组或内容为 JSON 的字符串"


def sn_text(sn: str | int) -> str:
    return sn if isinstance(sn, str) else str(sn)


def er_flag(index: int, raw: msgspec.Raw) -> bool | None:
    """``exp_content``'s ``er_flag``: True for "1", False for another value, None when
    the line has none; Malformed naming the field when it is not one of its shapes."""
    text = bytes(raw)
    if not text or text == b"null" or text == b'""':
        return None
    try:
        value: Any = _exp_decode.decode(text)
        if isinstance(value, str):
            value = _exp_decode.decode(value) if value.strip() else None
    except msgspec.DecodeError:
        raise Malformed(f"input.feedetail[{index}].exp_content", _EXP_MESSAGE) from None
    items = value if isinstance(value, list) else [] if value is None else [value]
    flags = []
    for item in items:
        if not isinstance(item, dict):
            raise Malformed(f"input.feedetail[{index}].exp_content", _EXP_MESSAGE)
        flag = item.get("er_flag")
        if flag is not None and flag != "":
            flags.append(str(flag) == "1")
    return any(flags) if flags else None


def emergencies(
    infno: str, wrapper_med_type: str | None, fees: list[FeeDetail], visits: dict[str, float] | None
) -> int | list[int]:
    """Each line's emergency flag (see the module doc); one int when every line takes
    the wrapper's (2204 with ``med_type`` and no line marker)."""
    markers = [er_flag(i, ln.exp_content) for i, ln in enumerate(fees)]
    wrapper = wrapper_med_type if infno == "2204" and wrapper_med_type else None
    if wrapper is not None and not any(m is not None for m in markers):
        return 1 if wrapper in EMERGENCY_MED_TYPES else 0
    out: list[int] = []
    for ln, marker in zip(fees, markers, strict=True):
        own = infno == "2301" and bool(ln.med_type)
        if marker is not None or own:
            out.append(int(bool(marker) or (own and ln.med_type in EMERGENCY_MED_TYPES)))
        elif wrapper is not None:
            out.append(int(wrapper in EMERGENCY_MED_TYPES))
        else:
            out.append(int(visits is not None and bool(ln.mdtrt_id) and ln.mdtrt_id in visits))
    return out


def memory_text(
    fees: list[FeeDetail], sns: list[str], letters: str
) -> tuple[bytes, str | None] | None:
    """The line memory's text of a decided message and its one visit (None when the
    lines name several); None when an id holds a tab or a line break (not kept)."""
    rows = []
    for ln, sn, letter in zip(fees, sns, letters, strict=True):
        rows.append(f"{ln.mdtrt_id or ''}\t{sn}\t{ln.chrg_bchno or ''}\t{letter}\n")
    text = "".join(rows)
    if text.count("\t") != 3 * len(rows) or text.count("\n") != len(rows):
        return None
    visits = {ln.mdtrt_id or "" for ln in fees}
    return text.encode(), visits.pop() if len(visits) == 1 else None


def refund_of(ln: FeeDetail) -> str | None:
    """The original line a refund line names (``init_feedetl_sn``), None when none."""
    init = ln.init_feedetl_sn
    if init is None or init == "":
        return None
    return sn_text(init)
