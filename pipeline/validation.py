"""Validation: incoming → (dedupe) → schema and business checks → validated, or the DLQ.

Dedupe runs in this same stage, on the incoming topic's consumer group: it has no topic of its own
to write to, and the dedupe mark is only worth something when it commits together with the
validation outcome it guards (see :mod:`pipeline.dedupe`).

The checks per event type (v1), each batched into one query per type and batch:

- ``document.submitted`` (subject: the customer): the ``documents`` row exists and matches every
  field; the type, content type and size are allowed; the ECM holds the document and its SHA-256
  is the one announced.
- ``esignature.envelope.*`` (subject: the application): the envelope exists and belongs to it.
- ``pix.charge.paid`` (subject: the application): an open charge of the application has this txid
  and this amount.
- ``pix.payout.*`` (subject: the application): the application exists and is disbursing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.ecm import EcmClient
from integrations.errors import DocumentNotFound
from lendflow.settings import Settings
from pipeline import metrics
from pipeline.dedupe import DedupeLedger
from pipeline.errors import transient_as_failure
from pipeline.events import (
    ChargePaidV1,
    DocumentSubmittedV1,
    EventEnvelope,
    EventRejected,
    PayoutEventV1,
    SignatureEnvelopeEventV1,
    parse_data,
)
from pipeline.stage import Item, TransactionalStage
from storage.models import Document, LoanApplication, PixCharge, SignatureEnvelope


class BusinessRuleViolation(EventRejected):
    """The event is well formed but contradicts what the lender knows."""


class SubjectMismatch(BusinessRuleViolation):
    """The envelope's subject is not the customer or application the event is about."""


class DocumentNotRecorded(BusinessRuleViolation):
    """No ``documents`` row has the announced document id."""


class DocumentMismatch(BusinessRuleViolation):
    """The ``documents`` row differs from the event (customer, type, ECM id, hash, content type or size)."""


class DocumentNotAllowed(BusinessRuleViolation):
    """The content type or the size is outside what the lender accepts."""


class DocumentHashMismatch(BusinessRuleViolation):
    """The ECM does not hold the document, or holds other bytes than announced."""


class SignatureEnvelopeUnknown(BusinessRuleViolation):
    """No envelope has the announced id."""


class SignatureEnvelopeNotOfApplication(BusinessRuleViolation):
    """The envelope belongs to another application."""


class StatusMismatch(BusinessRuleViolation):
    """The event's type and the status in its data disagree."""


class ChargeMismatch(BusinessRuleViolation):
    """No open charge of the application has this txid and amount."""


class ApplicationNotDisbursing(BusinessRuleViolation):
    """The application does not exist or is not waiting for its disbursement."""


class DocumentStore(Protocol):
    """Where identity documents are kept: the ECM."""

    async def sha256_of(self, ecm_document_id: str) -> str | None:
        """The stored document's SHA-256, or None when the ECM does not hold it."""
        ...


class EcmDocumentStore:
    """The ECM client as a :class:`DocumentStore`. Unavailability propagates (transient)."""

    def __init__(self, ecm: EcmClient, *, concurrency: int = 16) -> None:
        self._ecm = ecm
        self._limit = asyncio.Semaphore(concurrency)

    async def sha256_of(self, ecm_document_id: str) -> str | None:
        async with self._limit:
            try:
                return (await self._ecm.get_document(ecm_document_id)).sha256
            except DocumentNotFound:
                return None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


Checked = list[tuple[EventEnvelope, object]]
Verdicts = dict[int, EventRejected | None]  # id(envelope) → rejection or None


