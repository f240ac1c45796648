"""The append-only ops audit log: who did what to which object, under which request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.keyset import Cursor
from storage.models import OpsAuditEntry


async def record(
    session_maker: async_sessionmaker[AsyncSession],
    *,
    operator_id: Any,
    operator_username: str,
    action: str,
    object_type: str,
    object_id: str,
    request_id: str,
    outcome: str,
    detail: dict[str, Any] | None = None,
) -> OpsAuditEntry:
    entry = OpsAuditEntry(
        operator_id=operator_id,
        operator_username=operator_username,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request_id=request_id,
        outcome=outcome[:100],
        detail=detail or {},
    )
    async with session_maker() as session, session.begin():
        session.add(entry)
    return entry


async def page(
    session: AsyncSession, *, limit: int, after: Cursor | None, object_id: str | None = None
) -> list[OpsAuditEntry]:
    """Newest first."""
    query = select(OpsAuditEntry).order_by(OpsAuditEntry.id.desc()).limit(limit + 1)
    if object_id is not None:
        query = query.where(OpsAuditEntry.object_id == object_id)
    if after is not None:
        query = query.where(OpsAuditEntry.id < after.int_key())
    return list((await session.scalars(query)).all())
