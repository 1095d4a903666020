"""The stand-in platform's answers, in the platform's wrapper (国家医疗保障信息平台 接口规范:
``infcode`` 0 success, -1 failure; ``output`` per transaction). 2201 (挂号) answers
``output.data`` with the ``mdtrt_id`` the platform assigns, 2401 (入院办理)
``output.result`` with one; 2204/2301 ``output.result`` with one element per
``feedetail`` line (``feedetl_sn``, ``det_item_fee_sumamt``, ``cnt``, ``pric``, and the
self-pay split the platform computes, zero here); everything else ``output: {}``."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_ids = itertools.count(1)
BOM = b"\xef\xbb\xbf"


def _now() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")


def _message(body: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body[3:] if body.startswith(BOM) else body)
    except (UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("infno"), str) else None


def _part(doc: dict[str, Any], *path: str) -> dict[str, Any]:
    for name in path:
        nxt = doc.get(name) if isinstance(doc, dict) else None
        doc = nxt if isinstance(nxt, dict) else {}
    return doc


def _output(infno: str, doc: dict[str, Any], serial: int) -> dict[str, Any]:
    if infno in ("2201", "2401"):
        data = _part(doc, "input", "data") or _part(doc, "input", "mdtrtinfo")
        visit = {
            "mdtrt_id": f"MD{serial:012d}",
            "psn_no": data.get("psn_no"),
            "ipt_otp_no": data.get("ipt_otp_no") or data.get("ipt_no"),
        }
        return {"data": visit} if infno == "2201" else {"result": visit}
    if infno in ("2204", "2301"):
        lines = _part(doc, "input").get("feedetail")
        result = [
            {
                "feedetl_sn": ln.get("feedetl_sn"),
                "det_item_fee_sumamt": ln.get("det_item_fee_sumamt"),
                "cnt": ln.get("cnt"),
                "pric": ln.get("pric"),
                "fulamt_ownpay_amt": 0,
                "preselfpay_amt": 0,
                "inscp_scp_amt": ln.get("det_item_fee_sumamt"),
            }
            for ln in (lines if isinstance(lines, list) else [])
            if isinstance(ln, dict)
        ]
        return {"result": result}
    return {}


def answer(body: bytes, infcode: int = 0) -> bytes:
    """The wrapper answering ``body``; ``infcode`` other than 0: the platform refused it."""
    serial = next(_ids)
    doc = _message(body)
    now = _now()
    wrapper: dict[str, Any] = {
        "infcode": infcode,
        "inf_refmsgid": f"SI{serial:020d}",
        "refmsg_time": now,
        "respond_time": now,
        "err_msg": None,
        "warn_msg": None,
        "cainfo": None,
        "signtype": None,
        "output": None,
    }
    if doc is None:
        wrapper.update(infcode=-1, err_msg="报文不是 JSON 或缺少 infno")
    elif infcode != 0:
        wrapper["err_msg"] = f"平台拒绝交易 {doc['infno']}"
    else:
        wrapper["output"] = _output(doc["infno"], doc, serial)
    return json.dumps(wrapper, ensure_ascii=False, separators=(",", ":")).encode()
