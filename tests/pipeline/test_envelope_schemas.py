"""The envelope, the schema of each event type, and the webhook → envelope mapping (no services)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipeline.events import (
    EVENT_SCHEMAS,
    ChargePaidV1,
    EventEnvelope,
    NotAnEnvelope,
    NotJson,
    SchemaViolation,
    TrustedEvent,
    UnknownEventType,
    parse_data,
    parse_envelope,
)
from pipeline.intake import UnroutableWebhook, envelope_from_webhook, provider_event_id

APPLICATION = uuid.uuid4()
NOW = datetime.now(UTC).isoformat()


def _raw(**overrides: object) -> bytes:
    body: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "type": "pix.charge.paid",
        "version": 1,
        "occurred_at": NOW,
        "source": "pix",
        "subject": str(APPLICATION),
        "data": {
            "txid": "a" * 30,
            "end_to_end_id": "E" + "1" * 31,
            "amount": "150.00",
            "paid_at": NOW,
            "payer_name": None,
        },
    }
    body.update(overrides)
    return json.dumps(body).encode()


def test_a_well_formed_envelope_parses_to_typed_data() -> None:
    envelope = parse_envelope(_raw())
    data = parse_data(envelope)
    assert isinstance(data, ChargePaidV1)
    assert data.amount == Decimal("150.00")
    assert parse_envelope(envelope.to_bytes()) == envelope


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe", b"{not json", b"nul"])
def test_bytes_that_are_not_json_are_not_json(raw: bytes) -> None:
    with pytest.raises(NotJson):
        parse_envelope(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[1, 2]",
        b'"text"',
        _raw(event_id="not-a-uuid"),
        _raw(version=0),
        _raw(occurred_at="2026-01-01T10:00:00"),  # no time zone
        _raw(subject=""),
        _raw(extra="field"),
        json.dumps({"type": "pix.charge.paid"}).encode(),
    ],
)
def test_json_that_is_not_an_envelope_is_not_an_envelope(raw: bytes) -> None:
    with pytest.raises(NotAnEnvelope):
        parse_envelope(raw)


def test_an_unknown_type_or_version_has_no_schema() -> None:
    with pytest.raises(UnknownEventType):
        parse_data(parse_envelope(_raw(type="pix.refund.settled")))
    with pytest.raises(UnknownEventType):
        parse_data(parse_envelope(_raw(version=2)))


@pytest.mark.parametrize(
    "data",
    [
        {"txid": "a" * 30, "end_to_end_id": "E" + "1" * 31, "amount": 150.0, "paid_at": NOW},  # a float
        {"txid": "a" * 30, "end_to_end_id": "E" + "1" * 31, "amount": "150.001", "paid_at": NOW},
        {"txid": "a" * 30, "end_to_end_id": "E" + "1" * 31, "amount": "-1.00", "paid_at": NOW},
        {"txid": "a" * 30, "end_to_end_id": "E" + "1" * 31, "amount": "1.00", "paid_at": NOW, "tip": "1"},
        {"txid": "short", "end_to_end_id": "E" + "1" * 31, "amount": "1.00", "paid_at": NOW},
    ],
)
def test_data_that_breaks_its_schema_is_a_schema_violation(data: dict[str, object]) -> None:
    with pytest.raises(SchemaViolation):
        parse_data(parse_envelope(_raw(data=data)))


def test_every_registered_schema_forbids_unknown_fields() -> None:
    assert EVENT_SCHEMAS
    for schema in EVENT_SCHEMAS.values():
        assert schema.model_config.get("extra") == "forbid"


def test_a_document_of_a_type_the_lender_does_not_take_is_a_schema_violation() -> None:
    data = {
        "document_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "document_type": "passport",
        "ecm_document_id": "doc_1",
        "sha256": "a" * 64,
        "content_type": "image/jpeg",
        "size_bytes": 10,
    }
    with pytest.raises(SchemaViolation):
        parse_data(parse_envelope(_raw(type="document.submitted", data=data)))


def _webhook(webhook_type: str, data: dict[str, object], webhook_id: str = "evt_abc") -> dict[str, object]:
    # The shape of integrations.webhooks.WebhookEvent, as the simulator sends it.
    return {"id": webhook_id, "type": webhook_type, "provider": "esignature", "created_at": NOW, "data": data}


def test_a_signed_envelope_webhook_becomes_an_event_of_its_application() -> None:
    body = _webhook(
        "envelope.signed",
        {
            "envelope_id": "env_1",
            "external_reference": f"loan-{APPLICATION}",
            "status": "signed",
            "occurred_at": NOW,
            "signer_id": "sig_1",
        },
    )
    envelope = envelope_from_webhook("esignature", body, "evt_abc")
    assert envelope.type == "esignature.envelope.signed"
    assert envelope.subject == str(APPLICATION)
    assert envelope.source == "esignature" and envelope.delivery_id == "evt_abc"
    assert parse_data(envelope).envelope_id == "env_1"  # type: ignore[attr-defined]
    # Delivered again: the same event.
    assert envelope_from_webhook("esignature", body, "evt_abc").event_id == envelope.event_id
    assert provider_event_id("pix", "evt_abc") != envelope.event_id


def test_a_webhook_without_an_application_needs_one_given() -> None:
    body = _webhook(
        "charge.paid", {"txid": "a" * 30, "end_to_end_id": "E" + "1" * 31, "amount": "1.00", "paid_at": NOW}
    )
    with pytest.raises(UnroutableWebhook):
        envelope_from_webhook("pix", body, "evt_1")
    envelope = envelope_from_webhook("pix", body, "evt_1", subject=str(APPLICATION))
    assert envelope.type == "pix.charge.paid" and envelope.subject == str(APPLICATION)
    assert isinstance(parse_data(envelope), ChargePaidV1)


def test_the_trusted_event_reads_back_from_its_json() -> None:
    event = TrustedEvent(
        event_id=uuid.uuid4(),  # type: ignore[arg-type]
        type="pix.charge.paid",
        version=1,
        occurred_at=datetime.now(UTC),
        source="pix",
        subject=str(APPLICATION),
        data={"amount": "150.00"},
        trusted_at=datetime.now(UTC),
    )
    assert isinstance(event.event_id, str)
    assert TrustedEvent.model_validate_json(event.to_bytes()) == event
    assert EventEnvelope.model_fields.keys() - TrustedEvent.model_fields.keys() == {"delivery_id"}
