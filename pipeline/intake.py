"""Intake: outside events onto the incoming topic.

The API puts two kinds of events on ``lending.incoming.v1``:

- provider webhooks, once verified (:mod:`integrations.webhooks`): :func:`envelope_from_webhook`
  turns the body (a :class:`integrations.webhooks.WebhookEvent`) into an envelope whose type is
  ``{provider}.{webhook type}`` (``esignature.envelope.signed``, ``pix.charge.paid``…), whose event
  id is derived from the provider's delivery id (a redelivered webhook is the same event) and whose
  subject is the application: taken from ``external_reference`` (``loan-{application_id}``) for
  envelopes and payouts, and from the charge's row for a paid charge (:class:`WebhookIntake`);
- document submissions: :func:`document_submitted` from the ``documents`` row just written.

:class:`EventProducer` is idempotent with ``acks=all``; :meth:`EventProducer.publish` returns only
once the broker acknowledged the event, so the API answers a webhook 2xx only for a durable event.
"""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.settings import Settings
from pipeline.events import PROVIDER_EVENT_NAMESPACE, EventEnvelope
from pipeline.kafka import ATTEMPT_HEADER, idempotent_producer_config
from storage.models import Document, PixCharge

log = structlog.get_logger(__name__)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DOCUMENT_SOURCE = "lendflow.api"


class UnroutableWebhook(ValueError):
    """A webhook whose application cannot be told from its body."""


class EventProducer:
    """Publishes envelopes, keyed by subject, and waits for the broker's acknowledgement."""

    def __init__(self, settings: Settings, *, topic: str | None = None) -> None:
        self.settings = settings
        self.topic = topic or settings.kafka.topics.incoming
        self._producer = Producer(idempotent_producer_config(settings))
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="lendflow-event-producer", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.1)

    async def publish(self, envelope: EventEnvelope, *, topic: str | None = None) -> None:
        await self.publish_raw(envelope.subject.encode(), envelope.to_bytes(), topic=topic)
        log.info("pipeline.event_received", event_id=str(envelope.event_id), event_type=envelope.type)

    async def publish_raw(
        self, key: bytes | None, value: bytes, *, topic: str | None = None, headers: Mapping[str, bytes] | None = None
    ) -> None:
        """Publish bytes as they are (tests and tools use this for messages that are not envelopes)."""
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            def settle() -> None:
                if delivered.done():
                    return
                if error is not None:
                    delivered.set_exception(KafkaException(error))
                else:
                    delivered.set_result(None)

            loop.call_soon_threadsafe(settle)

        all_headers = {ATTEMPT_HEADER: b"1", **(headers or {})}
        while True:
            try:
                self._producer.produce(
                    topic or self.topic,
                    key=key,
                    value=value,
                    headers=list(all_headers.items()),
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                await asyncio.sleep(0.05)
        await delivered

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is in flight, then stop."""
        self._producer.flush(timeout)
        self._closed.set()
        self._poller.join(timeout=5)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


def provider_event_id(provider: str, delivery_id: str) -> uuid.UUID:
    return uuid.uuid5(PROVIDER_EVENT_NAMESPACE, f"{provider}:{delivery_id}")


def application_of_reference(reference: object) -> str | None:
    """``"loan-<uuid>"`` (or a bare uuid) → the application id."""
    if not isinstance(reference, str):
        return None
    found = _UUID.search(reference)
    return str(uuid.UUID(found.group(0))) if found else None


def _occurred_at(body: Mapping[str, Any]) -> datetime:
    raw = body.get("created_at")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def envelope_from_webhook(
    provider: str, body: Mapping[str, Any], delivery_id: str, *, subject: str | None = None
) -> EventEnvelope:
    """The envelope for one verified webhook. ``subject`` overrides what the body says.

    Raises :class:`UnroutableWebhook` when no subject can be told (a paid charge needs its row:
    use :class:`WebhookIntake`).
    """
    webhook_type = str(body.get("type", ""))
    data = body.get("data")
    if not isinstance(data, dict):
        data = {}
    if subject is None:
        subject = application_of_reference(data.get("external_reference"))
    if subject is None:
        raise UnroutableWebhook(f"{provider} {webhook_type}: no application in the body")
    return EventEnvelope(
        event_id=provider_event_id(provider, delivery_id),
        type=f"{provider}.{webhook_type}",
        version=1,
        occurred_at=_occurred_at(body),
        source=provider,
        subject=subject,
        delivery_id=delivery_id,
        data=data,
    )


def document_submitted(document: Document, *, occurred_at: datetime | None = None) -> EventEnvelope:
    """The event for a document just recorded; submitting the same row twice is the same event."""
    return EventEnvelope(
        event_id=uuid.uuid5(PROVIDER_EVENT_NAMESPACE, f"document.submitted:{document.id}"),
        type="document.submitted",
        version=1,
        occurred_at=occurred_at or datetime.now(UTC),
        source=DOCUMENT_SOURCE,
        subject=str(document.customer_id),
        data={
            "document_id": str(document.id),
            "customer_id": str(document.customer_id),
            "document_type": document.document_type,
            "ecm_document_id": document.ecm_document_id,
            "sha256": document.sha256,
            "content_type": document.content_type,
            "size_bytes": document.size_bytes,
        },
    )


class WebhookIntake:
    """What the API's webhook receiver calls once a delivery is verified."""

    def __init__(self, producer: EventProducer, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self._producer = producer
        self._sessions = session_maker

    async def subject_of(self, provider: str, body: Mapping[str, Any]) -> str | None:
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        assert isinstance(data, dict)
        if provider == "pix" and body.get("type") == "charge.paid" and isinstance(data.get("txid"), str):
            async with self._sessions() as session:
                application_id = await session.scalar(
                    select(PixCharge.application_id).where(PixCharge.txid == data["txid"])
                )
            return str(application_id) if application_id else None
        return application_of_reference(data.get("external_reference"))

    async def accept(self, provider: str, body: Mapping[str, Any], delivery_id: str) -> EventEnvelope:
        """Publish the webhook's event to incoming; returns it once the broker has it.

        A webhook whose application cannot be told is still published (subject
        ``{provider}:{delivery_id}``) so that validation dead-letters it where ops can see it.
        """
        subject = await self.subject_of(provider, body) or f"{provider}:{delivery_id}"
        envelope = envelope_from_webhook(provider, body, delivery_id, subject=subject)
        await self._producer.publish(envelope)
        return envelope
