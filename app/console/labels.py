"""What a person reads: Chinese names of statuses, reasons, actions and audit events."""

from __future__ import annotations

ROLE = {"superuser": "系统管理员", "operator": "经办人员", "auditor": "审计人员", "his": "医院 HIS"}

PHYSICIAN_STATUS = {
    "active": "正常",
    "suspended": "暂停",
    "terminated": "已解除",
    "cancelled": "编码已注销",
    "no_agreement": "无协议",
}
AGREEMENT_STATUS = {
    "active": "履行中",
    "suspended": "暂停中",
    "terminated": "已解除",
    "expired": "已到期",
    "not_started": "未生效",
}
INSTITUTION_STATUS = {
    "active": "正常",
    "suspended": "暂停",
    "ended": "协议终止",
    "not_started": "未生效",
}
TERMINATION_KIND = {
    "operator": "经办解除",
    "violation": "违规扣分解除",
    "institution": "机构协议终止",
    "cancellation": "编码注销",
}
ACTION_TYPE = {
    "interview": "约谈",
    "suspend": "暂停协议",
    "terminate": "解除协议",
    "cancel_code": "注销编码",
    "institution_flag": "机构预警",
    "institution_terminate": "终止机构协议",
}
ACTION_STATUS = {
    "applied": "已执行",
    "pending": "待决定",
    "approved": "已批准",
    "rejected": "不予执行",
    "voided": "已撤销",
}
REASON = {
    "CODE_MALFORMED": "编码格式错误",
    "PHYSICIAN_UNREGISTERED": "医师未登记",
    "CODE_CANCELLED": "编码已注销",
    "NOT_AT_INSTITUTION": "非本机构医师",
    "INSTITUTION_SUSPENDED": "机构协议暂停",
    "AGREEMENT_TERMINATED": "医师协议已解除",
    "AGREEMENT_SUSPENDED": "医师协议暂停",
    "EMERGENCY_OVERRIDE": "急诊放行",
}
DECISION = {"accept": "通过", "reject": "拒付", "partial": "部分拒付"}
ARCHIVE_EVENT = {
    "registered": "登记医保医师",
    "agreement.signed": "签订服务协议",
    "agreement.suspended": "协议暂停",
    "agreement.resumed": "恢复履行协议",
    "agreement.terminated": "协议解除",
    "visit": "进修/对口支援登记",
    "code.cancelled": "编码注销",
    "code.restored": "编码恢复",
    "violation": "违规扣分",
    "objection.filed": "提出异议",
    "objection.decided": "异议决定",
    "violation.reversed": "扣分撤销",
    "action.interview": "约谈",
    "action.suspend": "暂停协议（扣分）",
    "action.terminate": "解除协议（扣分）",
    "action.cancel_code": "注销编码（扣分）",
    "ban": "禁止重新签约",
    "repair": "记分修复",
}
AUDIT_TARGET = {
    "physician": "医师",
    "agreement": "协议",
    "violation": "违规",
    "action": "处理措施",
    "institution": "机构",
    "region": "统筹区",
    "token": "令牌",
    "visit": "进修",
    "registry": "登记库",
}
FACT_KIND = {
    "code_format": "编码不符合本统筹区格式",
    "no_physician": "没有该编码的医师",
    "code_cancellation": "编码注销",
    "no_agreement": "该机构无覆盖此日的协议或进修登记",
    "institution_suspension": "机构协议暂停",
    "institution_termination": "机构协议终止",
    "institution_term": "机构协议期外",
    "agreement_termination": "医师协议解除",
    "agreement_suspension": "医师协议暂停",
    "agreement": "有效协议",
    "visit": "进修/对口支援登记",
}
BAN_KIND = {"terminate": "解除协议后", "cancel_code": "注销编码后"}
# 相关人员 categories (app.rules.staff.CATEGORIES), as an operator names them
CATEGORY = {
    "doctor": "医师",
    "nurse": "护士",
    "pharmacist": "药师",
    "technician": "技术人员",
    "pharmacy_head": "药店主要负责人",
}
# The national code families each category may carry (app.rules.staff.CODE_PREFIXES)
CATEGORY_CODES = {
    "doctor": "D",
    "nurse": "N",
    "pharmacist": "Y / HY",
    "technician": "HJ",
    "pharmacy_head": "Y / HY（或不填）",
}
DEGREE = {"lighter": "从轻", "reduced": "减轻", "heavier": "从重"}


def label(table: dict[str, str], key: str | None) -> str:
    if key is None:
        return "—"
    return table.get(key, key)
