"""SQLAlchemy 2 typed models. Every schema change is an Alembic migration under ``migrations/``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.postal_address import PostalAddress
from workflows.contracts.origination import ApplicationStatus


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


class ProcessedEvent(Base):
    """One row per event whose effect a consumer has made durable.

    The unique key (consumer, event_id) is the backstop of Redis deduplication: when Redis has lost
    its marks, a second insert of the same event by the same consumer fails instead of applying twice.
    """

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("consumer", "event_id", name="uq_processed_events_consumer_event"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    # Pipeline stages (migration 0003): the attempt (1, raised by each dead-letter replay), what the
    # stage made of the event (validated, trusted, dead_lettered, bridged, unmatched), and the input
    # position that owns the claim: a claim owned by a position not yet committed is redone by it.
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    outcome: Mapped[str | None] = mapped_column(String(30))
    source_partition: Mapped[int | None]
    source_offset: Mapped[int | None] = mapped_column(BigInteger)


class OutboxEvent(Base):
    """A domain event written in the same transaction as the state change it announces.

    The outbox relay publishes unpublished rows to ``lending.events.v1`` in ``id`` order per subject
    and stamps ``published_at`` once the broker has acknowledged them.
    """

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(index=True)


# --- Customers and their documents -------------------------------------------------------------

Money = Numeric(18, 2)


class ApplicationStatusColumn(TypeDecorator[ApplicationStatus]):
    """An application's status as the journey's contract names it, stored as its value in the
    VARCHAR(30) column it has always been (no migration): rows load as `ApplicationStatus`."""

    impl = String(30)
    cache_ok = True

    def process_bind_param(self, value: ApplicationStatus | str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> ApplicationStatus | None:
        return None if value is None else ApplicationStatus(value)


class Customer(Base):
    """A registered customer. The CPF is stored as its 11 digits; it never reaches a log unmasked."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    cpf: Mapped[str] = mapped_column(String(11), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date]
    phone: Mapped[str] = mapped_column(String(20))
    monthly_income: Mapped[Decimal] = mapped_column(Money)
    # pending_onboarding → active | rejected
    status: Mapped[str] = mapped_column(String(30), default="pending_onboarding")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    # The postal address (migration 0008), whole or absent (ck_customers_address_whole): customers
    # registered before it have none until they add it. Personal data, like the CPF.
    address_postal_code: Mapped[str | None] = mapped_column(String(8))
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_number: Mapped[str | None] = mapped_column(String(20))
    address_complement: Mapped[str | None] = mapped_column(String(100))
    address_district: Mapped[str | None] = mapped_column(String(100))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def address(self) -> PostalAddress | None:
        if self.address_postal_code is None:
            return None
        return PostalAddress(
            postal_code=self.address_postal_code,
            street=self.address_street or "",
            number=self.address_number or "",
            complement=self.address_complement,
            district=self.address_district or "",
            city=self.address_city or "",
            state=self.address_state or "",
        )

    @address.setter
    def address(self, address: PostalAddress | None) -> None:
        self.address_postal_code = address.postal_code if address else None
        self.address_street = address.street if address else None
        self.address_number = address.number if address else None
        self.address_complement = address.complement if address else None
        self.address_district = address.district if address else None
        self.address_city = address.city if address else None
        self.address_state = address.state if address else None


class Document(Base):
    """An identity or contract document kept in the ECM; the row holds its id and SHA-256."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    application_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # id_front | id_back | selfie | contract
    document_type: Mapped[str] = mapped_column(String(30))
    ecm_document_id: Mapped[str] = mapped_column(String(100), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    # submitted → validated | rejected
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


# --- Loan applications (read model) and what hangs off them ------------------------------------


class LoanApplication(Base):
    """The read model of one loan application, kept current by the origination workflow's activities.

    ``status`` takes the workflow's statuses (`ApplicationStatus` in the origination contract).
    """

    __tablename__ = "loan_applications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        ApplicationStatusColumn(), index=True, default=ApplicationStatus.SUBMITTED
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    amortization: Mapped[str] = mapped_column(String(10))
    monthly_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    risk_band: Mapped[str | None] = mapped_column(String(10))
    offer: Mapped[dict[str, Any] | None]
    failed_step: Mapped[str | None] = mapped_column(String(50))
    # Credit limit held for this application from offer acceptance until it ends; released by compensation.
    reserved_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    # The ops action log of the workflow: steps so far, compensations run (JSON list).
    steps: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SignatureEnvelope(Base):
    """An eSignature envelope sent for an application's contract."""

    __tablename__ = "signature_envelopes"

    envelope_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan_applications.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    # The page where the borrower signs; the app hands it to the customer, Lendflow never fetches it.
    signing_url: Mapped[str | None] = mapped_column(String(500))
    # sent → signed | declined | expired | voided
    status: Mapped[str] = mapped_column(String(20), default="sent")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Installment(Base):
    """One installment of a disbursed loan (the loan id is its application id)."""

    __tablename__ = "installments"
    __table_args__ = (UniqueConstraint("application_id", "number", name="uq_installments_application_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan_applications.id"), index=True)
    number: Mapped[int]
    due_date: Mapped[date]
    payment: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    amortization: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    # open → paid
    status: Mapped[str] = mapped_column(String(20), default="open")
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    paid_at: Mapped[datetime | None]


