"""The remote payload codec the Temporal UI calls to show encrypted payloads decoded (LGPD).

Temporal's codec-server protocol: `POST /codec/decode` (and `/codec/encode`) with
`{"payloads": [{"metadata": {name: base64}, "data": base64}]}`, answered in the same shape.
Only authenticated operations staff may decode: anyone else gets a 401 and sees ciphertext.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload

from api.deps import CurrentOperator, SettingsDep
from api.openapi import problems
from api.problems import UnprocessableEntity
from lendflow.temporal import payload_codec

router = APIRouter(prefix="/codec", tags=["operations"])


class WirePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, str] = Field(default_factory=dict, description="Metadata values, base64")
    data: str = Field(default="", description="The payload's bytes, base64")


class WirePayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[WirePayload] = Field(max_length=1000)


def _from_wire(body: WirePayloads) -> list[Payload]:
    try:
        return [
            Payload(
                metadata={k: base64.b64decode(v, validate=True) for k, v in p.metadata.items()},
                data=base64.b64decode(p.data, validate=True),
            )
            for p in body.payloads
        ]
    except ValueError as exc:
        raise UnprocessableEntity("payload fields must be base64") from exc


def _to_wire(payloads: list[Payload]) -> WirePayloads:
    return WirePayloads(
        payloads=[
            WirePayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


@router.post(
    "/decode",
    response_model=WirePayloads,
    operation_id="codec_decode",
    summary="Decrypt Temporal payloads for the Temporal UI (ops only)",
    responses=problems(401, 403, 413, 422),
)
async def decode(body: WirePayloads, operator: CurrentOperator, settings: SettingsDep) -> WirePayloads:
    try:
        decoded = await payload_codec(settings.temporal).decode(_from_wire(body))
    except Exception as exc:  # a key we do not hold, or tampered bytes
        raise UnprocessableEntity("a payload could not be decrypted") from exc
    return _to_wire(decoded)


@router.post(
    "/encode",
    response_model=WirePayloads,
    operation_id="codec_encode",
    summary="Encrypt Temporal payloads (ops only)",
    responses=problems(401, 403, 413, 422),
)
async def encode(body: WirePayloads, operator: CurrentOperator, settings: SettingsDep) -> WirePayloads:
    return _to_wire(await payload_codec(settings.temporal).encode(_from_wire(body)))
