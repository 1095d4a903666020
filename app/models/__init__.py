"""The record: SQLAlchemy models. Alembic migrations are the only way the schema is made."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.calendar import CalendarYear
from app.models.console import ConsoleReveal, ConsoleSession
from app.models.decisions import DecisionWithdrawal, SettlementDecision
from app.models.gateway import GatewayCredential
from app.models.points import Action, Ban, Objection, ResumptionApplication, Violation
from app.models.registry import (
    Agreement,
    AgreementSuspension,
    CodeCancellation,
    Institution,
    InstitutionSuspension,
    InstitutionTerm,
    Physician,
    Region,
    RegistryChange,
    RegistryState,
    Visit,
)
from app.models.staff import RegionPolicy, Repair
from app.models.tokens import ApiToken

__all__ = [
    "Action",
    "Agreement",
    "AgreementSuspension",
    "ApiToken",
    "AuditEntry",
    "Ban",
    "Base",
    "CalendarYear",
    "CodeCancellation",
    "ConsoleReveal",
    "ConsoleSession",
    "DecisionWithdrawal",
    "GatewayCredential",
    "Institution",
    "InstitutionSuspension",
    "InstitutionTerm",
    "Objection",
    "Physician",
    "Region",
    "RegionPolicy",
    "RegistryChange",
    "RegistryState",
    "Repair",
    "ResumptionApplication",
    "SettlementDecision",
    "Violation",
    "Visit",
]
