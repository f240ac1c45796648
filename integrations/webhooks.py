"""Signing and verifying provider webhooks.

Every webhook a provider (or the simulator) sends carries three headers::

    Lendflow-Webhook-Id:        evt_3b0c…           unique per event; redeliveries repeat it
    Lendflow-Webhook-Timestamp: 1767225600          Unix seconds when this attempt was signed
    Lendflow-Webhook-Signature: v1=<hex>[,v1=<hex>] HMAC-SHA256 over f"{timestamp}.".encode() + raw_body

and may carry ``Lendflow-Webhook-Event: envelope.signed``. The body is a JSON
:class:`WebhookEvent` whose ``id`` equals the id header.

The verifier accepts a delivery when any ``v1`` signature matches any of its secrets (several are
valid at once while a secret is rotated), compared in constant time, and the timestamp is within
``tolerance_seconds`` of now in either direction. The signature is checked first, so a
:class:`StaleWebhook` is an authentic delivery replayed too late, not a forgery. Deliveries inside
the window may repeat (at-least-once, possibly out of order): the event id is what the pipeline
dedupes on.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, SecretStr

ID_HEADER = "Lendflow-Webhook-Id"
TIMESTAMP_HEADER = "Lendflow-Webhook-Timestamp"
SIGNATURE_HEADER = "Lendflow-Webhook-Signature"
EVENT_HEADER = "Lendflow-Webhook-Event"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookEvent(BaseModel):
    """The body of every webhook: one event, its type, and the provider's data for it."""

    id: str
    type: str
    provider: str
    created_at: datetime
    data: dict[str, Any]


class WebhookVerificationError(Exception):
    """A delivery that must be rejected (answer 400/401 and do not process it)."""


class MissingWebhookHeader(WebhookVerificationError):
    """The id, timestamp or signature header is absent."""


class MalformedWebhookHeader(WebhookVerificationError):
    """The timestamp is not Unix seconds, or the signature header has no ``v1=<hex>`` entry."""


class InvalidWebhookSignature(WebhookVerificationError):
    """No signature matches any of the secrets: forged, tampered or signed with a retired secret."""


class StaleWebhook(WebhookVerificationError):
    """Authentic, but signed more than the tolerance ago: a late replay."""


class FutureWebhook(WebhookVerificationError):
    """Authentic, but dated more than the tolerance ahead of our clock."""


def _secret_bytes(secret: SecretStr | str) -> bytes:
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not value:
        raise ValueError("a webhook secret must not be empty")
    return value.encode()


def compute_signature(secret: SecretStr | str, timestamp: int, raw_body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}.".encode() + raw_body``."""
    message = f"{timestamp}.".encode() + raw_body
    return hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()


def sign_webhook(
    raw_body: bytes,
    *,
    secrets: Sequence[SecretStr | str],
    webhook_id: str,
    timestamp: int | None = None,
    event_type: str | None = None,
) -> dict[str, str]:
    """The headers for one delivery attempt, with one ``v1`` signature per secret."""
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign")
    signed_at = int(time.time()) if timestamp is None else timestamp
    signatures = ",".join(f"{SIGNATURE_SCHEME}={compute_signature(secret, signed_at, raw_body)}" for secret in secrets)
    headers = {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(signed_at),
        SIGNATURE_HEADER: signatures,
        "Content-Type": "application/json",
    }
    if event_type:
        headers[EVENT_HEADER] = event_type
    return headers


@dataclass(frozen=True)
class VerifiedWebhook:
    webhook_id: str
    timestamp: int
    event_type: str | None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


class WebhookVerifier:
    """Verifies deliveries for one provider against its currently valid secrets."""

    def __init__(
        self,
        secrets: Sequence[SecretStr | str],
        *,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    ) -> None:
        if not secrets:
            raise ValueError("a webhook verifier needs at least one secret")
        if tolerance_seconds < 0:
            raise ValueError("the tolerance cannot be negative")
        self._secrets = [_secret_bytes(secret) for secret in secrets]
        self._tolerance = tolerance_seconds

    def verify(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        *,
        now: float | None = None,
    ) -> VerifiedWebhook:
        """Return the delivery's id and timestamp, or raise a :class:`WebhookVerificationError`."""
        webhook_id = _header(headers, ID_HEADER)
        raw_timestamp = _header(headers, TIMESTAMP_HEADER)
        raw_signatures = _header(headers, SIGNATURE_HEADER)
        if not webhook_id:
            raise MissingWebhookHeader(f"{ID_HEADER} is missing")
        if not raw_timestamp:
            raise MissingWebhookHeader(f"{TIMESTAMP_HEADER} is missing")
        if not raw_signatures:
            raise MissingWebhookHeader(f"{SIGNATURE_HEADER} is missing")

        raw_timestamp = raw_timestamp.strip()
        if not raw_timestamp.isascii() or not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
            raise MalformedWebhookHeader(f"{TIMESTAMP_HEADER} is not Unix seconds")
        timestamp = int(raw_timestamp)

        candidates = []
        for entry in raw_signatures.split(","):
            scheme, _, value = entry.strip().partition("=")
            if scheme == SIGNATURE_SCHEME and value:
                candidates.append(value.strip().lower())
        if not candidates:
            raise MalformedWebhookHeader(f"{SIGNATURE_HEADER} has no {SIGNATURE_SCHEME} signature")

        message = f"{timestamp}.".encode() + raw_body
        expected = [hmac.new(secret, message, hashlib.sha256).hexdigest() for secret in self._secrets]
        matched = False
        for candidate in candidates:
            for signature in expected:
                # Every pair is compared, so timing says nothing about which one matched.
                matched |= hmac.compare_digest(candidate.encode(), signature.encode())
        if not matched:
            raise InvalidWebhookSignature("no signature matches a current secret")

        current = time.time() if now is None else now
        if timestamp < current - self._tolerance:
            raise StaleWebhook("the delivery is older than the tolerance")
        if timestamp > current + self._tolerance:
            raise FutureWebhook("the delivery is dated further ahead than the tolerance")
        return VerifiedWebhook(webhook_id=webhook_id, timestamp=timestamp, event_type=_header(headers, EVENT_HEADER))
