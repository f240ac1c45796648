"""ECM (enterprise content management): stores contracts and identity documents.

Wire format::

    POST   {base}/v1/documents            multipart: file (bytes, filename, content type),
                                          metadata (a JSON object of strings); optional
                                          Idempotency-Key header → 201 (200 on a replay)
    GET    {base}/v1/documents/{id}       → 200 the document's record
    GET    {base}/v1/documents/{id}/content → 200 the bytes
    DELETE {base}/v1/documents/{id}       → 204; 404 when absent

A record: ``{"document_id", "sha256", "size_bytes", "content_type", "filename", "metadata",
"stored_at"}``. The client checks every SHA-256 itself: what was stored and what comes back must
be the bytes it knows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, Field

from integrations.errors import DocumentIntegrityError, DocumentNotFound, IdempotencyConflict
from integrations.http import RefusalMap, parse_body, path_segment, send_request

PROVIDER = "ecm"


class StoredDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_id: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    content_type: str
    filename: str
    metadata: dict[str, str]
    stored_at: datetime


@dataclass(frozen=True)
class FetchedDocument:
    document: StoredDocument
    content: bytes


_REFUSALS: RefusalMap = {404: DocumentNotFound, "idempotency_key_reused": IdempotencyConflict, 409: IdempotencyConflict}


class EcmClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def store_document(
        self,
        content: bytes,
        *,
        filename: str,
        content_type: str,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> StoredDocument:
        """Store ``content``; with an ``idempotency_key``, storing again returns the first document."""
        operation = "store_document"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = await send_request(
            self._http,
            "POST",
            "v1/documents",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
            headers=headers,
            files={"file": (filename, content, content_type)},
            data={"metadata": json.dumps(metadata or {})},
        )
        document = parse_body(StoredDocument, response, provider=PROVIDER, operation=operation)
        if document.sha256 != hashlib.sha256(content).hexdigest() or document.size_bytes != len(content):
            raise DocumentIntegrityError(
                "the ECM stored other bytes than those sent", provider=PROVIDER, operation=operation
            )
        return document

    async def get_document(self, document_id: str) -> StoredDocument:
        operation = "get_document"
        response = await send_request(
            self._http,
            "GET",
            f"v1/documents/{path_segment(document_id)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
        )
        return parse_body(StoredDocument, response, provider=PROVIDER, operation=operation)

    async def fetch_document(self, document_id: str) -> FetchedDocument:
        """The record and the bytes, checked against the record's SHA-256."""
        document = await self.get_document(document_id)
        operation = "fetch_document"
        response = await send_request(
            self._http,
            "GET",
            f"v1/documents/{path_segment(document_id)}/content",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
        )
        content = response.content
        if hashlib.sha256(content).hexdigest() != document.sha256:
            raise DocumentIntegrityError(
                "the fetched bytes do not match the document's SHA-256", provider=PROVIDER, operation=operation
            )
        return FetchedDocument(document=document, content=content)

    async def delete_document(self, document_id: str) -> bool:
        """Delete the document; ``False`` when it was already gone, so a compensation can repeat."""
        try:
            await send_request(
                self._http,
                "DELETE",
                f"v1/documents/{path_segment(document_id)}",
                provider=PROVIDER,
                operation="delete_document",
                refusals=_REFUSALS,
            )
        except DocumentNotFound:
            return False
        return True
