"""Validation on real Kafka, PostgreSQL and Redis, with documents in the simulator's ECM over HTTP."""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal

from pipeline_support import (
    LenderRecords,
    charge_paid,
    envelope,
    envelope_signed,
    event_ids,
    new_end_to_end_id,
    read_to_end,
    running,
    validated_only,
)
from prometheus_client import REGISTRY

from integrations.ecm import EcmClient
from lendflow.settings import Settings
from pipeline.intake import EventProducer, document_submitted
from pipeline.kafka import (
    DLQ_ATTEMPT,
    DLQ_ERROR_CLASS,
    DLQ_ERROR_MESSAGE,
    DLQ_EVENT_ID,
    DLQ_SOURCE_OFFSET,
    DLQ_SOURCE_PARTITION,
    DLQ_SOURCE_TOPIC,
    DLQ_STAGE,
)
from pipeline.runner import PipelineParts


async def _stored_document(ecm: EcmClient, content: bytes, content_type: str = "image/jpeg") -> str:
    stored = await ecm.store_document(content, filename="id-front.jpg", content_type=content_type)
    return stored.document_id


def _payout(application_id: uuid.UUID, status: str) -> dict[str, object]:
    return {
        "end_to_end_id": new_end_to_end_id(),
        "idempotency_key": f"disburse-{application_id}",
        "external_reference": f"loan-{application_id}",
        "amount": "12000.00",
        "destination": {"type": "pix_key", "pix_key": "maria@example.com"},
        "status": status,
        "created_at": "2026-01-02T10:00:00+00:00",
        "settled_at": "2026-01-02T10:00:02+00:00",
        "failure_reason": None,
    }


async def test_each_event_type_is_validated_or_dead_lettered_by_its_business_rules(
    parts: PipelineParts, pipeline_settings: Settings, producer: EventProducer, records: LenderRecords, ecm: EcmClient
) -> None:
    topics = pipeline_settings.kafka.topics
    customer = await records.customer()
    content = b"\xff\xd8 identity document " + uuid.uuid4().bytes
    digest = hashlib.sha256(content).hexdigest()

    good_document = await records.document(
        customer, sha256=digest, ecm_document_id=await _stored_document(ecm, content), size_bytes=len(content)
    )
    # The row and the event agree, but the ECM holds other bytes under that id.
    other = b"other bytes " + uuid.uuid4().bytes
    tampered = await records.document(
        customer, sha256=digest, ecm_document_id=await _stored_document(ecm, other), size_bytes=len(content),
        document_type="id_back",
    )  # fmt: skip
    gif = await records.document(
        customer, sha256=digest, ecm_document_id=f"ecm-{uuid.uuid4().hex}", size_bytes=len(content),
        content_type="image/gif", document_type="selfie",
    )  # fmt: skip

    application = await records.application()
    signature = await records.signature_envelope(application)
    someone_elses = await records.application()
    charge = await records.charge(application, amount=Decimal("1093.72"))
    disbursing = await records.application(status="disbursing")

    expected_valid = {
        "document": document_submitted(good_document),
        "signature": envelope_signed(signature),
        "charge": charge_paid(charge),
        "payout": envelope("pix.payout.settled", disbursing.id, _payout(disbursing.id, "settled"), source="pix"),
    }
    expected_invalid = {
        "DocumentHashMismatch": document_submitted(tampered),
        "DocumentNotAllowed": document_submitted(gif),
        "SignatureEnvelopeNotOfApplication": envelope_signed(signature, subject=someone_elses.id),
        "ChargeMismatch": charge_paid(charge, amount=Decimal("1000.00")),
        "ApplicationNotDisbursing": envelope(
            "pix.payout.failed", application.id, _payout(application.id, "failed"), source="pix"
        ),
        "StatusMismatch": envelope("pix.payout.settled", disbursing.id, _payout(disbursing.id, "failed"), source="pix"),
        "SchemaViolation": envelope("pix.charge.paid", application.id, {"txid": charge.txid, "amount": 12.5}),
        "UnknownEventType": envelope("pix.refund.settled", application.id, {}),
    }
    for event in [*expected_valid.values(), *expected_invalid.values()]:
        await producer.publish(event)

    validated_before = (
        REGISTRY.get_sample_value("lendflow_pipeline_validated_total", {"event_type": "pix.charge.paid"}) or 0.0
    )
    async with running(parts, "validation"):
        validated = await validated_only(pipeline_settings)
        letters = await read_to_end(pipeline_settings, topics.dlq)

    assert sorted(event_ids(validated)) == sorted(str(e.event_id) for e in expected_valid.values())
    by_event = {record.headers[DLQ_EVENT_ID]: record for record in letters}
    assert len(letters) == len(expected_invalid)
    assert set(by_event) == {str(e.event_id) for e in expected_invalid.values()}
    for error_class, event in expected_invalid.items():
        letter = by_event[str(event.event_id)]
        assert letter.headers[DLQ_ERROR_CLASS] == error_class
        assert letter.headers[DLQ_STAGE] == "validation"
        assert letter.headers[DLQ_ATTEMPT] == "1"
        assert letter.headers[DLQ_ERROR_MESSAGE]
        assert letter.headers[DLQ_SOURCE_TOPIC] == topics.incoming
        assert int(letter.headers[DLQ_SOURCE_PARTITION]) >= 0 and int(letter.headers[DLQ_SOURCE_OFFSET]) >= 0
        assert letter.value == event.to_bytes()  # the original bytes, untouched
        assert letter.key == event.subject.encode()
    assert (
        REGISTRY.get_sample_value("lendflow_pipeline_validated_total", {"event_type": "pix.charge.paid"})
        == validated_before + 1
    )
    # Validated events keep their subject as key, so one subject's events stay in one partition.
    assert all(record.key == json.loads(record.value)["subject"].encode() for record in validated)
