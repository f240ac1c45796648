"""SQLAlchemy 2 typed models. Every schema change is an Alembic migration under ``migrations/``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())


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
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


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

    ``status`` takes the workflow's statuses: submitted, analyzing, manual_review, offer_ready,
    offer_accepted, contract_sent, signed, disbursing, disbursed, and the terminal declined,
    expired, cancelled, failed.
    """

    __tablename__ = "loan_applications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True, default="submitted")
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    amortization: Mapped[str] = mapped_column(String(10))
    monthly_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    risk_band: Mapped[str | None] = mapped_column(String(10))
    offer: Mapped[dict[str, Any] | None]
    failed_step: Mapped[str | None] = mapped_column(String(50))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SignatureEnvelope(Base):
    """An eSignature envelope sent for an application's contract."""

    __tablename__ = "signature_envelopes"

    envelope_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan_applications.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
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
    # open → paid | cancelled | expired
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    paid_at: Mapped[datetime | None]
