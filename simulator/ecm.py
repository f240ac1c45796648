"""Simulated ECM: documents kept on disk under the simulator's data directory."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse, Response

from simulator.state import ProviderFailure, StateDep, bearer_guard, fingerprint

log = structlog.get_logger(__name__)

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024

router = APIRouter(prefix="/ecm", tags=["ecm"], dependencies=[Depends(bearer_guard("ecm"))])


def _metadata(raw: str) -> dict[str, str]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()):
        raise ProviderFailure(400, "invalid_metadata", "metadata must be a JSON object of strings")
    return parsed


@router.post("/v1/documents")
async def store_document(
    state: StateDep,
    file: Annotated[UploadFile, File()],
    metadata: Annotated[str, Form()] = "{}",
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    async with state.faults.gate("ecm", "store_document"):
        content = await file.read(MAX_DOCUMENT_BYTES + 1)
        if len(content) > MAX_DOCUMENT_BYTES:
            raise ProviderFailure(413, "document_too_large", "documents are limited to 25 MiB")
        fields = _metadata(metadata)
        filename = file.filename or "document"
        content_type = file.content_type or "application/octet-stream"
        request_fingerprint = fingerprint([hashlib.sha256(content).hexdigest(), filename, content_type, fields])
        # One store at a time, so two requests with the same key cannot both create a document.
        async with state.ecm_lock:
            if idempotency_key:
                existing = await asyncio.to_thread(state.ecm.find_by_key, idempotency_key)
                if existing is not None:
                    document_id, stored_fingerprint = existing
                    if stored_fingerprint != request_fingerprint:
                        raise ProviderFailure(
                            409, "idempotency_key_reused", "this idempotency key was used for another document"
                        )
                    record = await asyncio.to_thread(state.ecm.get, document_id)
                    if record is not None:
                        return JSONResponse(
                            record.model_dump(mode="json"), status_code=200, headers={"Idempotent-Replayed": "true"}
                        )
            record = await asyncio.to_thread(
                lambda: state.ecm.put(
                    content,
                    filename=filename,
                    content_type=content_type,
                    metadata=fields,
                    stored_at=datetime.now(UTC),
                    idempotency_key=idempotency_key or None,
                    request_fingerprint=request_fingerprint,
                )
            )
    log.info("simulator.ecm.stored", document_id=record.document_id, size_bytes=record.size_bytes)
    return JSONResponse(record.model_dump(mode="json"), status_code=201)


def _not_found() -> ProviderFailure:
    return ProviderFailure(404, "document_not_found", "no document with this id")


@router.get("/v1/documents/{document_id}")
async def get_document(document_id: str, state: StateDep) -> JSONResponse:
    async with state.faults.gate("ecm", "get_document"):
        record = await asyncio.to_thread(state.ecm.get, document_id)
        if record is None:
            raise _not_found()
    return JSONResponse(record.model_dump(mode="json"))


@router.get("/v1/documents/{document_id}/content")
async def fetch_document(document_id: str, state: StateDep) -> Response:
    async with state.faults.gate("ecm", "fetch_document"):
        record = await asyncio.to_thread(state.ecm.get, document_id)
        content = await asyncio.to_thread(state.ecm.read, document_id)
        if record is None or content is None:
            raise _not_found()
    return Response(content, media_type=record.content_type, headers={"ETag": f'"{record.sha256}"'})


@router.delete("/v1/documents/{document_id}", status_code=204)
async def delete_document(document_id: str, state: StateDep) -> Response:
    async with state.faults.gate("ecm", "delete_document"):
        if not await asyncio.to_thread(state.ecm.delete, document_id):
            raise _not_found()
    log.info("simulator.ecm.deleted", document_id=document_id)
    return Response(status_code=204)
