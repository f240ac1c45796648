"""eSignature: envelopes that carry a contract to its signers.

Wire format::

    POST {base}/v1/envelopes               Idempotency-Key header; body
         {"external_reference": "loan-…", "document": {"name", "content_type", "content_base64"},
          "signers": [{"name", "email", "cpf"}], "expires_in_seconds": 604800}
         → 201 envelope (200 on a replay of the same key)
    GET  {base}/v1/envelopes/{id}          → 200 envelope
    POST {base}/v1/envelopes/{id}/void     {"reason": "…"} → 200 envelope; 409 envelope_completed

An envelope: ``{"envelope_id", "external_reference", "status", "document": {"name", "sha256",
"size_bytes"}, "signers": [{"signer_id", "name", "email", "status", "signing_url", "signed_at",
"declined_at"}], "created_at", "expires_at", "completed_at", "voided_at", "void_reason"}`` with
status ``sent | signed | declined | expired | voided``.

The provider sends webhooks ``envelope.signed`` (every signer signed), ``envelope.declined`` and
``envelope.expired`` whose ``data`` is an :class:`EnvelopeEvent`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum

import httpx
from pydantic import BaseModel, ConfigDict, Field

from integrations.errors import EnvelopeNotFound, EnvelopeNotVoidable, IdempotencyConflict
from integrations.http import RefusalMap, parse_body, path_segment, send_request

PROVIDER = "esignature"


class EnvelopeStatus(StrEnum):
    SENT = "sent"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    VOIDED = "voided"

    @property
    def is_final(self) -> bool:
        return self is not EnvelopeStatus.SENT


class SignerStatus(StrEnum):
    PENDING = "pending"
    SIGNED = "signed"
    DECLINED = "declined"


class SignerRequest(BaseModel):
    """Someone who must sign: the borrower, a guarantor, the lender's attorney."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    email: str = Field(min_length=3)
    cpf: str | None = None


class Signer(BaseModel):
    model_config = ConfigDict(frozen=True)

    signer_id: str
    name: str
    email: str
    status: SignerStatus
    # The page where this signer signs or declines; handed to the person, never fetched by Lendflow.
    signing_url: str
    signed_at: datetime | None = None
    declined_at: datetime | None = None


class EnvelopeDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    envelope_id: str = Field(min_length=1)
    external_reference: str
    status: EnvelopeStatus
    document: EnvelopeDocument
    signers: list[Signer] = Field(min_length=1)
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None


class EnvelopeEvent(BaseModel):
    """The ``data`` of an eSignature webhook."""

    envelope_id: str
    external_reference: str
    status: EnvelopeStatus
    occurred_at: datetime
    signer_id: str | None = None  # who signed last, or who declined


_REFUSALS: RefusalMap = {
    404: EnvelopeNotFound,
    "envelope_completed": EnvelopeNotVoidable,
    "idempotency_key_reused": IdempotencyConflict,
}


class ESignatureClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def create_envelope(
        self,
        *,
        document: bytes,
        document_name: str,
        signers: list[SignerRequest],
        external_reference: str,
        idempotency_key: str,
        content_type: str = "application/pdf",
        expires_in_seconds: int | None = None,
    ) -> Envelope:
        """Send ``document`` for signature; the same ``idempotency_key`` never makes two envelopes."""
        operation = "create_envelope"
        body: dict[str, object] = {
            "external_reference": external_reference,
            "document": {
                "name": document_name,
                "content_type": content_type,
                "content_base64": base64.b64encode(document).decode("ascii"),
            },
            "signers": [signer.model_dump(exclude_none=True) for signer in signers],
        }
        if expires_in_seconds is not None:
            body["expires_in_seconds"] = expires_in_seconds
        response = await send_request(
            self._http,
            "POST",
            "v1/envelopes",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
            headers={"Idempotency-Key": idempotency_key},
            json=body,
        )
        return parse_body(Envelope, response, provider=PROVIDER, operation=operation)

    async def get_envelope(self, envelope_id: str) -> Envelope:
        operation = "get_envelope"
        response = await send_request(
            self._http,
            "GET",
            f"v1/envelopes/{path_segment(envelope_id)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
        )
        return parse_body(Envelope, response, provider=PROVIDER, operation=operation)

    async def void_envelope(self, envelope_id: str, *, reason: str) -> Envelope:
        """Withdraw the envelope; voiding it again is harmless. Raises :class:`EnvelopeNotVoidable`
        once it is signed, declined or expired."""
        operation = "void_envelope"
        response = await send_request(
            self._http,
            "POST",
            f"v1/envelopes/{path_segment(envelope_id)}/void",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
            json={"reason": reason},
        )
        return parse_body(Envelope, response, provider=PROVIDER, operation=operation)
