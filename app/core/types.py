"""Field types shared by the admin schemas (validation lives at the edge)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
InstitutionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9A-Z]{5,31}$")]
PhysicianCode = Annotated[str, StringConstraints(pattern=r"^YB[0-9]{15,30}X?$")]
CertificateNo = Annotated[str, StringConstraints(pattern=r"^[0-9]{15,30}X?$")]
NationalCode = Annotated[str, StringConstraints(pattern=r"^D[0-9]{12}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Months = Annotated[int, Field(ge=1, le=120)]
