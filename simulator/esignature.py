"""Simulated eSignature: envelopes, a signing page per signer, and envelope webhooks.

Each signer gets a link, ``GET /esignature/sign/{token}``, that a person, a test or the demo opens
to sign or decline (an HTML form that POSTs back to the same address); the page shows the document
itself (``GET /esignature/sign/{token}/document``, kept on disk by its SHA-256). When every signer has
signed the envelope is ``signed`` and ``envelope.signed`` goes out; one decline makes it
``declined`` (``envelope.declined``); at ``expires_at`` an open envelope becomes ``expired``
(``envelope.expired``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import html
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Form, Header
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from simulator.state import (
    EnvelopeRecord,
    ProviderFailure,
    SignerRecord,
    SimulatorState,
    StateDep,
    bearer_guard,
    fingerprint,
)

log = structlog.get_logger(__name__)

api = APIRouter(prefix="/esignature/v1", tags=["esignature"], dependencies=[Depends(bearer_guard("esignature"))])
pages = APIRouter(prefix="/esignature", tags=["esignature pages"], include_in_schema=False)


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    content_type: str = "application/pdf"
    content_base64: str = Field(min_length=1)


class SignerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    cpf: str | None = Field(default=None, pattern=r"^[0-9]{11}$")


class EnvelopeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_reference: str = Field(min_length=1, max_length=200)
    document: DocumentIn
    signers: list[SignerIn] = Field(min_length=1, max_length=10)
    expires_in_seconds: int | None = Field(default=None, ge=1, le=90 * 24 * 3600)


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


def envelope_json(state: SimulatorState, envelope: EnvelopeRecord) -> dict[str, object]:
    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "envelope_id": envelope.envelope_id,
        "external_reference": envelope.external_reference,
        "status": envelope.status,
        "document": {
            "name": envelope.document_name,
            "sha256": envelope.document_sha256,
            "size_bytes": envelope.document_size,
        },
        "signers": [
            {
                "signer_id": s.signer_id,
                "name": s.name,
                "email": s.email,
                "status": s.status,
                "signing_url": f"{state.public_base_url}/esignature/sign/{s.token}",
                "signed_at": stamp(s.signed_at),
                "declined_at": stamp(s.declined_at),
            }
            for s in envelope.signers
        ],
        "created_at": envelope.created_at.isoformat(),
        "expires_at": envelope.expires_at.isoformat(),
        "completed_at": stamp(envelope.completed_at),
        "voided_at": stamp(envelope.voided_at),
        "void_reason": envelope.void_reason,
    }


def _emit(state: SimulatorState, envelope: EnvelopeRecord, signer_id: str | None) -> None:
    state.webhooks.emit(
        "esignature",
        f"envelope.{envelope.status}",
        {
            "envelope_id": envelope.envelope_id,
            "external_reference": envelope.external_reference,
            "status": envelope.status,
            "occurred_at": (envelope.completed_at or datetime.now(UTC)).isoformat(),
            "signer_id": signer_id,
        },
    )


# The documents sent for signature, kept on disk by their SHA-256 so the signing page can show them.


def _document_path(state: SimulatorState, sha256: str) -> Path:
    return state.data_dir / "esignature" / "documents" / f"{sha256}.bin"


def _keep_document(state: SimulatorState, sha256: str, content: bytes) -> None:
    path = _document_path(state, sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


class EnvelopeClosed(Exception):
    """The envelope is no longer open for signing."""


def sign(state: SimulatorState, envelope: EnvelopeRecord, signer: SignerRecord) -> None:
    if envelope.status != "sent" or signer.status != "pending":
        raise EnvelopeClosed(envelope.status)
    now = datetime.now(UTC)
    signer.status, signer.signed_at = "signed", now
    if all(s.status == "signed" for s in envelope.signers):
        envelope.status, envelope.completed_at = "signed", now
        log.info("simulator.envelope.signed", envelope_id=envelope.envelope_id)
        _emit(state, envelope, signer.signer_id)


def decline(state: SimulatorState, envelope: EnvelopeRecord, signer: SignerRecord) -> None:
    if envelope.status != "sent" or signer.status != "pending":
        raise EnvelopeClosed(envelope.status)
    now = datetime.now(UTC)
    signer.status, signer.declined_at = "declined", now
    envelope.status, envelope.completed_at = "declined", now
    log.info("simulator.envelope.declined", envelope_id=envelope.envelope_id)
    _emit(state, envelope, signer.signer_id)


def expire(state: SimulatorState, envelope: EnvelopeRecord) -> bool:
    if envelope.status != "sent":
        return False
    envelope.status, envelope.completed_at = "expired", datetime.now(UTC)
    log.info("simulator.envelope.expired", envelope_id=envelope.envelope_id)
    _emit(state, envelope, None)
    return True


def _find(state: SimulatorState, envelope_id: str) -> EnvelopeRecord:
    envelope = state.envelopes.get(envelope_id)
    if envelope is None:
        raise ProviderFailure(404, "envelope_not_found", "no envelope with this id")
    return envelope


@api.post("/envelopes")
async def create_envelope(
    request: EnvelopeRequest,
    state: StateDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    async with state.faults.gate("esignature", "create_envelope"):
        if not idempotency_key:
            raise ProviderFailure(400, "idempotency_key_required", "send an Idempotency-Key header")
        request_fingerprint = fingerprint(request.model_dump())
        existing_id = state.envelope_by_key.get(idempotency_key)
        if existing_id is not None:
            existing = state.envelopes[existing_id]
            if existing.fingerprint != request_fingerprint:
                raise ProviderFailure(409, "idempotency_key_reused", "this key was used for another envelope")
            return JSONResponse(envelope_json(state, existing), headers={"Idempotent-Replayed": "true"})
        try:
            content = base64.b64decode(request.document.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProviderFailure(400, "invalid_document", "content_base64 is not base64") from exc
        now = datetime.now(UTC)
        lifetime = request.expires_in_seconds or state.settings.simulator.envelope_expiry_seconds
        envelope = EnvelopeRecord(
            envelope_id=f"env_{uuid.uuid4().hex}",
            external_reference=request.external_reference,
            fingerprint=request_fingerprint,
            document_name=request.document.name,
            document_sha256=hashlib.sha256(content).hexdigest(),
            document_size=len(content),
            signers=[
                SignerRecord(
                    signer_id=f"sgn_{uuid.uuid4().hex[:16]}",
                    name=s.name,
                    email=s.email,
                    cpf=s.cpf,
                    token=secrets.token_urlsafe(24),
                )
                for s in request.signers
            ],
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
        await asyncio.to_thread(_keep_document, state, envelope.document_sha256, content)
        state.envelopes[envelope.envelope_id] = envelope
        state.envelope_by_key[idempotency_key] = envelope.envelope_id
        for signer in envelope.signers:
            state.signer_by_token[signer.token] = (envelope.envelope_id, signer.signer_id)

        async def expire_when_due() -> None:
            expire(state, envelope)

        state.schedule(lifetime, expire_when_due)
    log.info("simulator.envelope.created", envelope_id=envelope.envelope_id, signers=len(envelope.signers))
    return JSONResponse(envelope_json(state, envelope), status_code=201)


@api.get("/envelopes/{envelope_id}")
async def get_envelope(envelope_id: str, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("esignature", "get_envelope"):
        envelope = _find(state, envelope_id)
    return envelope_json(state, envelope)


@api.post("/envelopes/{envelope_id}/void")
async def void_envelope(envelope_id: str, request: VoidRequest, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("esignature", "void_envelope"):
        envelope = _find(state, envelope_id)
        if envelope.status == "sent":
            envelope.status, envelope.voided_at, envelope.void_reason = "voided", datetime.now(UTC), request.reason
            log.info("simulator.envelope.voided", envelope_id=envelope_id)
        elif envelope.status != "voided":
            raise ProviderFailure(409, "envelope_completed", f"the envelope is already {envelope.status}")
    return envelope_json(state, envelope)


# The page a signer opens.

_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.6rem 1.4rem;margin-right:1rem}}
iframe{{width:100%;height:70vh;border:1px solid #bbb;margin:.5rem 0 1rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status_code)


def _signer_for(state: SimulatorState, token: str) -> tuple[EnvelopeRecord, SignerRecord] | None:
    found = state.signer_by_token.get(token)
    if found is None:
        return None
    envelope = state.envelopes[found[0]]
    signer = next(s for s in envelope.signers if s.signer_id == found[1])
    return envelope, signer


@pages.get("/sign/{token}", response_class=HTMLResponse)
async def signing_page(token: str, state: StateDep) -> HTMLResponse:
    found = _signer_for(state, token)
    if found is None:
        return _page("Link inválido", "<p>Este link de assinatura não existe.</p>", 404)
    envelope, signer = found
    summary = (
        f"<p>Documento: <strong>{html.escape(envelope.document_name)}</strong><br>"
        f"Signatário: <strong>{html.escape(signer.name)}</strong><br>"
        f"SHA-256: <code>{envelope.document_sha256}</code></p>"
    )
    if _document_path(state, envelope.document_sha256).exists():
        # Relative links: the page works behind whatever address the simulator is reached at.
        summary += (
            f'<p><a id="document-link" href="{token}/document" target="_blank" rel="noopener">'
            "Abrir o documento (PDF)</a></p>"
            f'<iframe id="document" title="Documento a assinar" src="{token}/document"></iframe>'
        )
    if envelope.status != "sent" or signer.status != "pending":
        return _page(
            "Assinatura encerrada",
            summary + f'<p id="status">Situação: {html.escape(envelope.status)} / {html.escape(signer.status)}</p>',
        )
    form = (
        '<form method="post">'
        '<button type="submit" name="decision" value="sign" id="sign">Assinar</button>'
        '<button type="submit" name="decision" value="decline" id="decline">Recusar</button>'
        "</form>"
    )
    return _page("Assinatura eletrônica", summary + form)


@pages.get("/sign/{token}/document")
async def signing_document(token: str, state: StateDep) -> Response:
    """The document to be signed, for the person who holds the signing link."""
    found = _signer_for(state, token)
    if found is None:
        return _page("Link inválido", "<p>Este link de assinatura não existe.</p>", 404)
    envelope, _ = found
    path = _document_path(state, envelope.document_sha256)
    if not path.exists():
        return _page("Documento indisponível", "<p>O documento deste envelope não está disponível.</p>", 404)
    content = await asyncio.to_thread(path.read_bytes)
    media_type = "application/pdf" if content.startswith(b"%PDF") else "application/octet-stream"
    filename = "".join(c if c.isalnum() or c in "-_." else "-" for c in envelope.document_name) or "documento"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"', "Cache-Control": "private, no-store"},
    )


@pages.post("/sign/{token}", response_class=HTMLResponse)
async def signing_decision(
    token: str, decision: Annotated[Literal["sign", "decline"], Form()], state: StateDep
) -> HTMLResponse:
    found = _signer_for(state, token)
    if found is None:
        return _page("Link inválido", "<p>Este link de assinatura não existe.</p>", 404)
    envelope, signer = found
    try:
        if decision == "sign":
            sign(state, envelope, signer)
        else:
            decline(state, envelope, signer)
    except EnvelopeClosed:
        return _page("Assinatura encerrada", f'<p id="status">Situação: {html.escape(envelope.status)}</p>', 409)
    done = "Documento assinado." if decision == "sign" else "Assinatura recusada."
    return _page("Obrigado", f'<p id="status">{done}</p>')
