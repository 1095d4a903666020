"""Chinese labels of the fields, columns and record kinds a message may name."""

from __future__ import annotations

import re

FIELDS: dict[str, str] = {
    # people and places
    "physician_code": "医师编码",
    "code": "编码",
    "certificate_no": "证书编号",
    "national_code": "国家医保信息业务编码",
    "name": "姓名",
    "category": "人员类别",
    "institution_code": "机构编码",
    "institution": "机构",
    "host_institution_code": "进修机构编码",
    "region": "统筹区",
    "region_code": "统筹区",
    "policy": "政策",
    # dates
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "effective_on": "生效日期",
    "occurred_on": "违规发生日期",
    "decided_on": "决定日期",
    "filed_on": "提出日期",
    "as_of": "查询日期",
    "since": "起始日",
    "until": "截止日",
    "date": "日期",
    "year": "年份",
    "from": "起始日",
    "to": "截止日",
    "anchor": "协议起算日",
    # violations and actions
    "item": "违规条款",
    "points": "扣分",
    "degree": "责任程度",
    "means": "修复方式",
    "period": "记分周期",
    "effective_from": "生效日期",
    "note": "备注",
    "reason": "原因",
    "kind": "类型",
    "months": "暂停月数",
    "approve": "是否批准",
    "upheld": "异议是否成立",
    "confirm": "确认",
    "_confirm": "确认",
    # files, tokens and requests
    "file": "文件",
    "token": "令牌",
    "label": "备注名",
    "role": "角色",
    "paasid": "paasid",
    "secret": "密钥",
    "body": "请求内容",
    "lines": "结算明细",
    "limit": "每页条数",
    "offset": "起始位置",
    "holidays": "节假日",
    "workdays": "调休上班日",
    "after": "起始编码",
    "approved": "已批准数",
    "revoked": "已撤销数",
    "prior_terminations": "此前解除次数",
    # columns of the records (the audit log's before/after)
    "id": "编号",
    "status": "状态",
    "type": "类型",
    "subject": "对象",
    "created_at": "创建时间",
    "created_by": "创建人令牌",
    "revoked_at": "吊销时间",
    "terminated_on": "解除日期",
    "termination_reason": "解除原因",
    "termination_kind": "解除类型",
    "termination_voided_at": "解除撤销时间",
    "source_action_id": "来源处理措施",
    "no_renewal": "不续签",
    "end_requested_on": "申请解除日期",
    "policy_id": "政策",
    "sequence": "序号",
    "reversed_at": "撤销时间",
    "reversed_on": "撤销日期",
    "period_key": "计分周期",
    "rule_id": "规则",
    "months_min": "最少月数",
    "months_max": "最多月数",
    "violation_id": "违规记录",
    "clause": "条款",
    "decided_by": "决定人令牌",
    "voided_at": "撤销时间",
    "deadline": "期限",
    "deadline_provisional": "期限为暂定",
    "grounds": "异议理由",
    "late": "逾期",
    "action_id": "处理措施",
    "timely": "按时",
    "window_opens_on": "申请期开始",
    "window_closes_on": "申请期截止",
    "approved_physicians": "核定医师总数",
    "lifted_on": "解除暂停日期",
    "restored_on": "恢复日期",
    "resumed_on": "恢复履行日期",
    "token_id": "令牌",
    "token_hash": "令牌摘要",
    "last_seen_at": "最近访问",
    "expires_at": "到期时间",
    "flash": "提示",
    "scheme": "签名方式",
    "secret_sealed": "密钥（密封）",
    "origin": "来源",
    "valid_until": "有效期至",
    "physicians": "医师数",
    "institutions": "机构数",
    "agreements": "协议数",
    "rows": "数据行",
    "valid": "无误行",
    "errors": "错误",
    "creates": "新登记",
    "committed": "已写入",
    "recomputed": "重新计算",
}

# Kinds of record in "No <kind> <id>." and in the audit log.
KINDS: dict[str, str] = {
    "physician": "医师",
    "agreement": "协议",
    "violation": "违规记录",
    "objection": "异议",
    "action": "处理措施",
    "institution": "机构",
    "region": "统筹区",
    "token": "令牌",
    "visit": "进修登记",
    "decision": "结算决定",
    "settlement": "结算",
    "resumption application": "恢复申请",
    "resumption": "恢复申请",
    "credential": "网关凭据",
    "registry": "登记库",
    "session": "会话",
    "calendar": "工作日历",
    "import": "名册导入",
    "code": "编码",
}

_INDEX = re.compile(r"\[\d+\]")


def field_label(path: str) -> str:
    """The Chinese label of a JSON path (``lines[3].amount`` → its last known part)."""
    parts = [p for p in _INDEX.sub("", path).split(".") if p]
    for part in reversed(parts):
        if part in FIELDS:
            return FIELDS[part]
    return path


def term(value: str) -> str:
    """A field or record kind named inside a message, in Chinese (others unchanged)."""
    return FIELDS.get(value) or KINDS.get(value) or value
