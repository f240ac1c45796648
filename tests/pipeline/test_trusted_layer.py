"""The trusted layer enriches validated events from PostgreSQL, and dead-letters what it cannot."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pipeline_support import LenderRecords, charge_paid, consumed_to_end, envelope_signed, read_to_end, running

from lendflow.settings import Settings
from pipeline.events import TrustedEvent
from pipeline.intake import EventProducer, document_submitted
from pipeline.kafka import DLQ_ERROR_CLASS, DLQ_STAGE
from pipeline.runner import PipelineParts
from storage.models import PixCharge


async def test_validated_events_are_enriched_with_customer_application_and_installment(
    parts: PipelineParts, pipeline_settings: Settings, records: LenderRecords
) -> None:
    topics = pipeline_settings.kafka.topics
    customer = await records.customer(status="active")
    application = await records.application(customer, status="disbursed")
    installment = await records.installment(application, number=1)
    charge = await records.charge(application, amount=installment.payment, installment_number=1)
    signature = await records.signature_envelope(application)
    document = await records.document(
        customer, sha256="a" * 64, ecm_document_id=f"ecm-{uuid.uuid4().hex}", size_bytes=10
    )
    paid, signed, submitted = charge_paid(charge), envelope_signed(signature), document_submitted(document)
    gone = charge_paid(PixCharge(txid="x" * 30, application_id=uuid.uuid4(), amount=Decimal("10.00")))

    validated = EventProducer(pipeline_settings, topic=topics.validated)
    try:
        for event in (paid, signed, submitted, gone):
            await validated.publish(event)
    finally:
        await validated.aclose()
    async with running(parts, "trusted"):
        # The test wrote validated without transactions: its end offsets are where the stage must commit.
        await consumed_to_end(pipeline_settings, pipeline_settings.pipeline.groups.trusted, topics.validated)
    trusted = await read_to_end(pipeline_settings, topics.trusted)
    letters = await read_to_end(pipeline_settings, topics.dlq)

    events = {event.event_id: event for event in (TrustedEvent.model_validate_json(r.value) for r in trusted)}
    assert len(trusted) == 3
    assert set(events) == {str(paid.event_id), str(signed.event_id), str(submitted.event_id)}
    payment = events[str(paid.event_id)]
    assert payment.application is not None and payment.application.application_id == application.id
    assert payment.application.status == "disbursed" and payment.application.amount == Decimal("12000.00")
    assert payment.customer is not None and payment.customer.customer_id == customer.id
    assert payment.customer.status == "active"
    assert payment.installment is not None
    assert (payment.installment.number, payment.installment.payment) == (1, installment.payment)
    assert payment.data == paid.data and payment.subject == str(application.id)
    signature_event = events[str(signed.event_id)]
    assert signature_event.application is not None and signature_event.installment is None
    document_event = events[str(submitted.event_id)]
    assert document_event.customer is not None and document_event.customer.customer_id == customer.id
    assert document_event.application is None
    [letter] = letters
    assert (letter.headers[DLQ_STAGE], letter.headers[DLQ_ERROR_CLASS]) == ("trusted", "EnrichmentFailed")
    assert letter.value == gone.to_bytes()
