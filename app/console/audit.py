"""审计日志 as a person reads it: actions in Chinese, each change a before/after table with
the fields' Chinese labels and full values, and the filters checked (a bad date is a
message, never ignored)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from app.core.catalogue import FIELDS
from app.core.errors import BadRequest, field_error

ACTIONS: dict[str, str] = {
    "physician.create": "登记医师",
    "physician.cancel": "注销编码",
    "physician.restore": "恢复编码",
    "agreement.create": "签订协议",
    "agreement.renew": "续签协议",
    "agreement.suspend": "暂停协议",
    "agreement.resume": "恢复履行协议",
    "agreement.terminate": "解除协议",
    "agreement.end_request": "医师申请解除协议",
    "agreement.termination.void": "撤销协议解除",
    "violation.create": "记录违规扣分",
    "objection.create": "登记异议",
    "objection.decide": "决定异议",
    "objection.deadline.recompute": "重算异议期限",
    "action.decide": "决定待决事项",
    "action.void": "撤销处理措施",
    "action.undo": "撤回处理措施的效果",
    "action.applied": "执行处理措施",
    "action.pending": "处理措施待决定",
    "action.approved": "批准处理措施",
    "action.rejected": "不予执行处理措施",
    "action.voided": "处理措施已撤销",
    "resumption.apply": "登记恢复申请",
    "resumption.decide": "决定恢复申请",
    "resumption.deadline.recompute": "重算恢复申请期限",
    "institution.create": "登记机构",
    "institution.term.create": "登记机构协议期",
    "institution.suspend": "暂停机构协议",
    "institution.resume": "恢复机构协议",
    "institution.terminate": "终止机构协议",
    "institution.termination.void": "撤销机构协议终止",
    "region.create": "登记统筹区",
    "visit.create": "登记进修/对口支援",
    "token.create": "签发令牌",
    "token.revoke": "吊销令牌",
    "token.bootstrap": "初始管理员令牌",
    "gateway_credential.issue": "签发网关凭据",
    "gateway_credential.register": "登记网关凭据",
    "gateway_credential.overlap": "网关凭据交替期",
    "gateway_credential.revoke": "吊销网关凭据",
    "calendar.load": "载入节假日安排",
    "roster.import": "名册导入",
    "seed.demo": "载入演示数据",
    "console.sign_in": "登录控制台",
    "console.sign_out": "退出控制台",
}


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


@dataclass
class Filters:
    physician: str = ""
    institution: str = ""
    actor: str = ""
    action: str = ""
    target_type: str = ""
    region: str = ""
    since: str = ""
    until: str = ""
    since_day: date | None = None
    until_day: date | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def query(self) -> str:
        keys = ("physician", "institution", "actor", "action", "target_type", "region")
        pairs = [(k, getattr(self, k)) for k in (*keys, "since", "until")]
        return urlencode([(k, v) for k, v in pairs if v])


def _day(name: str, raw: str, errors: list[dict[str, str]]) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(field_error(name, f"不是有效日期（格式 YYYY-MM-DD）：{raw[:40]}"))
        return None


def raw_filters(params: Mapping[str, str]) -> Filters:
    """The filters as typed (each at most 64 characters), not yet checked."""

    def get(key: str) -> str:
        return params.get(key, "").strip()[:64]

    return Filters(
        physician=get("physician"),
        institution=get("institution"),
        actor=get("actor"),
        action=get("action"),
        target_type=get("target_type"),
        region=get("region"),
        since=get("since"),
        until=get("until"),
    )


def parse_filters(params: Mapping[str, str]) -> Filters:
    """The filters of the query string; raises a 400 naming each bad field."""
    f = raw_filters(params)
    errors: list[dict[str, str]] = []
    f.since_day = _day("since", f.since, errors)
    f.until_day = _day("until", f.until, errors)
    if f.since_day and f.until_day and f.until_day < f.since_day:
        errors.append(field_error("until", f"截止日不得早于起始日（{f.since_day}）"))
    if f.action and not any(k == f.action or k.startswith(f.action + ".") for k in ACTIONS):
        errors.append(field_error("action", "没有这种操作"))
    if errors:
        raise BadRequest("审计日志的筛选条件有误。", slug="validation-error", errors=errors)
    return f


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


@dataclass(frozen=True)
class Row:
    label: str
    name: str
    before: str
    after: str
    changed: bool


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Row]:
    """The fields of a write, before and after: the changed ones (all on a create/delete)."""
    b, a = before or {}, after or {}
    keys = list(dict.fromkeys([*b.keys(), *a.keys()]))
    rows = []
    for key in keys:
        old, new = b.get(key), a.get(key)
        changed = before is None or after is None or old != new
        if changed:
            rows.append(
                Row(
                    FIELDS.get(key, key),
                    key,
                    _show(old) if before else "",
                    _show(new) if after else "",
                    changed,
                )
            )
    return rows
