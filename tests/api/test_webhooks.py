"""`POST /v1/webhooks/{provider}`: verified over the raw body, then on lending.incoming.v1."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from stack_support import read_topic

from integrations.webhooks import sign_webhook
from lendflow.settings import Settings


def signed_event(
    application_id: str, *, secret: str = "esig-current", timestamp: int | None = None
) -> tuple[bytes, dict[str, str], str]:
    webhook_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "id": webhook_id,
            "type": "envelope.signed",
            "provider": "esignature",
            "created_at": datetime.now(UTC).isoformat(),
            "data": {
                "envelope_id": f"env_{uuid.uuid4().hex[:12]}",
                "external_reference": f"loan-{application_id}",
                "status": "signed",
                "occurred_at": datetime.now(UTC).isoformat(),
            },
        }
    ).encode()
    headers = sign_webhook(
        body, secrets=[secret], webhook_id=webhook_id, timestamp=timestamp, event_type="envelope.signed"
    )
    return body, headers, webhook_id


async def incoming_with(settings: Settings, webhook_id: str) -> list[dict[str, Any]]:
    messages = await asyncio.to_thread(read_topic, settings.kafka.bootstrap_servers, settings.kafka.topics.incoming)
    return [json.loads(m.value()) | {"_key": m.key()} for m in messages if webhook_id.encode() in (m.value() or b"")]


async def test_a_verified_webhook_is_answered_202_and_put_on_incoming_keyed_by_its_application(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    application_id = str(uuid.uuid4())
    body, headers, webhook_id = signed_event(application_id)

    response = await api.post("/v1/webhooks/esignature", content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json()["type"] == "esignature.envelope.signed"
    [envelope] = await incoming_with(api_settings, webhook_id)
    assert envelope["event_id"] == response.json()["event_id"]
    assert envelope["subject"] == application_id and envelope["_key"] == application_id.encode()
    assert envelope["delivery_id"] == webhook_id


async def test_a_secret_being_rotated_out_still_verifies(api: httpx.AsyncClient) -> None:
    body, headers, _ = signed_event(str(uuid.uuid4()), secret="esig-previous")

    response = await api.post("/v1/webhooks/esignature", content=body, headers=headers)

    assert response.status_code == 202


async def test_a_bad_signature_or_a_stale_timestamp_answers_401_and_produces_nothing(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    forged_body, forged_headers, forged_id = signed_event(str(uuid.uuid4()), secret="not-our-secret")
    tampered_body, tampered_headers, tampered_id = signed_event(str(uuid.uuid4()))
    tampered_body = tampered_body.replace(b"signed", b"declined", 1)
    stale_body, stale_headers, stale_id = signed_event(str(uuid.uuid4()), timestamp=int(time.time()) - 3600)
    unsigned_body, _, unsigned_id = signed_event(str(uuid.uuid4()))
    pix_body, pix_headers, pix_id = signed_event(str(uuid.uuid4()))  # signed with the eSignature secret

    answers = [
        await api.post("/v1/webhooks/esignature", content=forged_body, headers=forged_headers),
        await api.post("/v1/webhooks/esignature", content=tampered_body, headers=tampered_headers),
        await api.post("/v1/webhooks/esignature", content=stale_body, headers=stale_headers),
        await api.post("/v1/webhooks/esignature", content=unsigned_body, headers={"Content-Type": "application/json"}),
        await api.post("/v1/webhooks/pix", content=pix_body, headers=pix_headers),
    ]

    assert [a.status_code for a in answers] == [401] * 5
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    for webhook_id in (forged_id, tampered_id, stale_id, unsigned_id, pix_id):
        assert await incoming_with(api_settings, webhook_id) == []


async def test_an_unknown_provider_answers_404(api: httpx.AsyncClient) -> None:
    body, headers, _ = signed_event(str(uuid.uuid4()))

    response = await api.post("/v1/webhooks/bank", content=body, headers=headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_signed_body_that_is_not_an_event_answers_400(api: httpx.AsyncClient) -> None:
    body = b'{"hello": "world"}'
    headers = sign_webhook(body, secrets=["esig-current"], webhook_id="evt_x")

    response = await api.post("/v1/webhooks/esignature", content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-webhook")
