from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.core.clock import today
from app.core.paging import Page, Paging, fetch_page, make_page
from app.core.types import Day
from app.institutions import repository as repo
from app.institutions import service
from app.institutions.schemas import (
    InstitutionCreate,
    InstitutionOut,
    InstitutionStanding,
    InstitutionSuspensionOut,
    ResumeIn,
    SuspendInstitution,
    TermCreate,
    TerminateIn,
    TermOut,
)
from app.institutions.standing import institution_standing
from app.models import Institution
from app.tokens.schemas import TokenCreated
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/institutions", tags=["institutions"])


async def _out(session: Session, inst: Institution, on: Day | None = None) -> InstitutionOut:
    terms = await repo.terms_of(session, inst.code)
    susps = await repo.suspensions_of(session, inst.code)
    return InstitutionOut.from_record(inst, terms, susps, on)


@router.post("", status_code=201, response_model=InstitutionOut)
async def create_institution(
    data: InstitutionCreate, session: Session, actor: Actor
) -> InstitutionOut:
    return await _out(session, await service.create_institution(session, actor, data))


@router.get("", response_model=Page[InstitutionOut])
async def list_institutions(
    session: Session, actor: Actor, paging: Paging, region: str | None = None
) -> Page[InstitutionOut]:
    rows = await fetch_page(session, repo.institutions_query(region), paging)
    return make_page([await _out(session, r) for r in rows], paging)


@router.get("/{code}", response_model=InstitutionOut)
async def get_institution(
    code: str, session: Session, actor: Actor, as_of: Day | None = None
) -> InstitutionOut:
    """The institution with its terms and suspensions; ``as_of`` adds its status that day."""
    return await _out(session, await service.get_institution(session, code), as_of)


@router.post("/{code}/terms", status_code=201, response_model=TermOut)
async def add_term(code: str, data: TermCreate, session: Session, actor: Actor) -> TermOut:
    return TermOut.model_validate(await service.add_term(session, actor, code, data))


@router.post("/{code}/suspend", response_model=InstitutionSuspensionOut)
async def suspend(
    code: str, data: SuspendInstitution, session: Session, actor: Actor
) -> InstitutionSuspensionOut:
    susp = await service.suspend(session, actor, code, data)
    return InstitutionSuspensionOut.model_validate(susp)


@router.post("/{code}/resume", response_model=InstitutionSuspensionOut)
async def resume(
    code: str, data: ResumeIn, session: Session, actor: Actor
) -> InstitutionSuspensionOut:
    susp = await service.resume(session, actor, code, data.effective_on)
    return InstitutionSuspensionOut.model_validate(susp)


@router.post("/{code}/terminate", response_model=TermOut)
async def terminate(code: str, data: TerminateIn, session: Session, actor: Actor) -> TermOut:
    return TermOut.model_validate(await service.terminate(session, actor, code, data))


@router.post("/{code}/tokens", status_code=201, response_model=TokenCreated)
async def create_his_token(code: str, session: Session, actor: Actor) -> TokenCreated:
    """An HIS token bound to this institution. The secret is shown once."""
    return await service.issue_his_token(session, actor, code)


@router.get("/{code}/standing", response_model=InstitutionStanding)
async def get_standing(
    code: str, session: Session, actor: Actor, as_of: Day | None = None
) -> InstitutionStanding:
    """Revoked physicians over approved ones in the current term, and the flags they trigger
    (lanzhou-2014 第二十二条)."""
    inst = await service.get_institution(session, code)
    return await institution_standing(session, inst, as_of or today())
