"""Request body size limits: 413 `application/problem+json` above the limit of the path.

A declared ``Content-Length`` over the limit is refused before anything is read. A body sent
without one (chunked) is counted as it arrives; the read that crosses the limit raises a 413
``HTTPException``, which the problem handlers answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from lendflow.settings import Settings

TOO_LARGE = "The request body is too large"


def limit_for_path(settings: Settings) -> Callable[[str], int]:
    """Documents may carry a file of pipeline.document_max_bytes; every other route api.max_body_bytes."""
    documents = settings.pipeline.document_max_bytes + settings.api.multipart_overhead_bytes
    default = settings.api.max_body_bytes

    def limit(path: str) -> int:
        return documents if path.rstrip("/") == "/v1/documents" else default

    return limit


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(scope, send, 400, "bad-request", "Content-Length is not a number")
                return
            if int(declared) > limit:
                await self._refuse(scope, send, 413, "payload-too-large", TOO_LARGE, f"at most {limit} bytes")
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, code: str, title: str, detail: str | None = None) -> None:
        body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "instance": scope["path"]}
        if detail:
            body["detail"] = detail
        request_id = (scope.get("state") or {}).get("request_id")
        if request_id:
            body["request_id"] = request_id
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