class EventValidator:
    """The business checks, batched by event family."""

    def __init__(self, settings: Settings, documents: DocumentStore) -> None:
        self.settings = settings
        self.documents = documents
        self._families: dict[type, Callable[[AsyncSession, Checked], Awaitable[Verdicts]]] = {
            DocumentSubmittedV1: self._documents,
            SignatureEnvelopeEventV1: self._signature_envelopes,
            ChargePaidV1: self._charges,
            PayoutEventV1: self._payouts,
        }

    async def check(self, session: AsyncSession, events: Checked) -> Verdicts:
        by_family: dict[type, Checked] = defaultdict(list)
        for envelope, data in events:
            by_family[type(data)].append((envelope, data))
        verdicts: Verdicts = {}
        for family, members in by_family.items():
            verdicts.update(await self._families[family](session, members))
        return verdicts

    async def _documents(self, session: AsyncSession, events: Checked) -> Verdicts:
        ids = {data.document_id for _, data in events}  # type: ignore[attr-defined]
        rows = {row.id: row for row in (await session.scalars(select(Document).where(Document.id.in_(ids)))).all()}
        allowed = set(self.settings.pipeline.document_content_types)
        verdicts: Verdicts = {}
        pending_hash: list[tuple[EventEnvelope, DocumentSubmittedV1]] = []
        for envelope, data in events:
            assert isinstance(data, DocumentSubmittedV1)
            row = rows.get(data.document_id)
            if envelope.subject != str(data.customer_id):
                verdicts[id(envelope)] = SubjectMismatch("the subject is not the document's customer")
            elif row is None:
                verdicts[id(envelope)] = DocumentNotRecorded(f"no document {data.document_id}")
            elif (row.customer_id, row.document_type, row.ecm_document_id, row.sha256, row.content_type,
                  row.size_bytes) != (data.customer_id, data.document_type, data.ecm_document_id, data.sha256,
                                      data.content_type, data.size_bytes):  # fmt: skip
                differing = [
                    name
                    for name in ("customer_id", "document_type", "ecm_document_id", "sha256", "content_type",
                                 "size_bytes")
                    if getattr(row, name) != getattr(data, name)
                ]  # fmt: skip
                verdicts[id(envelope)] = DocumentMismatch(f"the document record differs in {', '.join(differing)}")
            elif data.content_type not in allowed:
                verdicts[id(envelope)] = DocumentNotAllowed(f"content type {data.content_type} is not accepted")
            elif not 0 < data.size_bytes <= self.settings.pipeline.document_max_bytes:
                verdicts[id(envelope)] = DocumentNotAllowed(f"size {data.size_bytes} bytes is not accepted")
            else:
                pending_hash.append((envelope, data))
        hashes = await asyncio.gather(*(self.documents.sha256_of(data.ecm_document_id) for _, data in pending_hash))
        for (envelope, data), stored in zip(pending_hash, hashes, strict=True):
            if stored is None:
                verdicts[id(envelope)] = DocumentHashMismatch(f"the ECM holds no document {data.ecm_document_id}")
            elif stored != data.sha256:
                verdicts[id(envelope)] = DocumentHashMismatch("the ECM's SHA-256 differs from the announced one")
            else:
                verdicts[id(envelope)] = None
        return verdicts

    async def _signature_envelopes(self, session: AsyncSession, events: Checked) -> Verdicts:
        ids = {data.envelope_id for _, data in events}  # type: ignore[attr-defined]
        query = select(SignatureEnvelope).where(SignatureEnvelope.envelope_id.in_(ids))
        rows = {row.envelope_id: row for row in (await session.scalars(query)).all()}
        verdicts: Verdicts = {}
        for envelope, data in events:
            assert isinstance(data, SignatureEnvelopeEventV1)
            row = rows.get(data.envelope_id)
            if envelope.type.rsplit(".", 1)[-1] != data.status:
                verdicts[id(envelope)] = StatusMismatch(f"{envelope.type} carries status {data.status}")
            elif row is None:
                verdicts[id(envelope)] = SignatureEnvelopeUnknown(f"no envelope {data.envelope_id}")
            elif str(row.application_id) != envelope.subject:
                verdicts[id(envelope)] = SignatureEnvelopeNotOfApplication(
                    f"envelope {data.envelope_id} belongs to another application"
                )
            else:
                verdicts[id(envelope)] = None
        return verdicts

    async def _charges(self, session: AsyncSession, events: Checked) -> Verdicts:
        txids = {data.txid for _, data in events}  # type: ignore[attr-defined]
        rows = {
            row.txid: row for row in (await session.scalars(select(PixCharge).where(PixCharge.txid.in_(txids)))).all()
        }
        verdicts: Verdicts = {}
        for envelope, data in events:
            assert isinstance(data, ChargePaidV1)
            row = rows.get(data.txid)
            if row is None or str(row.application_id) != envelope.subject:
                verdicts[id(envelope)] = ChargeMismatch(f"no charge {data.txid} of application {envelope.subject}")
            elif row.status != "open":
                verdicts[id(envelope)] = ChargeMismatch(f"charge {data.txid} is {row.status}, not open")
            elif row.amount != data.amount:
                verdicts[id(envelope)] = ChargeMismatch(f"paid {data.amount} on a charge of {row.amount}")
            else:
                verdicts[id(envelope)] = None
        return verdicts

    async def _payouts(self, session: AsyncSession, events: Checked) -> Verdicts:
        ids = {i for envelope, _ in events if (i := _uuid(envelope.subject)) is not None}
        query = select(LoanApplication.id, LoanApplication.status).where(LoanApplication.id.in_(ids))
        statuses = {row.id: row.status for row in (await session.execute(query)).all()}
        verdicts: Verdicts = {}
        for envelope, data in events:
            assert isinstance(data, PayoutEventV1)
            application_id = _uuid(envelope.subject)
            status = statuses.get(application_id) if application_id else None
            if envelope.type.rsplit(".", 1)[-1] != data.status:
                verdicts[id(envelope)] = StatusMismatch(f"{envelope.type} carries status {data.status}")
            elif status is None:
                verdicts[id(envelope)] = ApplicationNotDisbursing(f"no application {envelope.subject}")
            elif status != "disbursing":
                verdicts[id(envelope)] = ApplicationNotDisbursing(f"application {envelope.subject} is {status}")
            else:
                verdicts[id(envelope)] = None
        return verdicts


