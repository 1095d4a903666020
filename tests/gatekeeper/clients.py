"""National-platform messages serialised the way four public HIS clients serialise them
(docs/his-clients.md lists each habit with the repository and file it comes from).

Each style turns the same lines (:class:`Line`) into the requests its client sends: the
path it posts to, the visit messages it sends first, the wrapper and line fields it
writes and how. The corpus test sends them and holds every verdict to the plain format's
for the same lines.

* ``dotnet_datatable`` — liutao2019/IBORN_HIS_ALL, ``MEDICAL/广州医保/API.GZSI``:
  Newtonsoft ``JsonConvert.SerializeObject`` of request models whose unset string
  properties are written as ``null`` (``Common/JsonHelper.cs``), here indented with
  Windows line ends (``Formatting.Indented``, ``Class/JsonHelper.cs``); amounts, counts
  and prices as the text of DataTable decimal columns (``LocalManager.cs``:
  ``dRow["det_item_fee_sumamt"].ToString()``, a 4-scale column: ``"58.0000"``); posted to
  base URL + infno (``Class/HttpHelper.cs``: ``url + Infno``); the 医疗类别 on the visit
  (2203 ``mdtrtinfo.med_type``), none on 2204; a UTF-8 byte-order mark (.NET's
  ``StreamWriter(stream, Encoding.UTF8)`` writes one).
* ``shunde`` — liutao2019/IBORN_HIS_ALL, ``MEDICAL/顺德医保/佛山新医保接口/API.GZSI``:
  ``NullValueHandling.Ignore`` + ``Formatting.Indented`` (``Class/JsonHelper.cs``);
  2204 with ``cnt``/``pric`` ``ToString("F4")`` and the amount ``ToString("F2")``, empty
  strings for empty descriptions (``Process.cs``); 2301 with ``decimal.ToString()``
  amounts (``"58.0000"``), each line's ``med_type``, line ids ``RecipeNO + seq + transtype``
  and refund lines with negative ``cnt`` and amount naming ``init_feedetl_sn``
  (``Process.cs``, 负记录处理); posted to base URL + infno (``Class/HttpHelper.cs``).
* ``jiangsu_csb`` — Yenter-good/DanYangOP (丹阳市中医院, 江苏, behind the provincial CSB
  gateway's ``_api_*`` headers: ``App_OP/Prescription/BeforePrescriptionAudit.cs``):
  Newtonsoft with ``NullValueHandling.Ignore`` and ``DefaultValueHandling.Ignore``,
  unindented (``CIS.Utility/Helpers/SerializeHelper.cs``), one URL for every infno (the
  gateway's); 3101 with ``patient_dtos`` and ``fsi_encounter_dtos`` as single objects,
  amounts as ``decimal.ToString()``, no ``drord_begn_date``
  (``BeforePrescriptionAuditRequest.cs``).
* ``java_fastjson`` — S-117-John/nhis-web: fastjson ``JSONObject`` (a ``HashMap``: key
  order as the hash leaves it) posted to base URL + infno
  (``src/main/java/com/zebone/nhis/compay/pub/service/NationalInsuranceService.java``:
  ``HSA_URL + port``); line maps straight from MyBatis ``DynaBean`` rows, so numeric
  columns are JSON numbers (``ZsrmQGMapper.xml``: ``cnt``, ``pric``,
  ``det_item_fee_sumamt``) — a numeric line-id column is a JSON integer — and null text
  columns written as ``""`` (``ZsrmQGService.java``: ``WriteNullStringAsEmpty``); the
  wrapper's ``med_type`` carries the emergency (2204).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Request = tuple[str, bytes]  # (path, body)
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Line:
    sn: str
    code: str
    day: str
    cents: int
    emergency: bool


def plain(inst: str, lines: list[Line], sid: str) -> dict[str, Any]:
    """The same lines as a plain settlement (the differential's reference)."""
    return {
        "settlement_id": sid,
        "institution_code": inst,
        "lines": [
            {
                "line_id": ln.sn,
                "physician_code": ln.code,
                "service_date": ln.day,
                "emergency": ln.emergency,
                "amount": f"{Decimal(ln.cents) / 100:.2f}",
            }
            for ln in lines
        ],
    }


def _wrapper(infno: str, inst: str, msgid: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": "440100",
        "insuplc_admdvs": "440100",
        "recer_sys_code": "HIS",
        "dev_no": None,
        "dev_safe_info": None,
        "cainfo": None,
        "signtype": None,
        "infver": "1.0.0",
        "opter_type": "1",
        "opter": "01",
        "opter_name": "收费员",
        "inf_time": "2026-11-24 10:30:00",
        "fixmedins_code": inst,
        "fixmedins_name": "某医院",
        "sign_no": "",
        "input": data,
    }


def _dotnet(obj: Any, indented: bool, drop_null: bool = False) -> bytes:
    """Newtonsoft's output: ``Formatting.Indented`` is 2 spaces and ``"key": value`` with
    ``Environment.NewLine`` (CRLF on Windows); ``Formatting.None`` has no spaces."""
    if drop_null:
        obj = _without_nulls(obj)
    if not indented:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return json.dumps(obj, ensure_ascii=False, indent=2).replace("\n", "\r\n").encode()


def _without_nulls(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_without_nulls(v) for v in obj]
    return obj


def _scale4(cents: int) -> str:
    return f"{Decimal(cents) / 100:.4f}"  # a decimal(16,4) column's ToString()


def _platform_line(ln: Line, visit: str, batch: str) -> dict[str, Any]:
    """Every field of the platform's 2204 feedetail, the unset ones null."""
    return {
        "feedetl_sn": ln.sn,
        "mdtrt_id": visit,
        "psn_no": "P1",
        "chrg_bchno": batch,
        "dise_codg": None,
        "rxno": None,
        "rx_circ_flag": "0",
        "fee_ocur_time": f"{ln.day} 09:12:00",
        "med_list_codg": "250101001",
        "medins_list_codg": "10512",
        "det_item_fee_sumamt": _scale4(ln.cents),
        "cnt": "1.0000",
        "pric": _scale4(ln.cents),
        "sin_dos_dscr": None,
        "used_frqu_dscr": None,
        "prd_days": None,
        "medc_way_dscr": None,
        "bilg_dept_codg": "1000",
        "bilg_dept_name": "内科",
        "bilg_dr_codg": ln.code,
        "bilg_dr_name": "张三",
        "acord_dept_codg": None,
        "acord_dept_name": None,
        "orders_dr_code": None,
        "orders_dr_name": None,
        "hosp_appr_flag": "1",
        "tcmdrug_used_way": None,
        "etip_flag": None,
        "etip_hosp_code": None,
        "dscg_tkdrug_flag": None,
        "matn_fee_flag": None,
    }


def _visit(inst: str, msgid: str, visit: str, emergency: bool) -> dict[str, Any]:
    info = {"mdtrt_id": visit, "psn_no": "P1", "med_type": "13" if emergency else "11",
            "begntime": "2026-11-24 08:00:00", "main_cond_dscr": None}  # fmt: skip
    return _wrapper("2203", inst, msgid, {"mdtrtinfo": info, "diseinfo": []})


def dotnet_datatable(inst: str, lines: list[Line], msgid: str, rnd: random.Random) -> list[Request]:
    emergency = lines[0].emergency  # one visit per message, its med_type on the visit
    visit = f"GZ-{msgid}"
    out = [("/v1/hsa/2203", BOM + _dotnet(_visit(inst, "V" + msgid, visit, emergency), True))]
    items = [_platform_line(ln, visit, "1") for ln in lines]
    body = _wrapper("2204", inst, msgid, {"feedetail": items})
    out.append(("/v1/hsa/2204", BOM + _dotnet(body, True)))
    return out


def shunde(inst: str, lines: list[Line], msgid: str, rnd: random.Random) -> list[Request]:
    visit = f"SD-{msgid}"
    if rnd.random() < 0.5:  # 2204: F2 amount, F4 count and price, "" descriptions
        items = []
        for ln in lines:
            item = _platform_line(ln, visit, "1")
            item.update(
                det_item_fee_sumamt=f"{Decimal(ln.cents) / 100:.2f}",
                cnt="1.0000",
                sin_dos_dscr="",
                used_frqu_dscr="",
                prd_days="",
                medc_way_dscr="",
                acord_dept_codg="",
                orders_dr_code="",
            )
            items.append(item)
        emergency = lines[0].emergency
        head = _visit(inst, "V" + msgid, visit, emergency)
        body = _wrapper("2204", inst, msgid, {"feedetail": items})
        return [
            ("/v1/hsa/2203", _dotnet(head, True, drop_null=True)),
            ("/v1/hsa/2204", _dotnet(body, True, drop_null=True)),
        ]
    items = []
    for ln in lines:  # 2301: decimal.ToString(), each line's med_type
        item = _platform_line(ln, visit, "1")
        item.update(
            feedetl_sn=ln.sn,
            init_feedetl_sn="",
            med_type="13" if ln.emergency else "21",
            drord_no="DR1",
            cnt="1.0000",
            memo="",
        )
        items.append(item)
    body = _wrapper("2301", inst, msgid, {"feedetail": items})
    return [("/v1/hsa/2301", _dotnet(body, True, drop_null=True))]


def shunde_refund(inst: str, visit: str, original: Line, msgid: str, day: str) -> Request:
    """A 负记录: the negative line naming the line it reverses (its visit, a later day)."""
    item = _platform_line(
        Line(original.sn + "0", original.code, day, -original.cents, False), visit, "1"
    )
    item.update(
        init_feedetl_sn=original.sn,
        cnt="-1.0000",
        med_type="21",
        det_item_fee_sumamt=_scale4(-original.cents),
    )
    return (
        "/v1/hsa/2301",
        _dotnet(_wrapper("2301", inst, msgid, {"feedetail": [item]}), True, True),
    )


def jiangsu_csb(inst: str, lines: list[Line], msgid: str, rnd: random.Random) -> list[Request]:
    """2204 and a 3101 of the same lines, one URL for both (the CSB gateway's)."""
    emergency = lines[0].emergency
    items = []
    for ln in lines:
        item = _platform_line(ln, f"JS-{msgid}", "B1")
        item["det_item_fee_sumamt"] = _scale4(ln.cents)
        items.append(item)
    fee_body = _wrapper("2204", inst, msgid, {"feedetail": items})
    fee_body["med_type"] = "13" if emergency else "11"
    fee_body["fixmedins_soft_fcty"] = "某软件公司"
    orders = [
        {"rx_id": ln.sn, "drord_dr_codg": ln.code, "drord_begn_date": f"{ln.day} 09:00:00",
         "sumamt": _scale4(ln.cents), "cnt": "1", "hilist_code": "X", "drord_dept_codg": None}
        for ln in lines
    ]  # fmt: skip
    encounter = {"mdtrt_id": f"JS-{msgid}", "medins_id": inst, "med_type": "13" if emergency
                 else "11", "adm_date": f"{lines[0].day} 08:00:00", "fsi_order_dtos": orders,
                 "fsi_operation_dtos": None, "setl_totlnum": 0}  # fmt: skip
    patient = {"patn_id": "PAT-" + msgid, "fsi_encounter_dtos": encounter, "fsi_his_data_dto": None}
    audit = _wrapper("3101", inst, "A" + msgid, {"data": {"syscode": "3101", "trig_scen": "5",
                     "task_id": "T" + msgid, "patient_dtos": patient}})  # fmt: skip
    for body in (fee_body, audit):
        body["infver"] = "V1.0"
    return [
        ("/v1/hsa", _dotnet(fee_body, False, drop_null=True)),
        ("/v1/hsa", _dotnet(audit, False, drop_null=True)),
    ]


def _shuffled(obj: Any, rnd: random.Random) -> Any:
    if isinstance(obj, dict):
        keys = list(obj)
        rnd.shuffle(keys)
        return {k: _shuffled(obj[k], rnd) for k in keys}
    if isinstance(obj, list):
        return [_shuffled(v, rnd) for v in obj]
    return obj


def java_fastjson(inst: str, lines: list[Line], msgid: str, rnd: random.Random) -> list[Request]:
    items = []
    for k, ln in enumerate(lines):
        item = _platform_line(ln, f"JV-{msgid}", "")
        item.update(
            feedetl_sn=int(ln.sn.rsplit("-", 1)[1]) * 10 + k % 10,  # a numeric id column
            det_item_fee_sumamt=float(Decimal(ln.cents) / 100),  # Double: 58.0, 12.5
            cnt=1,
            pric=float(Decimal(ln.cents) / 100),
        )
        items.append({key: ("" if v is None else v) for key, v in item.items()})
    body = _wrapper("2204", inst, msgid, {"feedetail": items})
    body["med_type"] = "13" if lines[0].emergency else "11"
    body = {k: ("" if v is None else v) for k, v in body.items()}
    text = json.dumps(_shuffled(body, rnd), ensure_ascii=False, separators=(",", ":"))
    return [("/v1/hsa/2204", text.encode())]


def java_sns(lines: list[Line]) -> list[str]:
    """The line ids the Java style writes (as the answer echoes them)."""
    return [str(int(ln.sn.rsplit("-", 1)[1]) * 10 + k % 10) for k, ln in enumerate(lines)]


STYLES: dict[str, Callable[[str, list[Line], str, random.Random], list[Request]]] = {
    "dotnet_datatable": dotnet_datatable,
    "shunde": shunde,
    "jiangsu_csb": jiangsu_csb,
    "java_fastjson": java_fastjson,
}
