"""Real provider webhooks from the simulator, verified as the API verifies them, put on incoming by
the intake, and through the pipeline to trusted: once, however many times they were delivered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pipeline_support import LenderRecords, Simulator, new_txid, read_to_end, running, validated_and_trusted

from integrations.esignature import ESignatureClient, SignerRequest
from integrations.factory import provider_http_client
from integrations.pix import PixClient
from lendflow.settings import Settings
from pipeline.events import TrustedEvent
from pipeline.intake import EventProducer, WebhookIntake
from pipeline.runner import PipelineParts


@pytest.fixture
async def admin(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_admin") as client:
        yield client
        await client.delete("/faults/pix/webhooks")


async def _deliveries(simulator: Simulator, wanted: int, match: str) -> list[tuple[str, dict[str, Any], str]]:
    """The next ``wanted`` verified deliveries whose body mentions ``match``."""
    found: list[tuple[str, dict[str, Any], str]] = []
    while len(found) < wanted:
        provider, body, delivery_id = await asyncio.wait_for(simulator.webhooks.get(), timeout=20)
        if match in json.dumps(body):
            found.append((provider, body, delivery_id))
    return found


async def test_provider_webhooks_reach_trusted_once_however_often_they_are_delivered(
    simulator: Simulator,
    admin: httpx.AsyncClient,
    parts: PipelineParts,
    pipeline_settings: Settings,
    producer: EventProducer,
    records: LenderRecords,
) -> None:
    application = await records.application(status="contract_sent")
    pix_http = provider_http_client(simulator.provider("pix"))
    esignature_http = provider_http_client(simulator.provider("esignature"))
    try:
        # A charge of the application, paid by the customer; the provider delivers it three times.
        txid = new_txid()
        await records.charge(application, txid=txid, amount=Decimal("250.00"))
        await PixClient(pix_http, receiver_pix_key="cobranca@lendflow.dev").create_charge(
            txid=txid, amount=Decimal("250.00"), debtor_cpf="52998224725", debtor_name="Maria da Silva"
        )
        (await admin.put("/faults/pix/webhooks", json={"duplicate_webhooks": 2})).raise_for_status()
        (await admin.post(f"/pix/cob/{txid}/pay")).raise_for_status()
        paid = await _deliveries(simulator, 3, txid)

        # The contract's envelope, signed.
        envelope = await ESignatureClient(esignature_http).create_envelope(
            document=b"%PDF-1.7 CCB",
            document_name="ccb.pdf",
            signers=[SignerRequest(name="Maria da Silva", email="maria@example.com")],
            external_reference=f"loan-{application.id}",
            idempotency_key=f"contract-{application.id}",
        )
        await records.signature_envelope(application, envelope.envelope_id)
        (await admin.post(f"/esignature/envelopes/{envelope.envelope_id}/sign")).raise_for_status()
        signed = await _deliveries(simulator, 1, envelope.envelope_id)
    finally:
        await pix_http.aclose()
        await esignature_http.aclose()

    intake = WebhookIntake(producer, records.sessions)
    envelopes = [await intake.accept(provider, body, delivery_id) for provider, body, delivery_id in paid + signed]
    async with running(parts, "validation", "trusted"):
        _, trusted = await validated_and_trusted(pipeline_settings)
        letters = await read_to_end(pipeline_settings, pipeline_settings.kafka.topics.dlq)

    assert len({e.event_id for e in envelopes[:3]}) == 1  # three deliveries, one event
    events = sorted((TrustedEvent.model_validate_json(r.value) for r in trusted), key=lambda e: e.type)
    assert [e.type for e in events] == ["esignature.envelope.signed", "pix.charge.paid"]
    assert all(e.subject == str(application.id) for e in events)
    assert events[1].data["txid"] == txid and events[1].data["amount"] == "250.00"
    assert events[0].data["envelope_id"] == envelope.envelope_id
    assert letters == []
