"""`POST /v1/webhooks/{provider}`: provider events in, verified, onto `lending.incoming.v1`.

The signature is checked over the raw bytes with every current secret of the provider (rotation)
and the timestamp within the tolerance (see :mod:`integrations.webhooks`). A delivery that fails
answers 401 and produces nothing. A verified one is published through the pipeline's intake, keyed
by its subject, and answered 202 once the broker has it: a provider retries anything else, and the
event id derived from its delivery id makes a redelivery the same event.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

import structlog
from confluent_kafka import KafkaException
from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel, ValidationError

from api.deps import EventProducerDep, ResourcesDep
from api.openapi import problems
from api.problems import LendflowError, NotFound, ServiceUnavailable, Unauthorized
from integrations.factory import webhook_verifier
from integrations.webhooks import (
    EVENT_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    StaleWebhook,
    WebhookEvent,
    WebhookVerificationError,
)
from pipeline.intake import WebhookIntake

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

PROVIDERS: tuple[Literal["esignature", "pix"], ...] = ("esignature", "pix")


class WebhookAccepted(BaseModel):
    event_id: str
    type: str


class BadSignature(Unauthorized):
    code, title = "bad-webhook-signature", "The webhook's signature or timestamp does not verify"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": 'HMAC-SHA256 realm="webhooks"'}


class MalformedWebhook(LendflowError):
    status, code, title = 400, "malformed-webhook", "The webhook is signed but its body is not an event"


_body_schema = WebhookEvent.model_json_schema()


@router.post(
    "/{provider}",
    status_code=202,
    response_model=WebhookAccepted,
    operation_id="receive_webhook",
    summary="A provider's signed event (esignature or pix)",
    responses=problems(400, 401, 404, 413, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The provider's event, signed over these exact bytes",
            "content": {"application/json": {"schema": _body_schema}},
        }
    },
)
async def receive_webhook(
    provider: Annotated[
        str,
        Path(
            max_length=40,
            description="esignature or pix; any other answers 404",
            json_schema_extra={"enum": list(PROVIDERS)},
        ),
    ],
    request: Request,
    resources: ResourcesDep,
    events: EventProducerDep,
    webhook_id: Annotated[str | None, Header(alias=ID_HEADER, description="Unique per event")] = None,
    timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER, description="Unix seconds of signing")] = None,
    signature: Annotated[
        str | None,
        Header(alias=SIGNATURE_HEADER, description='"v1=<hex HMAC-SHA256 of {timestamp}.{body}>", comma-separated'),
    ] = None,
    event_type: Annotated[str | None, Header(alias=EVENT_HEADER)] = None,
) -> WebhookAccepted:
    del webhook_id, timestamp, signature, event_type  # declared for the document; verified from the raw headers
    if provider not in PROVIDERS:
        raise NotFound("no such provider")
    raw = await request.body()
    try:
        verified = webhook_verifier(resources.settings, provider).verify(request.headers, raw)
    except WebhookVerificationError as exc:
        log.warning("webhook.rejected", provider=provider, reason=type(exc).__name__)
        raise BadSignature("stale delivery" if isinstance(exc, StaleWebhook) else type(exc).__name__) from exc
    try:
        event = WebhookEvent.model_validate_json(raw)
        body: dict[str, Any] = json.loads(raw)
    except (ValidationError, ValueError) as exc:
        raise MalformedWebhook() from exc
    if event.id != verified.webhook_id or event.provider != provider:
        raise MalformedWebhook("the body's id or provider does not match the delivery")
    try:
        envelope = await asyncio.wait_for(
            WebhookIntake(events, resources.session_maker).accept(provider, body, verified.webhook_id),
            timeout=resources.settings.api.produce_timeout_seconds,
        )
    except (KafkaException, BufferError, TimeoutError) as exc:
        log.warning("webhook.publish_failed", provider=provider, webhook_id=verified.webhook_id, error=str(exc)[:200])
        raise ServiceUnavailable("the event could not be queued; deliver it again") from exc
    log.info("webhook.accepted", provider=provider, webhook_id=verified.webhook_id, event_type=envelope.type)
    return WebhookAccepted(event_id=str(envelope.event_id), type=envelope.type)
