from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.agreements import repository as repo
from app.agreements import service
from app.agreements.schemas import (
    AgreementCreate,
    AgreementOut,
    EndRequest,
    ResumeAgreement,
    SuspendAgreement,
    TerminateAgreement,
)
from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.models import Agreement
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/agreements", tags=["agreements"])


async def _out(session: Session, a: Agreement, on: date | None = None) -> AgreementOut:
    susps = (await repo.suspensions_by_agreement(session, [a.id]))[a.id]
    return AgreementOut.from_record(a, susps, on)


def reconciler(request: Request) -> service.Reconcile | None:
    """The points reconciler the admin app installs (``app.state.reconcile``)."""
    found: service.Reconcile | None = getattr(request.app.state, "reconcile", None)
    return found


@router.post("", status_code=201, response_model=AgreementOut)
async def create_agreement(
    data: AgreementCreate,
    session: Session,
    actor: Actor,
    reconcile: Annotated[service.Reconcile | None, Depends(reconciler)],
) -> AgreementOut:
    created = await service.create_agreement(session, actor, data, reconcile)
    return await _out(session, created)


@router.get("", response_model=Page[AgreementOut])
async def list_agreements(
    session: Session,
    actor: Actor,
    paging: Paging,
    physician: str | None = None,
    institution: str | None = None,
) -> Page[AgreementOut]:
    rows = await fetch_page(session, repo.agreements_query(physician, institution), paging)
    susps = await repo.suspensions_by_agreement(session, [r.id for r in rows])
    return make_page([AgreementOut.from_record(r, susps[r.id]) for r in rows], paging)


@router.get("/{agreement_id}", response_model=AgreementOut)
async def get_agreement(
    agreement_id: str, session: Session, actor: Actor, as_of: date | None = None
) -> AgreementOut:
    return await _out(session, await service.get_agreement(session, agreement_id), as_of)


@router.post("/{agreement_id}/suspend", response_model=AgreementOut)
async def suspend(
    agreement_id: str, data: SuspendAgreement, session: Session, actor: Actor
) -> AgreementOut:
    agreement = await service.get_agreement(session, agreement_id)
    await service.suspend(session, actor, agreement, data)
    return await _out(session, agreement)


@router.post("/{agreement_id}/resume", response_model=AgreementOut)
async def resume(
    agreement_id: str, data: ResumeAgreement, session: Session, actor: Actor
) -> AgreementOut:
    agreement = await service.get_agreement(session, agreement_id)
    await service.resume(session, actor, agreement, data.effective_on)
    return await _out(session, agreement)


@router.post("/{agreement_id}/terminate", response_model=AgreementOut)
async def terminate(
    agreement_id: str, data: TerminateAgreement, session: Session, actor: Actor
) -> AgreementOut:
    agreement = await service.get_agreement(session, agreement_id)
    await service.terminate(session, actor, agreement, data)
    return await _out(session, agreement)


@router.post("/{agreement_id}/end-request", response_model=AgreementOut)
async def request_end(
    agreement_id: str, data: EndRequest, session: Session, actor: Actor
) -> AgreementOut:
    """The physician asks to end the agreement (zhejiang-2014 二): it is not renewed and ends
    with the institution's current term. Audited."""
    agreement = await service.get_agreement(session, agreement_id)
    await service.request_end(session, actor, agreement, data)
    return await _out(session, agreement)
