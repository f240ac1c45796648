"""The trusted layer: validated → enriched from PostgreSQL → trusted.

Each validated event gets what the lender knows of it when it is trusted: the customer, the
application and, for a paid charge, the installment it pays. One query per entity per batch. An
event whose customer or application is gone by now goes to the DLQ (``stage=trusted``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.settings import Settings
from pipeline import metrics
from pipeline.dedupe import DedupeLedger
from pipeline.errors import transient_as_failure
from pipeline.events import (
    ApplicationSnapshot,
    CustomerSnapshot,
    EventEnvelope,
    EventRejected,
    InstallmentSnapshot,
    TrustedEvent,
)
from pipeline.stage import Item, TransactionalStage
from storage.models import Customer, Installment, LoanApplication, PixCharge


class EnrichmentFailed(EventRejected):
    """The customer or application of a validated event cannot be found any more."""


def _uuid(text: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def _about_customer(envelope: EventEnvelope) -> bool:
    return envelope.type.startswith("document.")


class TrustedStage(TransactionalStage):
    name = "trusted"

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: DedupeLedger,
        session_maker: async_sessionmaker[AsyncSession],
        worker: int = 0,
    ) -> None:
        super().__init__(settings, group_id=settings.pipeline.groups.trusted, ledger=ledger, worker=worker)
        self.input_topic = settings.kafka.topics.validated
        self._sessions = session_maker

    async def decide(self, items: Sequence[Item]) -> None:
        with transient_as_failure():
            async with self._sessions() as session:
                trusted = await self._enrich(session, [item.envelope for item in items])  # type: ignore[misc]
        for item in items:
            assert item.envelope is not None
            result = trusted[id(item.envelope)]
            if isinstance(result, EventRejected):
                self.reject(item, result)
            else:
                item.outputs = [self.output(self.settings.kafka.topics.trusted, item, result.to_bytes())]
                item.outcome = "trusted"

    async def _enrich(
        self, session: AsyncSession, envelopes: Sequence[EventEnvelope]
    ) -> dict[int, TrustedEvent | EventRejected]:
        application_ids = {i for e in envelopes if not _about_customer(e) and (i := _uuid(e.subject)) is not None}
        applications = {
            row.id: row
            for row in (
                await session.scalars(select(LoanApplication).where(LoanApplication.id.in_(application_ids)))
            ).all()
        }
        customer_ids = {i for e in envelopes if _about_customer(e) and (i := _uuid(e.subject)) is not None}
        customer_ids |= {application.customer_id for application in applications.values()}
        customers = {
            row.id: row.status
            for row in (
                await session.execute(select(Customer.id, Customer.status).where(Customer.id.in_(customer_ids)))
            ).all()
        }
        txids = {str(e.data.get("txid")) for e in envelopes if e.type == "pix.charge.paid"}
        installments: dict[str, Installment] = {}
        if txids:
            query = (
                select(PixCharge.txid, Installment)
                .join(
                    Installment,
                    and_(
                        Installment.application_id == PixCharge.application_id,
                        Installment.number == PixCharge.installment_number,
                    ),
                )
                .where(PixCharge.txid.in_(txids))
            )
            installments = {row.txid: row.Installment for row in (await session.execute(query)).all()}

        now = datetime.now(UTC)
        results: dict[int, TrustedEvent | EventRejected] = {}
        for envelope in envelopes:
            customer: CustomerSnapshot | None = None
            application: ApplicationSnapshot | None = None
            installment: InstallmentSnapshot | None = None
            subject_id = _uuid(envelope.subject)
            if _about_customer(envelope):
                status = customers.get(subject_id) if subject_id else None
                if status is None:
                    results[id(envelope)] = EnrichmentFailed(f"no customer {envelope.subject}")
                    continue
                customer = CustomerSnapshot(customer_id=subject_id, status=status)  # type: ignore[arg-type]
            else:
                row = applications.get(subject_id) if subject_id else None
                if row is None:
                    results[id(envelope)] = EnrichmentFailed(f"no application {envelope.subject}")
                    continue
                application = ApplicationSnapshot(
                    application_id=row.id,
                    customer_id=row.customer_id,
                    status=row.status,
                    amount=row.amount,
                    term_months=row.term_months,
                )
                if row.customer_id in customers:
                    customer = CustomerSnapshot(customer_id=row.customer_id, status=customers[row.customer_id])
                paid = installments.get(str(envelope.data.get("txid")))
                if paid is not None:
                    installment = InstallmentSnapshot(
                        number=paid.number, due_date=paid.due_date, payment=paid.payment, status=paid.status
                    )
            results[id(envelope)] = TrustedEvent(
                event_id=str(envelope.event_id),
                type=envelope.type,
                version=envelope.version,
                occurred_at=envelope.occurred_at,
                source=envelope.source,
                subject=envelope.subject,
                data=envelope.data,
                customer=customer,
                application=application,
                installment=installment,
                trusted_at=now,
            )
        return results

    def counted(self, item: Item) -> None:
        super().counted(item)
        if item.outcome == "trusted":
            metrics.TRUSTED.labels(item.event_type).inc()
