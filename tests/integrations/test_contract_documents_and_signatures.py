"""ECM and eSignature clients against the live simulator, webhooks received over real HTTP."""

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from integrations.errors import DocumentNotFound, EnvelopeNotFound, EnvelopeNotVoidable, IdempotencyConflict
from integrations.esignature import Envelope, EnvelopeEvent, EnvelopeStatus, SignerRequest, SignerStatus
from integrations.factory import ProviderClients
from integrations.webhooks import WebhookEvent
from lendflow.settings import Settings

NewId = Callable[[str], str]


# ECM


async def test_stored_document_comes_back_byte_for_byte_with_its_hash(
    providers: ProviderClients, new_id: NewId
) -> None:
    content = b"%PDF-1.7\n" + uuid.uuid4().bytes * 100
    application_id = new_id("app")
    stored = await providers.ecm.store_document(
        content, filename="rg-frente.pdf", content_type="application/pdf", metadata={"application_id": application_id}
    )
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    fetched = await providers.ecm.fetch_document(stored.document_id)
    assert fetched.content == content
    assert fetched.document.metadata == {"application_id": application_id}
    assert fetched.document.content_type == "application/pdf"


async def test_documents_are_kept_on_disk_under_the_run_directory(
    providers: ProviderClients, simulator_settings: Settings
) -> None:
    stored = await providers.ecm.store_document(b"on disk", filename="a.txt", content_type="text/plain")
    kept = list((simulator_settings.run_dir / "simulator" / "ecm").rglob(f"{stored.document_id}*"))
    assert kept, "the document should be stored under run_dir/simulator/ecm"


async def test_storing_twice_with_one_key_keeps_one_document(providers: ProviderClients, new_id: NewId) -> None:
    key = new_id("contract")
    first = await providers.ecm.store_document(
        b"ccb", filename="ccb.pdf", content_type="application/pdf", idempotency_key=key
    )
    again = await providers.ecm.store_document(
        b"ccb", filename="ccb.pdf", content_type="application/pdf", idempotency_key=key
    )
    assert again.document_id == first.document_id


async def test_reusing_a_key_for_other_bytes_is_a_conflict(providers: ProviderClients, new_id: NewId) -> None:
    key = new_id("contract")
    await providers.ecm.store_document(
        b"version 1", filename="ccb.pdf", content_type="application/pdf", idempotency_key=key
    )
    with pytest.raises(IdempotencyConflict):
        await providers.ecm.store_document(
            b"version 2", filename="ccb.pdf", content_type="application/pdf", idempotency_key=key
        )


async def test_deleted_document_is_gone_and_deleting_again_is_harmless(providers: ProviderClients) -> None:
    stored = await providers.ecm.store_document(b"temporary", filename="t.txt", content_type="text/plain")
    assert await providers.ecm.delete_document(stored.document_id) is True
    with pytest.raises(DocumentNotFound):
        await providers.ecm.fetch_document(stored.document_id)
    assert await providers.ecm.delete_document(stored.document_id) is False


async def test_unknown_or_hostile_document_id_is_not_found(providers: ProviderClients) -> None:
    for document_id in ("doc_" + uuid.uuid4().hex, "../../etc/passwd", "doc_..%2F.."):
        with pytest.raises(DocumentNotFound):
            await providers.ecm.get_document(document_id)


# eSignature


async def _envelope(providers: ProviderClients, new_id: NewId, signers: int = 1, **kwargs: Any) -> Envelope:
    reference = new_id("loan")
    return await providers.esignature.create_envelope(
        document=b"%PDF CCB " + reference.encode(),
        document_name="ccb.pdf",
        signers=[SignerRequest(name=f"Signer {i}", email=f"s{i}@example.com") for i in range(signers)],
        external_reference=reference,
        idempotency_key=f"{reference}/envelope",
        **kwargs,
    )


def _for_envelope(envelope_id: str, event_type: str) -> Callable[[Any], bool]:
    return lambda d: (
        d.provider == "esignature" and d.event.type == event_type and d.event.data["envelope_id"] == envelope_id
    )


async def _submit(page_url: str, decision: str) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        page = await browser.get(page_url)
        assert page.status_code == 200
        assert re.search(rf'name="decision" value="{decision}"', page.text)
        return await browser.post(page_url, data={"decision": decision})


