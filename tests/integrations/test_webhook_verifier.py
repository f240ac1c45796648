"""The verifier the API runs on every provider webhook."""

import hashlib
import hmac
import json
import uuid

import pytest
from pydantic import SecretStr

from integrations.webhooks import (
    EVENT_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    FutureWebhook,
    InvalidWebhookSignature,
    MalformedWebhookHeader,
    MissingWebhookHeader,
    StaleWebhook,
    WebhookVerifier,
    compute_signature,
    sign_webhook,
)

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
CURRENT, PREVIOUS = "whsec-current", "whsec-previous"


def delivery(secret: str = CURRENT, *, timestamp: int = NOW, body: bytes | None = None) -> tuple[dict[str, str], bytes]:
    event_id = f"evt_{uuid.uuid4().hex}"
    raw = body if body is not None else json.dumps({"id": event_id, "type": "payout.settled", "data": {}}).encode()
    headers = sign_webhook(raw, secrets=[secret], webhook_id=event_id, timestamp=timestamp, event_type="payout.settled")
    return headers, raw


def test_signature_is_hmac_sha256_over_timestamp_dot_raw_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert compute_signature("s3cret", 1700000000, body) == expected
    headers = sign_webhook(body, secrets=["s3cret"], webhook_id="evt_1", timestamp=1700000000)
    assert headers[SIGNATURE_HEADER] == f"v1={expected}"


def test_authentic_delivery_is_accepted_with_its_id_and_event_type() -> None:
    headers, body = delivery()
    verified = WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)
    assert verified.webhook_id == headers[ID_HEADER]
    assert verified.timestamp == NOW
    assert verified.event_type == "payout.settled"


def test_delivery_signed_with_an_unknown_secret_is_rejected_as_forged() -> None:
    headers, body = delivery("not-our-secret")
    with pytest.raises(InvalidWebhookSignature):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_body_changed_after_signing_is_rejected() -> None:
    headers, body = delivery()
    tampered = body.replace(b"payout.settled", b"payout.failed")
    with pytest.raises(InvalidWebhookSignature):
        WebhookVerifier([CURRENT]).verify(headers, tampered, now=NOW)


def test_fresh_timestamp_on_an_old_signature_is_rejected() -> None:
    # An attacker replays a captured delivery and moves its timestamp into the window.
    headers, body = delivery(timestamp=NOW - 3600)
    headers[TIMESTAMP_HEADER] = str(NOW)
    with pytest.raises(InvalidWebhookSignature):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


@pytest.mark.parametrize("age", [0, 1, 299, 300])
def test_delivery_up_to_300_seconds_old_is_accepted(age: int) -> None:
    headers, body = delivery(timestamp=NOW - age)
    WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_delivery_older_than_the_tolerance_is_rejected_as_stale() -> None:
    headers, body = delivery(timestamp=NOW - 301)
    with pytest.raises(StaleWebhook):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


@pytest.mark.parametrize("ahead", [1, 300])
def test_delivery_up_to_300_seconds_ahead_is_accepted(ahead: int) -> None:
    headers, body = delivery(timestamp=NOW + ahead)
    WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_delivery_dated_beyond_the_tolerance_ahead_is_rejected_as_future() -> None:
    headers, body = delivery(timestamp=NOW + 301)
    with pytest.raises(FutureWebhook):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_tolerance_is_configurable() -> None:
    headers, body = delivery(timestamp=NOW - 61)
    with pytest.raises(StaleWebhook):
        WebhookVerifier([CURRENT], tolerance_seconds=60).verify(headers, body, now=NOW)


def test_replay_inside_the_window_verifies_again_with_the_same_id_for_dedupe() -> None:
    headers, body = delivery()
    verifier = WebhookVerifier([CURRENT])
    first = verifier.verify(headers, body, now=NOW)
    again = verifier.verify(dict(headers), body, now=NOW + 120)
    assert again.webhook_id == first.webhook_id


def test_replay_after_the_window_is_rejected_as_stale() -> None:
    headers, body = delivery()
    verifier = WebhookVerifier([CURRENT])
    verifier.verify(headers, body, now=NOW)
    with pytest.raises(StaleWebhook):
        verifier.verify(headers, body, now=NOW + 301)


def test_during_rotation_both_old_and_new_secrets_verify() -> None:
    verifier = WebhookVerifier([SecretStr(CURRENT), SecretStr(PREVIOUS)])
    for secret in (CURRENT, PREVIOUS):
        headers, body = delivery(secret)
        verifier.verify(headers, body, now=NOW)


def test_after_rotation_the_retired_secret_no_longer_verifies() -> None:
    headers, body = delivery(PREVIOUS)
    with pytest.raises(InvalidWebhookSignature):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_header_with_one_signature_per_secret_verifies_with_either_secret() -> None:
    body = b'{"id":"evt_1"}'
    headers = sign_webhook(body, secrets=[CURRENT, PREVIOUS], webhook_id="evt_1", timestamp=NOW)
    assert headers[SIGNATURE_HEADER].count("v1=") == 2
    WebhookVerifier([PREVIOUS]).verify(headers, body, now=NOW)
    WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_header_names_are_matched_without_regard_to_case() -> None:
    headers, body = delivery()
    lowered = {name.lower(): value for name, value in headers.items()}
    WebhookVerifier([CURRENT]).verify(lowered, body, now=NOW)


@pytest.mark.parametrize("missing", [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_delivery_without_a_required_header_is_rejected(missing: str) -> None:
    headers, body = delivery()
    del headers[missing]
    with pytest.raises(MissingWebhookHeader):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_event_header_is_optional() -> None:
    headers, body = delivery()
    del headers[EVENT_HEADER]
    assert WebhookVerifier([CURRENT]).verify(headers, body, now=NOW).event_type is None


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1767225600.5", "１７６７２２５６００", "9" * 13])
def test_timestamp_that_is_not_unix_seconds_is_malformed(timestamp: str) -> None:
    headers, body = delivery()
    headers[TIMESTAMP_HEADER] = timestamp
    with pytest.raises(MalformedWebhookHeader):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


@pytest.mark.parametrize("signature", ["deadbeef", "v0=deadbeef", "v1=", "sha256=abc"])
def test_signature_header_without_a_v1_signature_is_malformed(signature: str) -> None:
    headers, body = delivery()
    headers[SIGNATURE_HEADER] = signature
    with pytest.raises(MalformedWebhookHeader):
        WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_unknown_schemes_next_to_a_valid_v1_are_ignored() -> None:
    headers, body = delivery()
    headers[SIGNATURE_HEADER] = "v2=ffff," + headers[SIGNATURE_HEADER]
    WebhookVerifier([CURRENT]).verify(headers, body, now=NOW)


def test_verifier_without_secrets_cannot_be_built() -> None:
    with pytest.raises(ValueError):
        WebhookVerifier([])
    with pytest.raises(ValueError):
        WebhookVerifier([""])
