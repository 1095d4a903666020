from __future__ import annotations

from fastapi import APIRouter, Request

from app.auth.dependencies import Actor
from app.core.settings import get_settings
from app.imports import service
from app.imports.schemas import RosterReport
from app.imports.upload import file_part, read_body
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/imports", tags=["imports"])

_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post("/roster", response_model=RosterReport, openapi_extra=_FORM)
async def import_roster(
    request: Request, session: Session, actor: Actor, dry_run: bool = True
) -> RosterReport:
    """一次性集体准入 (lanzhou-2014 第六条（四）): a CSV roster (UTF-8, header
    ``certificate_no,name,national_code,institution_code,starts_on,ends_on``) in the
    multipart field ``file``. ``dry_run=true`` (the default) only reports; ``dry_run=false``
    applies every row in one transaction, or none (422 with the same report)."""
    actor.require_writer()
    body = await read_body(request, get_settings().roster_import_max_bytes)
    data = file_part(request.headers.get("content-type", ""), body)
    return await service.import_roster(session, actor, data, commit=not dry_run)
