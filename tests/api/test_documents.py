"""`POST /v1/documents`: stored in the ECM, recorded, and put on the pipeline; limits enforced."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import read_topic, register_and_login, serve_over_asgi

from integrations.factory import ProviderClients
from lendflow.settings import Settings
from storage.models import Document

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + uuid.uuid4().bytes
PDF = b"%PDF-1.7\n" + b"0" * 128


async def test_a_document_is_stored_recorded_and_put_on_the_pipeline(
    api: httpx.AsyncClient,
    api_settings: Settings,
    providers: ProviderClients,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    account = await register_and_login(api)
    content = PNG + uuid.uuid4().bytes

    response = await api.post(
        "/v1/documents",
        data={"type": "id_front"},
        files={"file": ("front.png", content, "image/png")},
        headers=account.headers,
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["document_type"] == "id_front" and body["status"] == "submitted"
    assert body["sha256"] == hashlib.sha256(content).hexdigest() and body["size_bytes"] == len(content)
    async with session_maker() as session:
        row = await session.get(Document, uuid.UUID(body["id"]))
    assert row is not None and str(row.customer_id) == account.customer_id
    stored = await providers.ecm.fetch_document(row.ecm_document_id)
    assert stored.content == content
    messages = await asyncio.to_thread(
        read_topic, api_settings.kafka.bootstrap_servers, api_settings.kafka.topics.incoming
    )
    ours = [m for m in messages if json.loads(m.value()).get("data", {}).get("document_id") == body["id"]]
    assert len(ours) == 1
    envelope = json.loads(ours[0].value())
    assert envelope["type"] == "document.submitted" and envelope["subject"] == account.customer_id
    assert ours[0].key() == account.customer_id.encode()


async def test_sending_the_same_file_again_answers_the_same_document(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)
    files = {"file": ("selfie.pdf", PDF, "application/pdf")}

    first = await api.post("/v1/documents", data={"type": "selfie"}, files=files, headers=account.headers)
    second = await api.post("/v1/documents", data={"type": "selfie"}, files=files, headers=account.headers)
    listed = await api.get("/v1/documents", headers=account.headers)

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert [d["id"] for d in listed.json()["items"]] == [first.json()["id"]]


async def test_content_type_size_and_kind_are_checked(api: httpx.AsyncClient, api_settings: Settings) -> None:
    account = await register_and_login(api)

    async def send(kind: str, name: str, content: bytes, content_type: str) -> httpx.Response:
        return await api.post(
            "/v1/documents", data={"type": kind}, files={"file": (name, content, content_type)}, headers=account.headers
        )

    gif = await send("id_front", "x.gif", b"GIF89a" + b"0" * 10, "image/gif")
    disguised = await send("id_front", "x.png", b"MZ\x90\x00 not an image", "image/png")
    empty = await send("id_front", "x.png", b"", "image/png")
    contract = await send("contract", "x.pdf", PDF, "application/pdf")
    anonymous = await api.post(
        "/v1/documents", data={"type": "id_back"}, files={"file": ("x.pdf", PDF, "application/pdf")}
    )

    assert gif.status_code == 415 and gif.headers["content-type"] == "application/problem+json"
    assert disguised.status_code == 422 and disguised.json()["type"].endswith("/content-mismatch")
    assert empty.status_code == 422
    assert contract.status_code == 422 and contract.json()["errors"][0]["field"] == "type"
    assert anonymous.status_code == 401

    small = api_settings.model_copy(
        update={"pipeline": api_settings.pipeline.model_copy(update={"document_max_bytes": 1024})}
    )
    async with serve_over_asgi(small) as limited:
        other = await register_and_login(limited)
        too_big = await limited.post(
            "/v1/documents",
            data={"type": "id_back"},
            files={"file": ("big.pdf", PDF + b"0" * 2048, "application/pdf")},
            headers=other.headers,
        )
        way_too_big = await limited.post(
            "/v1/documents",
            data={"type": "id_back"},
            files={"file": ("big.pdf", PDF + b"0" * 200_000, "application/pdf")},
            headers=other.headers,
        )
    assert too_big.status_code == 413 and too_big.headers["content-type"] == "application/problem+json"
    assert way_too_big.status_code == 413
