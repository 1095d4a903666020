"""Reading a roster file (一次性集体准入, lanzhou-2014 第六条（四）): pure, no I/O.

CSV, UTF-8 (a BOM is allowed), a header row naming the columns (any order, no others):
``certificate_no,name,national_code,institution_code,starts_on,ends_on``.
``national_code`` and ``ends_on`` may be empty. Rows count from 1 after the header.
Every problem is reported by row and column, in Chinese (the operators' language),
and the message names the column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

COLUMNS = ("certificate_no", "name", "national_code", "institution_code", "starts_on", "ends_on")
LABELS = {
    "certificate_no": "证书编号",
    "name": "姓名",
    "national_code": "国家医保医师代码",
    "institution_code": "机构编码",
    "starts_on": "协议开始日期",
    "ends_on": "协议结束日期",
}
CERTIFICATE_RE = re.compile(r"[0-9]{15,30}X?")
NATIONAL_RE = re.compile(r"(?:D|N|Y|HY|HJ)[0-9]{12}")
INSTITUTION_RE = re.compile(r"[A-Z][0-9A-Z]{5,31}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
NAME_MAX = 200
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int
    certificate_no: str
    name: str
    national_code: str | None
    institution_code: str
    starts_on: date
    ends_on: date | None

    @property
    def code(self) -> str:
        return "YB" + self.certificate_no


@dataclass(slots=True)
class RowError:
    row: int
    column: str
    message: str


def error(row: int, column: str, problem: str) -> RowError:
    """A problem of one cell; the message starts with the column's name."""
    return RowError(row, column, f"{column}（{LABELS.get(column, column)}）：{problem}")


def _date(value: str, row: int, column: str, errors: list[RowError]) -> date | None:
    if DATE_RE.fullmatch(value):
        try:
            d = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if FIRST_DAY <= d <= LAST_DAY:
                return d
            errors.append(error(row, column, f"日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间：{value}"))
            return None
    errors.append(error(row, column, f"日期格式须为 YYYY-MM-DD：{value!r}"))
    return None


def _row(n: int, cells: dict[str, str], errors: list[RowError]) -> RosterRow | None:
    before = len(errors)
    cert = cells["certificate_no"]
    if not CERTIFICATE_RE.fullmatch(cert):
        errors.append(error(n, "certificate_no", f"须为 15 至 30 位数字（末位可为 X）：{cert!r}"))
    name = cells["name"]
    if not name:
        errors.append(error(n, "name", "不能为空"))
    elif len(name) > NAME_MAX or CONTROL_RE.search(name):
        errors.append(error(n, "name", f"至多 {NAME_MAX} 个字符，且不得含控制字符"))
    national = cells["national_code"] or None
    if national is not None and not NATIONAL_RE.fullmatch(national):
        errors.append(error(n, "national_code", f"须为 D 加 12 位数字：{national!r}"))
    inst = cells["institution_code"]
    if not INSTITUTION_RE.fullmatch(inst):
        errors.append(error(n, "institution_code", f"格式不正确：{inst!r}"))
    starts = _date(cells["starts_on"], n, "starts_on", errors) if cells["starts_on"] else None
    if not cells["starts_on"]:
        errors.append(error(n, "starts_on", "不能为空"))
    ends = _date(cells["ends_on"], n, "ends_on", errors) if cells["ends_on"] else None
    if starts is not None and ends is not None and ends < starts:
        errors.append(error(n, "ends_on", f"不得早于协议开始日期 {starts}"))
    if len(errors) > before or starts is None:
        return None
    return RosterRow(n, cert, name, national, inst, starts, ends)


def _header_errors(names: list[str]) -> list[RowError]:
    missing = [c for c in COLUMNS if c not in names]
    unknown = [h for h in names if h not in COLUMNS]
    errs = [error(0, c, "表头缺少此列") for c in missing]
    errs += [RowError(0, h, f"{h}：表头有未知的列（应为 {','.join(COLUMNS)}）") for h in unknown]
    if not errs and len(set(names)) != len(names):
        errs = [RowError(0, "file", "file：表头有重复的列")]
    return errs


def parse_roster(data: bytes) -> tuple[list[RosterRow], list[RowError], int]:
    """(well-formed rows, errors, number of data rows). A repeated ``certificate_no,
    institution_code`` pair is an error on the later row; so is a certificate whose name
    or national code differs from an earlier row's."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [RowError(0, "file", f"file：文件须为 UTF-8 编码（第 {exc.start} 字节）")], 0
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return [], [RowError(0, "file", "file：文件为空，须有表头行")], 0
    names = [h.strip() for h in header]
    bad = _header_errors(names)
    if bad:
        return [], bad, 0
    index = [names.index(c) for c in COLUMNS]
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    people: dict[str, RosterRow] = {}
    aliases: dict[str, RosterRow] = {}
    n = 0
    for n, record in enumerate(reader, start=1):
        if len(record) != len(names):
            errors.append(
                RowError(n, "file", f"file：第 {n} 行有 {len(record)} 列，表头有 {len(names)} 列")
            )
            continue
        cells = {c: record[i].strip() for c, i in zip(COLUMNS, index, strict=True)}
        row = _row(n, cells, errors)
        if row is None:
            continue
        key = (row.certificate_no, row.institution_code)
        if key in seen:
            errors.append(
                error(n, "certificate_no", f"与第 {seen[key]} 行的证书编号和机构编码重复")
            )
            continue
        seen[key] = n
        first = people.get(row.certificate_no)
        if first is not None and (first.name, first.national_code) != (
            row.name,
            row.national_code,
        ):
            column = "name" if first.name != row.name else "national_code"
            errors.append(error(n, column, f"与第 {first.row} 行同一证书编号的信息不一致"))
            continue
        holder = aliases.get(row.national_code or "")
        if holder is not None and holder.certificate_no != row.certificate_no:
            message = f"与第 {holder.row} 行另一证书编号的国家医保医师代码重复"
            errors.append(error(n, "national_code", message))
            continue
        if row.national_code:
            aliases.setdefault(row.national_code, row)
        people.setdefault(row.certificate_no, row)
        rows.append(row)
    return rows, errors, n
