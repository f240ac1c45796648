"""Identity documents: `POST /v1/documents` stores the file in the ECM, records it and puts a
``document.submitted`` event on the pipeline; `GET /v1/documents` lists the caller's documents.

What a document may be comes from settings (``pipeline.document_content_types`` and
``pipeline.document_max_bytes``, the same limits the pipeline's validation applies). The bytes must
also look like their declared type. Submitting the same file again (after a timeout, say) finds the
same ECM document and row and re-publishes the same event id, which the pipeline deduplicates.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Literal

import structlog
from confluent_kafka import KafkaException
from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import CurrentCustomer, EventProducerDep, ProvidersDep, Resources, ResourcesDep
from api.openapi import problems
from api.pagination import Page, PageDep
from api.problems import PayloadTooLarge, ServiceUnavailable, UnprocessableEntity, UnsupportedMediaType
from integrations.errors import ProviderError
from lendflow.settings import PipelineSettings
from pipeline.intake import document_submitted
from storage.keyset import Cursor, newest_first_after
from storage.models import Document

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/documents", tags=["documents"])

DocumentKind = Literal["id_front", "id_back", "selfie"]
# What the document says a file may be (the pipeline settings' defaults; a deployment may narrow them).
_ACCEPTED = PipelineSettings().document_content_types
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "application/pdf": (b"%PDF-",)}


class DocumentView(BaseModel):
    id: uuid.UUID
    document_type: str
    status: str = Field(description="submitted, validated or rejected")
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class DocumentPage(Page[DocumentView]):
    pass


class ContentMismatch(UnprocessableEntity):
    code, title = "content-mismatch", "The file's bytes are not of its declared content type"


def _view(document: Document) -> DocumentView:
    return DocumentView(
        id=document.id,
        document_type=document.document_type,
        status=document.status,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        created_at=document.created_at,
    )


@router.post(
    "",
    status_code=202,
    response_model=DocumentView,
    operation_id="submit_document",
    summary="Submit an identity document (multipart: type, file)",
    responses=problems(401, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "content": {"multipart/form-data": {"encoding": {"file": {"contentType": ", ".join(_ACCEPTED)}}}}
        }
    },
)
async def submit_document(
    caller: CurrentCustomer,
    resources: ResourcesDep,
    providers: ProvidersDep,
    events: EventProducerDep,
    document_type: Annotated[DocumentKind, Form(alias="type", description="id_front, id_back or selfie")],
    file: Annotated[UploadFile, File(description="JPEG, PNG or PDF")],
    response: Response,
) -> DocumentView:
    settings = resources.settings.pipeline
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    if content_type not in settings.document_content_types:
        raise UnsupportedMediaType(f"accepted: {', '.join(settings.document_content_types)}")
    content = await file.read(settings.document_max_bytes + 1)
    if len(content) > settings.document_max_bytes:
        raise PayloadTooLarge(f"a document is at most {settings.document_max_bytes} bytes")
    if not content:
        raise UnprocessableEntity("the file is empty")
    if not content.startswith(_MAGIC.get(content_type, (b"",))):
        raise ContentMismatch(f"the file is not a {content_type}")
    sha256 = hashlib.sha256(content).hexdigest()
    customer_id = str(caller.customer_id)
    try:
        stored = await providers.ecm.store_document(
            content,
            filename=f"{document_type}{_EXTENSIONS.get(content_type, '')}",
            content_type=content_type,
            metadata={"customer_id": customer_id, "document_type": document_type},
            idempotency_key=f"document-{customer_id}-{document_type}-{sha256[:40]}",
        )
    except ProviderError as exc:
        log.warning("document.ecm_unavailable", error=type(exc).__name__)
        raise ServiceUnavailable("the document store is not available; try again") from exc
    document = await _record(
        resources, caller.customer_id, document_type, stored.document_id, sha256, content_type, len(content)
    )
    try:
        await asyncio.wait_for(
            events.publish(document_submitted(document)), timeout=resources.settings.api.produce_timeout_seconds
        )
    except (KafkaException, BufferError, TimeoutError) as exc:
        log.warning("document.publish_failed", document_id=str(document.id), error=type(exc).__name__)
        raise ServiceUnavailable("the document was stored but could not be queued; send it again") from exc
    log.info("document.submitted", document_id=str(document.id), document_type=document_type)
    response.headers["Location"] = f"/v1/documents/{document.id}"
    return _view(document)


async def _record(
    resources: Resources,
    customer_id: uuid.UUID,
    document_type: str,
    ecm_document_id: str,
    sha256: str,
    content_type: str,
    size_bytes: int,
) -> Document:
    """The row of this ECM document: the one recorded before (a resubmission), or a new one."""
    async with resources.session_maker() as session:
        existing = await session.scalar(select(Document).where(Document.ecm_document_id == ecm_document_id))
        if existing is not None:
            return existing
        document = Document(
            customer_id=customer_id,
            document_type=document_type,
            ecm_document_id=ecm_document_id,
            sha256=sha256,
            content_type=content_type,
            size_bytes=size_bytes,
            status="submitted",
        )
        session.add(document)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            winner = await session.scalar(select(Document).where(Document.ecm_document_id == ecm_document_id))
            if winner is None:
                raise
            return winner
        await session.refresh(document)
        return document


@router.get(
    "",
    response_model=DocumentPage,
    operation_id="list_documents",
    summary="The caller's documents, newest first",
    responses=problems(401, 422),
)
async def list_documents(caller: CurrentCustomer, resources: ResourcesDep, page: PageDep) -> DocumentPage:
    query = (
        select(Document)
        .where(Document.customer_id == caller.customer_id)
        .where(newest_first_after(Document.created_at, Document.id, page.after))
        .order_by(Document.created_at.desc(), Document.id.desc())
        .limit(page.limit + 1)
    )
    async with resources.session_maker() as session:
        rows = list((await session.scalars(query)).all())
    kept, next_url = page.page(rows, lambda d: Cursor(key=str(d.id), at=d.created_at))
    return DocumentPage(items=[_view(d) for d in kept], next=next_url)
