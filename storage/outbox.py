"""Domain events written in the same transaction as the state change they announce.

The outbox relay publishes them to `lending.events.v1`; callers only add rows inside their own
transaction, so an event exists exactly when its change was committed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxEvent


def record_event(session: AsyncSession, event_type: str, subject: str, payload: dict[str, Any]) -> OutboxEvent:
    event = OutboxEvent(event_type=event_type, subject=subject, payload=payload)
    session.add(event)
    return event
