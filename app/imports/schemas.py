from __future__ import annotations

from pydantic import BaseModel


class RowErrorOut(BaseModel):
    row: int  # data rows count from 1; 0 is the header (or the file as a whole)
    column: str
    message: str


class Creates(BaseModel):
    physicians: int
    agreements: int


class RosterReport(BaseModel):
    rows: int
    valid: int
    errors: list[RowErrorOut]
    creates: Creates
    committed: bool = False
