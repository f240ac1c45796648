"""The ops audit log, newest first: who did what to which object, under which request, and how it
ended. Append-only in the database; :mod:`api.services.ops_actions` writes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentOperator, SessionDep
from api.fields import TEXT
from api.openapi import problems
from api.pagination import Page, PageDep
from storage.keyset import Cursor
from storage.repositories import audit

router = APIRouter(prefix="/v1/ops", tags=["ops"])


class AuditEntryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    recorded_at: datetime
    operator_id: uuid.UUID
    operator_username: str
    action: str
    object_type: str
    object_id: str
    request_id: str
    outcome: str
    detail: dict[str, Any]


class AuditPage(Page[AuditEntryView]):
    pass


@router.get(
    "/audit-log",
    response_model=AuditPage,
    operation_id="ops_audit_log",
    summary="The ops audit log, newest first",
    responses=problems(401, 422),
)
async def audit_log(
    operator: CurrentOperator,
    session: SessionDep,
    page: PageDep,
    object_id: Annotated[
        str | None, Query(max_length=200, pattern=TEXT, description="Only actions on this object")
    ] = None,
) -> AuditPage:
    rows = await audit.page(session, limit=page.limit, after=page.after, object_id=object_id)
    kept, next_url = page.page(rows, lambda e: Cursor(key=str(e.id)))
    return AuditPage(items=[AuditEntryView.model_validate(e) for e in kept], next=next_url)
