"""Dead letters: listed by partition and offset from the DLQ topic, and replayed one at a time.

A page is read from where the previous one stopped (its cursor is a partition and the next offset
to read there), so a page costs at most ``limit + 1`` messages wherever it is in the topic and every
letter can be reached. A page the time budget (``api.dead_letter_scan_seconds``) cut short says so
with ``partial``; its ``next`` link goes on from where the scan stopped.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from confluent_kafka import KafkaException
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import CurrentOperator, SettingsDep
from api.openapi import problems
from api.pagination import Page, PageDep
from api.problems import ServiceUnavailable
from api.services.ops_actions import OpsActionsDep
from pipeline.dlq import Letter, LetterPosition, read_letter_page
from storage.keyset import BadCursor, Cursor

router = APIRouter(prefix="/v1/ops", tags=["ops"])


class DeadLetterView(BaseModel):
    letter_id: str = Field(description="PARTITION:OFFSET in the DLQ topic")
    partition: int
    offset: int
    stage: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    attempt: int
    event_id: str | None = None
    event_type: str | None = None
    failed_at: str | None = None
    size_bytes: int

    @classmethod
    def of(cls, letter: Letter) -> DeadLetterView:
        return cls(
            letter_id=letter.letter_id,
            partition=letter.partition,
            offset=letter.offset,
            stage=letter.stage,
            error_class=letter.error_class,
            error_message=letter.error_message,
            attempt=letter.attempt,
            event_id=letter.event_id,
            event_type=letter.event_type,
            failed_at=letter.failed_at,
            size_bytes=len(letter.value or b""),
        )


class DeadLetterPage(Page[DeadLetterView]):
    partial: bool = Field(
        description="True when reading the DLQ ran out of time before this page was full or the topic's end was"
        " reached: letters may follow that this page could not show; `next` continues from where it stopped"
    )
    partial_reason: str | None = Field(default=None, description="Why the page is partial, for people")


class ReplayView(BaseModel):
    letter_id: str
    status: str = Field(description="replayed, already_replayed or attempts_exhausted")
    attempt: int


def cursor_of(position: LetterPosition) -> Cursor:
    return Cursor(key=f"{position.partition}:{position.offset}")


def position_of(cursor: Cursor) -> LetterPosition:
    partition, _, offset = cursor.key.partition(":")
    if not partition.isdigit() or not offset.isdigit() or len(partition) > 6 or len(offset) > 19:
        raise BadCursor(cursor.key)
    return LetterPosition(int(partition), int(offset))


@router.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    operation_id="ops_list_dead_letters",
    summary="Dead letters in the DLQ, by partition and offset",
    responses=problems(401, 422, 503),
)
async def list_dead_letters(operator: CurrentOperator, settings: SettingsDep, page: PageDep) -> DeadLetterPage:
    start = position_of(page.after) if page.after is not None else None
    try:
        found = await asyncio.to_thread(
            read_letter_page,
            settings,
            start=start,
            limit=page.limit,
            budget_seconds=settings.api.dead_letter_scan_seconds,
        )
    except KafkaException as exc:  # the broker is not reachable
        raise ServiceUnavailable("the dead-letter queue cannot be read now") from exc
    next_url = page.link(cursor_of(found.resume_at)) if found.resume_at is not None else None
    reason = None
    if found.partial and found.resume_at is not None:
        reason = (
            f"reading the dead-letter queue took longer than {settings.api.dead_letter_scan_seconds:g} s;"
            f" it stopped at partition {found.resume_at.partition}, offset {found.resume_at.offset}"
        )
    return DeadLetterPage(
        items=[DeadLetterView.of(letter) for letter in found.letters],
        next=next_url,
        partial=found.partial,
        partial_reason=reason,
    )


@router.post(
    "/dead-letters/{partition}/{offset}/replay",
    status_code=202,
    response_model=ReplayView,
    operation_id="ops_replay_dead_letter",
    summary="Re-produce one dead letter to the incoming topic (once; attempts are bounded)",
    responses=problems(401, 404, 422, 503),
)
async def replay_dead_letter(
    partition: Annotated[int, Path(ge=0, le=10_000)],
    offset: Annotated[int, Path(ge=0, le=2**62)],
    actions: OpsActionsDep,
) -> ReplayView:
    outcome = await actions.replay_dead_letter(partition, offset)
    return ReplayView(letter_id=f"{partition}:{offset}", status=outcome.status, attempt=outcome.attempt)
