"""The versioned event envelope, the schema of each event type, and the trusted event.

Every message on the pipeline's topics is one JSON :class:`EventEnvelope`; its Kafka key is the
``subject`` (a customer or application id) so one subject's events stay in order. ``data`` is
checked against the schema registered for ``(type, version)`` in :data:`EVENT_SCHEMAS`. The trusted
layer publishes :class:`TrustedEvent`, which the event bridge also sends as the signal payload.

Workflows import this module, so it stays pure: pydantic and the standard library only.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

# The namespace of event ids derived from a provider's delivery id: the same webhook delivered
# twice becomes the same event id.
PROVIDER_EVENT_NAMESPACE = uuid.UUID("8d6f4a52-3c1e-4f7a-9a43-2f0f3d1a7c55")

DocumentType = Literal["id_front", "id_back", "selfie", "contract"]
Sha256 = Field(pattern=r"^[0-9a-f]{64}$")


def _money_text(value: Any) -> Any:
    # Money travels as a decimal string ("150.00"); a JSON number would already have lost precision.
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        raise ValueError("amounts must be decimal strings")
    return value


Money = Annotated[Decimal, BeforeValidator(_money_text), Field(gt=0, decimal_places=2)]


class EventEnvelope(BaseModel):
    """What every pipeline message is. ``delivery_id`` is the provider's own id for a webhook."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    source: str = Field(min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=200)
    delivery_id: str | None = Field(default=None, max_length=200)
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


# --- Data of each event type, version 1 ----------------------------------------------------------


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentSubmittedV1(_Data):
    """An identity or contract document stored in the ECM and recorded in ``documents``."""

    document_id: uuid.UUID
    customer_id: uuid.UUID
    document_type: DocumentType
    ecm_document_id: str = Field(min_length=1, max_length=100)
    sha256: str = Sha256
    content_type: str = Field(min_length=1, max_length=100)
    size_bytes: int = Field(ge=0)


class SignatureEnvelopeEventV1(_Data):
    """``esignature.envelope.signed|declined|expired``: the provider's envelope event."""

    envelope_id: str = Field(min_length=1, max_length=100)
    external_reference: str
    status: Literal["signed", "declined", "expired"]
    occurred_at: AwareDatetime
    signer_id: str | None = None


class ChargePaidV1(_Data):
    """``pix.charge.paid``: a PIX received on a charge (cob) of an installment or a payoff."""

    txid: str = Field(min_length=26, max_length=35)
    end_to_end_id: str = Field(min_length=32, max_length=32)
    amount: Money
    paid_at: AwareDatetime
    payer_name: str | None = None


class PayoutEventV1(_Data):
    """``pix.payout.settled|failed``: the disbursement PIX settled or failed."""

    end_to_end_id: str = Field(min_length=32, max_length=32)
    idempotency_key: str
    external_reference: str | None = None
    amount: Money
    destination: dict[str, Any]
    status: Literal["settled", "failed"]
    created_at: AwareDatetime
    settled_at: AwareDatetime | None = None
    failure_reason: str | None = None


# (type, version) → schema of ``data``.
EVENT_SCHEMAS: dict[tuple[str, int], type[_Data]] = {
    ("document.submitted", 1): DocumentSubmittedV1,
    ("esignature.envelope.signed", 1): SignatureEnvelopeEventV1,
    ("esignature.envelope.declined", 1): SignatureEnvelopeEventV1,
    ("esignature.envelope.expired", 1): SignatureEnvelopeEventV1,
    ("pix.charge.paid", 1): ChargePaidV1,
    ("pix.payout.settled", 1): PayoutEventV1,
    ("pix.payout.failed", 1): PayoutEventV1,
}


# --- Reading raw messages -----------------------------------------------------------------------


class EventRejected(Exception):
    """A message the pipeline will not pass on; it goes to the DLQ. The class name is the error class."""


class NotJson(EventRejected):
    """The message is not UTF-8 JSON."""


class NotAnEnvelope(EventRejected):
    """The message is JSON but not an event envelope."""


class UnknownEventType(EventRejected):
    """No schema is registered for the envelope's (type, version)."""


class SchemaViolation(EventRejected):
    """The envelope's data does not match its event type's schema."""


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors(include_url=False)
    )


def parse_envelope(raw: bytes | None) -> EventEnvelope:
    """The envelope in ``raw``, or :class:`NotJson` / :class:`NotAnEnvelope`."""
    try:
        # The usual case in one pass of pydantic's own JSON parser (half the time of json.loads
        # and then validating the objects); a failure is parsed again below, to say what it is.
        return EventEnvelope.model_validate_json(raw or b"")
    except ValidationError:
        pass
    try:
        document = json.loads(raw or b"")
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJson("the message is not JSON") from exc
    if not isinstance(document, dict):
        raise NotAnEnvelope("the message is not a JSON object")
    try:
        return EventEnvelope.model_validate(document)
    except ValidationError as exc:
        raise NotAnEnvelope(_describe(exc)) from exc


def parse_data(envelope: EventEnvelope) -> _Data:
    """The envelope's data, typed by its schema; :class:`UnknownEventType` / :class:`SchemaViolation`."""
    schema = EVENT_SCHEMAS.get((envelope.type, envelope.version))
    if schema is None:
        raise UnknownEventType(f"no schema for {envelope.type} v{envelope.version}")
    try:
        return schema.model_validate(envelope.data)
    except ValidationError as exc:
        raise SchemaViolation(_describe(exc)) from exc


# --- The trusted event: a validated envelope enriched from PostgreSQL ----------------------------


class CustomerSnapshot(BaseModel):
    """The customer as the lender knows it when the event is trusted (no CPF: it would travel)."""

    model_config = ConfigDict(frozen=True)

    customer_id: uuid.UUID
    status: str


class ApplicationSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    application_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    amount: Decimal
    term_months: int


class InstallmentSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    due_date: date
    payment: Decimal
    status: str


class TrustedEvent(BaseModel):
    """A validated event with what the lender knows of its customer, application and installment.

    Published on the trusted topic and sent by the event bridge as the signal argument; a workflow
    may read it as this model or as any type with the fields it needs (``event_id``, ``type``,
    ``subject``, ``data``). Redelivery is possible: a workflow applies an ``event_id`` once.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    source: str
    subject: str
    data: dict[str, Any]
    customer: CustomerSnapshot | None = None
    application: ApplicationSnapshot | None = None
    installment: InstallmentSnapshot | None = None
    trusted_at: datetime

    @field_validator("event_id", mode="before")
    @classmethod
    def _event_id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, uuid.UUID) else value

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()
