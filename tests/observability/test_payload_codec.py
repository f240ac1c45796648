"""Personal data in Temporal payloads is encrypted at rest, and still decodes for the project."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from lendflow.codec import ENCODING, EncryptionCodec, UnknownEncryptionKey
from lendflow.settings import Settings
from lendflow.temporal import data_converter
from workflows.contracts.onboarding import OnboardingInput
from workflows.onboarding import OnboardingWorkflow


def _key() -> bytes:
    return os.urandom(32)


@dataclass(frozen=True)
class Applicant:
    cpf: str
    name: str
    income: Decimal


async def test_a_payload_round_trips_and_hides_personal_data() -> None:
    converter = data_converter()
    applicant = Applicant(cpf="52998224725", name="Maria da Silva", income=Decimal("4500.00"))
    encoded = await converter.encode([applicant])
    assert encoded[0].metadata["encoding"] == ENCODING
    assert b"52998224725" not in encoded[0].data
    assert b"Maria" not in encoded[0].data
    assert b"4500" not in encoded[0].data
    assert await converter.decode(encoded, [Applicant]) == [applicant]


async def test_payloads_encrypted_with_a_retired_key_still_decode_after_rotation() -> None:
    old, new = _key(), _key()
    before = EncryptionCodec({"k1": old}, "k1")
    after = EncryptionCodec({"k1": old, "k2": new}, "k2")
    sealed = await before.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"secret"')])
    assert (await after.decode(sealed))[0].data == b'"secret"'
    resealed = await after.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"secret"')])
    assert resealed[0].metadata["encryption-key-id"] == b"k2"


async def test_a_payload_under_an_unknown_key_is_refused() -> None:
    sealed = await EncryptionCodec({"k1": _key()}, "k1").encode([Payload(data=b"x")])
    with pytest.raises(UnknownEncryptionKey):
        await EncryptionCodec({"k9": _key()}, "k9").decode(sealed)


async def test_a_tampered_payload_is_refused() -> None:
    codec = EncryptionCodec({"k1": _key()}, "k1")
    sealed = (await codec.encode([Payload(data=b"amount=100.00")]))[0]
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        await codec.decode([tampered])


async def test_payloads_written_before_the_codec_pass_through() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')
    assert (await EncryptionCodec({"k1": _key()}, "k1").decode([plain]))[0] == plain


async def test_the_temporal_server_stores_workflow_input_encrypted(temporal_client: Client, settings: Settings) -> None:
    customer_id = str(uuid.uuid4())
    handle = await temporal_client.start_workflow(
        OnboardingWorkflow.run,
        OnboardingInput(customer_id=customer_id, declared_name="Joana Encrypted", declared_birth_date=date(1990, 1, 2)),
        id=f"onboarding-codec-{customer_id}",
        task_queue=f"nobody-polls-{uuid.uuid4()}",
    )
    try:
        # Read the history with a client that has no codec: what the server really holds.
        raw = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
        history = await raw.get_workflow_handle(handle.id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        stored = started.input.payloads[0]
        assert stored.metadata["encoding"] == ENCODING
        assert b"Joana" not in stored.data
        # The project's own client decodes it.
        decoded = await data_converter().decode(list(started.input.payloads), [OnboardingInput])
        assert decoded[0].declared_name == "Joana Encrypted"
    finally:
        await handle.terminate("test over")


def test_settings_keys_must_be_32_bytes() -> None:
    from lendflow.temporal import payload_codec

    temporal = Settings().temporal.model_copy(
        update={
            "payload_keys": {"short": SecretStr(base64.b64encode(b"too short").decode())},
            "active_payload_key": "short",
        }
    )
    with pytest.raises(ValueError):
        payload_codec(temporal)