async def test_signing_through_the_link_completes_the_envelope_and_sends_a_signed_webhook(
    providers: ProviderClients, new_id: NewId, webhook_inbox: Any, verify: Callable[[Any], WebhookEvent]
) -> None:
    envelope = await _envelope(providers, new_id, signers=2)
    assert envelope.status is EnvelopeStatus.SENT

    first = await _submit(envelope.signers[0].signing_url, "sign")
    assert first.status_code == 200
    halfway = await providers.esignature.get_envelope(envelope.envelope_id)
    assert halfway.status is EnvelopeStatus.SENT
    assert [s.status for s in halfway.signers] == [SignerStatus.SIGNED, SignerStatus.PENDING]

    await _submit(envelope.signers[1].signing_url, "sign")
    signed = await providers.esignature.get_envelope(envelope.envelope_id)
    assert signed.status is EnvelopeStatus.SIGNED and signed.completed_at is not None

    [delivery] = await webhook_inbox.wait_for(_for_envelope(envelope.envelope_id, "envelope.signed"))
    event = verify(delivery)
    data = EnvelopeEvent.model_validate(event.data)
    assert data.status is EnvelopeStatus.SIGNED
    assert data.external_reference == envelope.external_reference


async def test_declining_through_the_link_sends_a_declined_webhook(
    providers: ProviderClients, new_id: NewId, webhook_inbox: Any, verify: Callable[[Any], WebhookEvent]
) -> None:
    envelope = await _envelope(providers, new_id)
    await _submit(envelope.signers[0].signing_url, "decline")
    [delivery] = await webhook_inbox.wait_for(_for_envelope(envelope.envelope_id, "envelope.declined"))
    assert EnvelopeEvent.model_validate(verify(delivery).data).signer_id == envelope.signers[0].signer_id
    assert (await providers.esignature.get_envelope(envelope.envelope_id)).status is EnvelopeStatus.DECLINED

    async with httpx.AsyncClient() as browser:
        late = await browser.post(envelope.signers[0].signing_url, data={"decision": "sign"})
    assert late.status_code == 409


async def test_envelope_left_unsigned_expires_and_sends_an_expired_webhook(
    providers: ProviderClients, new_id: NewId, webhook_inbox: Any, verify: Callable[[Any], WebhookEvent]
) -> None:
    envelope = await _envelope(providers, new_id, expires_in_seconds=1)
    [delivery] = await webhook_inbox.wait_for(_for_envelope(envelope.envelope_id, "envelope.expired"), timeout=5)
    assert verify(delivery).data["status"] == "expired"
    assert (await providers.esignature.get_envelope(envelope.envelope_id)).status is EnvelopeStatus.EXPIRED


async def test_admin_can_expire_an_envelope_at_once(
    providers: ProviderClients, new_id: NewId, admin: httpx.AsyncClient, webhook_inbox: Any
) -> None:
    envelope = await _envelope(providers, new_id)
    response = await admin.post(f"esignature/envelopes/{envelope.envelope_id}/expire")
    assert response.status_code == 200
    await webhook_inbox.wait_for(_for_envelope(envelope.envelope_id, "envelope.expired"))


async def test_open_envelope_is_voided_and_voiding_again_is_harmless(providers: ProviderClients, new_id: NewId) -> None:
    envelope = await _envelope(providers, new_id)
    voided = await providers.esignature.void_envelope(envelope.envelope_id, reason="offer withdrawn")
    assert voided.status is EnvelopeStatus.VOIDED and voided.void_reason == "offer withdrawn"
    again = await providers.esignature.void_envelope(envelope.envelope_id, reason="offer withdrawn")
    assert again.status is EnvelopeStatus.VOIDED


async def test_signed_envelope_cannot_be_voided(
    providers: ProviderClients, new_id: NewId, admin: httpx.AsyncClient
) -> None:
    envelope = await _envelope(providers, new_id)
    assert (await admin.post(f"esignature/envelopes/{envelope.envelope_id}/sign")).status_code == 200
    with pytest.raises(EnvelopeNotVoidable):
        await providers.esignature.void_envelope(envelope.envelope_id, reason="too late")


async def test_same_idempotency_key_returns_the_first_envelope(providers: ProviderClients, new_id: NewId) -> None:
    reference = new_id("loan")
    request = {
        "document": b"%PDF same",
        "document_name": "ccb.pdf",
        "signers": [SignerRequest(name="Ana", email="ana@example.com")],
        "external_reference": reference,
        "idempotency_key": f"{reference}/envelope",
    }
    first = await providers.esignature.create_envelope(**request)  # type: ignore[arg-type]
    again = await providers.esignature.create_envelope(**request)  # type: ignore[arg-type]
    assert again.envelope_id == first.envelope_id
    with pytest.raises(IdempotencyConflict):
        await providers.esignature.create_envelope(**{**request, "document": b"%PDF other"})  # type: ignore[arg-type]


async def test_unknown_envelope_is_not_found(providers: ProviderClients) -> None:
    with pytest.raises(EnvelopeNotFound):
        await providers.esignature.get_envelope("env_" + uuid.uuid4().hex)


async def test_unknown_signing_link_shows_not_found(simulator_url: str) -> None:
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{simulator_url}/esignature/sign/{uuid.uuid4().hex}")
    assert response.status_code == 404
