"""Chinese labels of the fields, columns and record kinds a message may name."""

from __future__ import annotations

import re

FIELDS: dict[str, str] = {
    # people and places
    "physician_code": "医师编码",
    "code": "编码",
    "certificate_no": "证书编号",
    "national_code": "国家医保医师代码",
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
    "note": "备注",
    "reason": "原因",
    "kind": "类型",
    "months": "暂停月数",
    "approve": "是否批准",
    "upheld": "异议是否成立",
    "confirm": "确认",
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
