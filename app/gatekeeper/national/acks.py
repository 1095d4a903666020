"""2201 (挂号), 2203 (就诊信息上传) and 2401 (入院办理): acknowledged (``infcode`` 0), and
the visit's 医疗类别 kept: ``input.mdtrtinfo.mdtrt_id`` -> ``med_type`` (visit memory,
``decisions/visits.py``), so that a later 2204/2301 line of that visit without its own
marker is judged with it.

2203 needs both fields (the platform's own required ones); 2401 needs ``med_type`` (its
``mdtrt_id`` is the platform's answer: a request without one is acknowledged, nothing
kept); 2201 carries the visit in ``input.data`` without a 医疗类别, so only an
``input.mdtrtinfo`` a client adds is kept.
"""

from __future__ import annotations

from app.gatekeeper.national.effects import After
from app.gatekeeper.national.lines import EMERGENCY_MED_TYPES
from app.gatekeeper.national.render import Malformed, decode_part, ok_answer
from app.gatekeeper.national.requests import mdtrtinfo_decoder
from app.gatekeeper.national.schemas import HsaMessage

VISIT_INFNOS = frozenset({"2201", "2203", "2401"})


def visit_ack(infno: str, message: HsaMessage, inst: str, received: str) -> tuple[bytes, After]:
    """The acknowledgement, and the visit to remember."""
    raw = bytes(message.input.mdtrtinfo)
    after = After(inst)
    if infno == "2201" and raw in (b"", b"null"):
        return ok_answer(received, {"ybgate": {"visit": None}}), after
    info = decode_part(mdtrtinfo_decoder, message.input.mdtrtinfo, "input.mdtrtinfo")
    required = ("mdtrt_id", "med_type") if infno == "2203" else ("med_type",) * (infno == "2401")
    for name in required:
        if not getattr(info, name):
            raise Malformed(f"input.mdtrtinfo.{name}", "field required")
    visit = None
    if info.mdtrt_id and info.med_type:
        emergency = info.med_type in EMERGENCY_MED_TYPES
        after.visits.append((info.mdtrt_id, emergency))
        visit = {"mdtrt_id": info.mdtrt_id, "med_type": info.med_type, "emergency": emergency}
    return ok_answer(received, {"ybgate": {"visit": visit}}), after
