"""Loan applications (the read model), their idempotent submission, and their installments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.keyset import Cursor, newest_first_after, oldest_first_after
from storage.models import IdempotencyKey, Installment, LoanApplication, PixCharge, SignatureEnvelope


async def submit(
    session_maker: async_sessionmaker[AsyncSession],
    *,
    customer_id: uuid.UUID,
    key: str,
    request_hash: str,
    amount: Decimal,
    term_months: int,
    amortization: str,
    response_body: Callable[[uuid.UUID, datetime], dict[str, Any]],
) -> tuple[IdempotencyKey, bool]:
    """Claim ``key`` for this customer and insert the application, in one transaction.

    ``response_body(application_id, created_at)`` builds the answer stored with the key. Returns the
    key's row (this request's, or the one that claimed it first) and whether this request made it.
    Concurrent requests with the same key wait on the unique index for the first to commit, then
    find its row: one application, whatever the number of requests.
    """
    application_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with session_maker() as session:
        async with session.begin():
            claimed = await session.scalar(
                insert(IdempotencyKey)
                .values(
                    customer_id=customer_id,
                    key=key,
                    request_hash=request_hash,
                    application_id=application_id,
                    response_status=202,
                    response_body=response_body(application_id, now),
                )
                .on_conflict_do_nothing(constraint="uq_idempotency_keys_customer_key")
                .returning(IdempotencyKey.id)
            )
            if claimed is not None:
                session.add(
                    LoanApplication(
                        id=application_id,
                        customer_id=customer_id,
                        status="submitted",
                        amount=amount,
                        term_months=term_months,
                        amortization=amortization,
                        created_at=now,
                        updated_at=now,
                    )
                )
        row = await session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.customer_id == customer_id, IdempotencyKey.key == key)
        )
    assert row is not None
    return row, claimed is not None


async def of_customer(
    session: AsyncSession, customer_id: uuid.UUID, application_id: uuid.UUID
) -> LoanApplication | None:
    """The application, only when it is this customer's."""
    return await session.scalar(
        select(LoanApplication).where(LoanApplication.id == application_id, LoanApplication.customer_id == customer_id)
    )


async def by_id(session: AsyncSession, application_id: uuid.UUID) -> LoanApplication | None:
    return await session.get(LoanApplication, application_id)


async def page_of_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, status: str | None, limit: int, after: Cursor | None
) -> list[LoanApplication]:
    query = (
        select(LoanApplication)
        .where(LoanApplication.customer_id == customer_id)
        .where(newest_first_after(LoanApplication.created_at, LoanApplication.id, after))
        .order_by(LoanApplication.created_at.desc(), LoanApplication.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(LoanApplication.status == status)
    return list((await session.scalars(query)).all())


async def page_by_status(
    session: AsyncSession, *, status: str | None, limit: int, after: Cursor | None, oldest_first: bool = False
) -> list[LoanApplication]:
    """For ops: every customer's applications, newest first (the review queue: oldest first)."""
    if oldest_first:
        order = (LoanApplication.created_at.asc(), LoanApplication.id.asc())
        keyset = oldest_first_after(LoanApplication.created_at, LoanApplication.id, after)
    else:
        order = (LoanApplication.created_at.desc(), LoanApplication.id.desc())
        keyset = newest_first_after(LoanApplication.created_at, LoanApplication.id, after)
    query = select(LoanApplication).where(keyset).order_by(*order).limit(limit + 1)
    if status is not None:
        query = query.where(LoanApplication.status == status)
    return list((await session.scalars(query)).all())


async def installments(
    session: AsyncSession, application_id: uuid.UUID, *, limit: int, after: Cursor | None
) -> list[Installment]:
    query = (
        select(Installment)
        .where(Installment.application_id == application_id)
        .order_by(Installment.number.asc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Installment.number > after.int_key())
    return list((await session.scalars(query)).all())


async def signing_url(session: AsyncSession, application_id: uuid.UUID) -> str | None:
    """The signing page of the application's envelope still awaiting the signature, if any."""
    return await session.scalar(
        select(SignatureEnvelope.signing_url)
        .where(SignatureEnvelope.application_id == application_id, SignatureEnvelope.status == "sent")
        .order_by(SignatureEnvelope.created_at.desc())
        .limit(1)
    )


async def open_charges(session: AsyncSession, application_id: uuid.UUID) -> dict[int, PixCharge]:
    """The open PIX charge of each installment that has one (the newest, when a late one was reissued)."""
    rows = await session.scalars(
        select(PixCharge)
        .where(
            PixCharge.application_id == application_id,
            PixCharge.status == "open",
            PixCharge.installment_number.is_not(None),
        )
        .order_by(PixCharge.created_at.asc())
    )
    return {row.installment_number: row for row in rows if row.installment_number is not None}