class PixCharge(Base):
    """A dynamic PIX charge (cob) issued for an installment or a payoff."""

    __tablename__ = "pix_charges"

    txid: Mapped[str] = mapped_column(String(35), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan_applications.id"), index=True)
    installment_number: Mapped[int | None]
    amount: Mapped[Decimal] = mapped_column(Money)
    # What the customer pays with: the copy-and-paste BR Code, and the provider's payment page.
    br_code: Mapped[str | None] = mapped_column(String(512))
    payment_url: Mapped[str | None] = mapped_column(String(500))
    # open → paid | cancelled | expired
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    paid_at: Mapped[datetime | None]


# --- Ledger: double-entry, balances derived from lines -----------------------------------------


class JournalEntry(Base):
    """One balanced journal entry. A trigger checks at commit that its lines' debits equal credits.

    ``idempotency_key`` makes posting safe to retry: an activity that runs twice posts once.
    A reversal is a new entry with the lines swapped, pointing at the entry it reverses.
    """

    __tablename__ = "journal_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan_applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(300))
    reverses_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="ck_journal_lines_one_side"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(60), index=True)
    debit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


# --- Event pipeline: dead-letter replays and bridge events no workflow waited for ----------------


class DeadLetterReplay(Base):
    """One dead letter re-produced to the incoming topic by `lendflow dlq replay`.

    The unique letter position makes a second replay of the same letter a no-op (unless forced, and
    then the pipeline's dedupe applies it once anyway).
    """

    __tablename__ = "dead_letter_replays"
    __table_args__ = (
        UniqueConstraint("dlq_topic", "dlq_partition", "dlq_offset", name="uq_dead_letter_replays_letter"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dlq_topic: Mapped[str] = mapped_column(String(250))
    dlq_partition: Mapped[int]
    dlq_offset: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str | None] = mapped_column(String(200), index=True)
    event_type: Mapped[str | None] = mapped_column(String(100))
    attempt: Mapped[int]
    replayed_to: Mapped[str] = mapped_column(String(250))
    replayed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class UnmatchedEvent(Base):
    """A trusted event whose workflow no longer waits for it (not found, or already closed).

    Kept so that nothing is lost: ops can see it, and a later process can act on it.
    """

    __tablename__ = "unmatched_events"
    __table_args__ = (UniqueConstraint("consumer", "event_id", name="uq_unmatched_events_consumer_event"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    workflow_id: Mapped[str] = mapped_column(String(250))
    signal_name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())


# --- API: sessions, idempotent submissions, operators and their audit log -----------------------


class RefreshToken(Base):
    """One refresh token of a session family; only its SHA-256 is kept.

    Each refresh marks the presented token used and issues the next one in the same family. A used
    or revoked token presented again is a replay: the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # customer | operator
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A customer's `Idempotency-Key` on `POST /v1/loans`, claimed with the application it made.

    The first request with a key inserts this row and the application in one transaction; a
    concurrent or later request with the same key finds it and answers the stored response (or 422
    when its body differs). The foreign key is checked at commit, after both rows are in.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("customer_id", "key", name="uq_idempotency_keys_customer_key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_applications.id", deferrable=True, initially="DEFERRED")
    )
    response_status: Mapped[int]
    response_body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Operator(Base):
    """A member of the operations staff, who logs in to the ops API with a role of `ops`."""

    __tablename__ = "operators"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="ops")
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OpsAuditEntry(Base):
    """One ops action: who did what to which object, under which request, and how it ended.

    Append-only: a trigger refuses UPDATE and DELETE (migration 0005).
    """

    __tablename__ = "ops_audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operators.id"), index=True)
    operator_username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(200), index=True)
    request_id: Mapped[str] = mapped_column(String(128))
    # done, or refused:<reason>
    outcome: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
