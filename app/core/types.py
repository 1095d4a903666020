"""Field types shared by the admin schemas (validation lives at the edge)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

# Dates the record can hold: strings YYYY-MM-DD only (a JSON number is not a date), within
# a range no agreement, visit or decision of this programme falls outside of.
DATE_MIN, DATE_MAX = date(1990, 1, 1), date(2100, 12, 31)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Names: no control characters (C0 and DEL); reasons may break lines.
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def parse_day(value: object) -> object:
    """A ``YYYY-MM-DD`` string within DATE_MIN..DATE_MAX (a ``date`` passes as it is:
    that is the record speaking, not a client)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("must be a date string YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a calendar date") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValueError(f"must be between {DATE_MIN} and {DATE_MAX}")
    return day


_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})",
    re.I,
)


def parse_instant(value: object) -> object:
    """An RFC 3339 timestamp with its offset (``Z`` or ``+08:00``), nothing else."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        raise ValueError(
            "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-30T08:00:00+08:00"
        )
    try:
        at = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a valid timestamp") from None
    if not DATE_MIN <= at.date() <= DATE_MAX:
        raise ValueError(f"must be between {DATE_MIN} and {DATE_MAX}")
    return at


Day = Annotated[date, BeforeValidator(parse_day)]
Instant = Annotated[datetime, BeforeValidator(parse_instant)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
# The national 12-character form: H + 11 digits (定点医疗机构) or P + 11 (定点零售药店).
InstitutionCode = Annotated[str, StringConstraints(pattern=r"^[HP][0-9]{11}$")]
PhysicianCode = Annotated[str, StringConstraints(pattern=r"^YB[0-9]{15,30}X?$")]
CertificateNo = Annotated[str, StringConstraints(pattern=r"^[0-9]{15,30}X?$")]
# A national staff code (医保信息业务编码): D 医师, N 护士, Y 药师, HY/HJ (医保办函〔2022〕39号).
NationalCode = Annotated[str, StringConstraints(pattern=r"^(?:D|N|Y|HY|HJ)[0-9]{12}$")]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL),
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=_TEXT)
]
Months = Annotated[int, Field(ge=1, le=120)]