class ValidationStage(TransactionalStage):
    name = "validation"
    dedupe_by_delivery = True

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: DedupeLedger,
        session_maker: async_sessionmaker[AsyncSession],
        documents: DocumentStore,
        worker: int = 0,
    ) -> None:
        super().__init__(settings, group_id=settings.pipeline.groups.validation, ledger=ledger, worker=worker)
        self.input_topic = settings.kafka.topics.incoming
        self._sessions = session_maker
        self.validator = EventValidator(settings, documents)

    async def decide(self, items: Sequence[Item]) -> None:
        typed: Checked = []
        by_envelope: dict[int, Item] = {}
        for item in items:
            assert item.envelope is not None
            try:
                typed.append((item.envelope, parse_data(item.envelope)))
                by_envelope[id(item.envelope)] = item
            except EventRejected as exc:
                self.reject(item, exc)
        if not typed:
            return
        # A failure that is no one event's fault and not transient is a bug: it is raised as it is,
        # failing loudly rather than dead-lettering a whole batch of good events.
        with transient_as_failure():
            async with self._sessions() as session:
                verdicts = await self.validator.check(session, typed)
        for envelope, _ in typed:
            item = by_envelope[id(envelope)]
            rejection = verdicts.get(id(envelope))
            if rejection is not None:
                self.reject(item, rejection)
            else:
                item.outputs = [self.output(self.settings.kafka.topics.validated, item, envelope.to_bytes())]
                item.outcome = "validated"

    def counted(self, item: Item) -> None:
        super().counted(item)
        if item.outcome == "validated":
            metrics.VALIDATED.labels(item.event_type).inc()
