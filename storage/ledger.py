"""The double-entry ledger: post balanced entries, reverse them, derive balances from lines.

Accounts are named, not a table: each is an account code optionally scoped to a loan by the
entries' application id. Money is `Decimal` in reais, exact to the centavo.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JournalEntry, JournalLine

ZERO = Decimal("0.00")

# Chart of accounts used by origination and servicing.
LOANS_RECEIVABLE = "loans_receivable"  # asset: principal the customers owe
PIX_SETTLEMENT = "pix_settlement"  # asset: the lender's PIX settlement account
IOF_PAYABLE = "iof_payable"  # liability: IOF withheld, owed to the Federal Revenue
FEE_INCOME = "fee_income"
INTEREST_INCOME = "interest_income"
LATE_CHARGES_INCOME = "late_charges_income"


@dataclass(frozen=True)
class Posting:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


class UnbalancedEntry(ValueError):
    """The postings of an entry do not balance, or one posting is not one-sided and positive."""


def _check(postings: list[Posting]) -> None:
    for p in postings:
        if p.debit < 0 or p.credit < 0 or (p.debit == 0) == (p.credit == 0):
            raise UnbalancedEntry(f"posting to {p.account} must have exactly one positive side")
        if p.debit != p.debit.quantize(Decimal("0.01")) or p.credit != p.credit.quantize(Decimal("0.01")):
            raise UnbalancedEntry(f"posting to {p.account} is not in whole centavos")
    debits = sum((p.debit for p in postings), ZERO)
    credits = sum((p.credit for p in postings), ZERO)
    if debits != credits:
        raise UnbalancedEntry(f"debits {debits} != credits {credits}")


async def post_entry(
    session: AsyncSession,
    *,
    idempotency_key: str,
    application_id: uuid.UUID,
    kind: str,
    description: str,
    postings: list[Posting],
    reverses_entry_id: uuid.UUID | None = None,
) -> JournalEntry:
    """Post a balanced entry once per idempotency key; a second call returns the first entry."""
    existing = await session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    postings = [p for p in postings if p.debit or p.credit]
    _check(postings)
    entry = JournalEntry(
        id=uuid.uuid4(),
        idempotency_key=idempotency_key,
        application_id=application_id,
        kind=kind,
        description=description,
        reverses_entry_id=reverses_entry_id,
    )
    session.add(entry)
    await session.flush()
    session.add_all(JournalLine(entry_id=entry.id, account=p.account, debit=p.debit, credit=p.credit) for p in postings)
    await session.flush()
    return entry


async def reverse_entry(session: AsyncSession, *, idempotency_key: str, reason: str) -> JournalEntry | None:
    """Post the mirror of the entry with `idempotency_key` (once); None when it was never posted."""
    original = await session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key))
    if original is None:
        return None
    lines = (await session.scalars(select(JournalLine).where(JournalLine.entry_id == original.id))).all()
    return await post_entry(
        session,
        idempotency_key=f"{idempotency_key}:reversal",
        application_id=original.application_id,
        kind=f"{original.kind}_reversal",
        description=f"Reversal: {reason}"[:300],
        postings=[Posting(line.account, debit=line.credit, credit=line.debit) for line in lines],
        reverses_entry_id=original.id,
    )


async def balances(session: AsyncSession, application_id: uuid.UUID | None = None) -> dict[str, Decimal]:
    """Debit-positive balance of each account, derived from the lines (of one loan, or all)."""
    query = select(JournalLine.account, func.sum(JournalLine.debit) - func.sum(JournalLine.credit)).group_by(
        JournalLine.account
    )
    if application_id is not None:
        query = query.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
            JournalEntry.application_id == application_id
        )
    rows = (await session.execute(query.order_by(JournalLine.account))).all()
    return {account: Decimal(total).quantize(Decimal("0.01")) for account, total in rows}
