"""The holiday-schedule file format (one year of 国务院办公厅 放假安排), as JSON (admin API)
or TOML (``ybgate calendar load FILE``); the same fields either way:

```toml
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知"
[[holidays]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03
[[workdays]]           # 调休: a weekend day that is worked
name = "春节调休上班"
date = 2027-02-07
```
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.rules.workdays import YearSchedule

MAX_HOLIDAY_DAYS = 15


class HolidayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=50)
    first: date = Field(alias="from")
    last: date = Field(alias="to")

    @model_validator(mode="after")
    def _span(self) -> HolidayIn:
        if self.last < self.first:
            raise ValueError("'to' is before 'from'")
        if (self.last - self.first).days >= MAX_HOLIDAY_DAYS:
            raise ValueError(f"a holiday lasts at most {MAX_HOLIDAY_DAYS} days")
        return self

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


class WorkdayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    date: date


class CalendarYearIn(BaseModel):
    """One year's schedule. ``year`` may be left out of an API body (the path names it)."""

    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=2004, le=2100)
    source: str = Field(min_length=1, max_length=500, description="the notice it comes from")
    holidays: list[HolidayIn] = Field(min_length=1, max_length=40)
    workdays: list[WorkdayIn] = Field(default_factory=list, max_length=40)


class CalendarYearOut(BaseModel):
    year: int
    source: str
    origin: str  # "loaded" (operator) or "shipped" (chinese_calendar)
    holidays: list[date]
    workdays: list[date]
    loaded_at: datetime | None = None
    loaded_by: str | None = None


class Recomputed(BaseModel):
    kind: str  # "objection" | "resumption_application"
    id: str
    deadline: date
    provisional: bool
    late: bool


class CalendarLoaded(CalendarYearOut):
    recomputed: list[Recomputed]


class DeadlineOut(BaseModel):
    kind: str
    id: str
    subject_id: str  # the violation (objection) or the action (resumption)
    region: str
    physician_code: str | None
    filed_on: date
    opens_on: date | None
    deadline: date
    provisional: bool
    late: bool


def schedule_of(year: int, data: CalendarYearIn) -> tuple[YearSchedule, list[dict[str, str]]]:
    """The schedule, or the problems (``field``/``message``) that refuse it."""
    errors: list[dict[str, str]] = []
    if data.year is not None and data.year != year:
        errors.append({"field": "year", "message": f"{data.year} is not the year {year}"})
    holidays: set[date] = set()
    for n, h in enumerate(data.holidays):
        for d in h.days():
            if d.year != year:
                errors.append({"field": f"holidays[{n}]", "message": f"{d} is not in {year}"})
                break
            holidays.add(d)
    workdays: set[date] = set()
    for n, w in enumerate(data.workdays):
        where = f"workdays[{n}].date"
        if w.date.year != year:
            errors.append({"field": where, "message": f"{w.date} is not in {year}"})
        elif w.date.weekday() < 5:
            errors.append({"field": where, "message": f"{w.date} is a weekday already"})
        elif w.date in holidays:
            errors.append({"field": where, "message": f"{w.date} is also a holiday"})
        workdays.add(w.date)
    schedule = YearSchedule(year, frozenset(holidays), frozenset(workdays), data.source)
    return schedule, errors
