"""The remote payload codec the Temporal UI calls to show encrypted payloads decoded (LGPD).

Temporal's codec-server protocol: `POST /codec/decode` (and `/codec/encode`) with
`{"payloads": [{"metadata": {name: base64}, "data": base64}]}`, answered in the same shape.
Only authenticated operations staff may decode: anyone else gets a 401 and sees ciphertext.

The Temporal UI calls the codec from the operator's browser. Tools send an operator bearer token;
the browser carries the operator's codec session instead: `GET /codec/session` is a log-in page,
`POST /codec/session` checks the password and sets an HttpOnly, SameSite=Strict cookie holding an
operator access token, scoped to the `/codec` path so that no other route ever sees it, and the UI
(configured with `includeCredentials`) sends it with each decode. `DELETE /codec/session` ends it.
Each decode is logged with the operator who asked (who saw personal data, and when).
"""

from __future__ import annotations

import base64
import html
import json
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload

from api.deps import (
    OPS_CODEC_COOKIE,
    CodecOperator,
    ResourcesDep,
    SettingsDep,
)
from api.openapi import problems
from api.problems import UnprocessableEntity
from api.routes.ops.auth import OperatorTokenRequest, end_operator_session, log_in_operator
from api.security import codec_tokens
from lendflow.settings import Settings
from lendflow.temporal import payload_codec

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/codec", tags=["operations"])
NAMESPACE_HEADER = Annotated[
    str | None, Header(alias="X-Namespace", max_length=255, description="Sent by the Temporal UI")
]


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
async def decode(
    body: WirePayloads, operator: CodecOperator, settings: SettingsDep, namespace: NAMESPACE_HEADER = None
) -> WirePayloads:
    try:
        decoded = await payload_codec(settings.temporal).decode(_from_wire(body))
    except Exception as exc:  # a key we do not hold, or tampered bytes
        raise UnprocessableEntity("a payload could not be decrypted") from exc
    log.info("codec.decoded", operator=operator.username, namespace=namespace, payloads=len(decoded))
    return _to_wire(decoded)


@router.post(
    "/encode",
    response_model=WirePayloads,
    operation_id="codec_encode",
    summary="Encrypt Temporal payloads (ops only)",
    responses=problems(401, 403, 413, 422),
)
async def encode(body: WirePayloads, operator: CodecOperator, settings: SettingsDep) -> WirePayloads:
    return _to_wire(await payload_codec(settings.temporal).encode(_from_wire(body)))


# --- The operator's browser session for the Temporal UI ------------------------------------------


class CodecSession(BaseModel):
    operator: str = Field(description="The operator the session belongs to")
    expires_in: int = Field(description="Seconds until the session ends; log in again then")
    temporal_ui_url: str = Field(description="Where the Temporal UI is")


def _cookie_attributes(request: Request, settings: Settings) -> dict[str, Any]:
    """Only `/codec` sees the cookie, no script reads it, no other site sends it."""
    secure = settings.auth.cookie_secure or request.url.scheme == "https"
    return {"path": router.prefix, "httponly": True, "samesite": "strict", "secure": secure}


@router.post(
    "/session",
    response_model=CodecSession,
    operation_id="start_codec_session",
    summary="Operator log-in for the Temporal UI: sets the codec session cookie",
    responses=problems(401, 413, 422, 429, 503),
)
async def start_session(
    body: OperatorTokenRequest, request: Request, response: Response, resources: ResourcesDep
) -> CodecSession:
    settings = resources.settings
    session = await log_in_operator(body, request, resources)
    # The cookie lasts the operator's session (a shift), not an access token's 15 minutes: the UI
    # cannot refresh it, and its audience opens nothing but the codec.
    codec = codec_tokens(settings.auth).issue(session.operator.id, session.refresh.family_id, "ops")
    response.set_cookie(
        OPS_CODEC_COOKIE, codec.token, max_age=codec.expires_in, **_cookie_attributes(request, settings)
    )
    response.headers["Cache-Control"] = "no-store"
    return CodecSession(
        operator=session.operator.username, expires_in=codec.expires_in, temporal_ui_url=settings.temporal.ui_url
    )


@router.delete(
    "/session",
    status_code=204,
    operation_id="end_codec_session",
    summary="End the operator's codec session (the UI shows ciphertext again)",
    responses=problems(401, 503),
)
async def end_session(request: Request, operator: CodecOperator, resources: ResourcesDep) -> Response:
    await end_operator_session(resources, operator)
    log.info("codec.session_ended", operator=operator.username)
    response = Response(status_code=204)
    response.delete_cookie(OPS_CODEC_COOKIE, **_cookie_attributes(request, resources.settings))
    return response


@router.get(
    "/session",
    response_class=HTMLResponse,
    operation_id="codec_session_page",
    summary="The operator's log-in page for decoded payloads in the Temporal UI (HTML)",
)
async def session_page(settings: SettingsDep) -> HTMLResponse:
    """The log-in page an operator opens before looking at workflows in the Temporal UI."""
    page = _SESSION_PAGE.replace("{{ui_url}}", html.escape(settings.temporal.ui_url)).replace(
        "{{ui_url_json}}",
        json.dumps(settings.temporal.ui_url).replace("<", "\\u003c"),  # inert inside <script>
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


_SESSION_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Lendflow operations: decode payloads in the Temporal UI</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 30rem; margin: 4rem auto; color: #1f2933; }
  label { display: block; margin-top: 1rem; }
  input { width: 100%; padding: .4rem; font-size: 1rem; }
  button { margin-top: 1.2rem; padding: .5rem 1.2rem; font-size: 1rem; }
  #status { margin-top: 1.2rem; }
  .error { color: #b42318; }
</style>
</head>
<body>
<h1>Lendflow operations</h1>
<p>Workflow payloads hold personal data and are encrypted. Log in as an operator and the
<a href="{{ui_url}}">Temporal UI</a> shows them decoded in this browser until the session ends.</p>
<form id="login">
  <label>Username <input name="username" autocomplete="username" required maxlength="100"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="128"></label>
  <button type="submit">Log in</button>
  <button type="button" id="logout">Log out</button>
</form>
<p id="status" role="status"></p>
<script>
const uiUrl = {{ui_url_json}};
const status = document.getElementById("status");
function show(text, error) { status.textContent = text; status.className = error ? "error" : ""; }
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("session", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")}),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { show(body.detail || body.title || ("log-in failed: HTTP " + response.status), true); return; }
  const minutes = Math.round(body.expires_in / 60);
  const lasting = minutes >= 120 ? Math.round(minutes / 60) + " hours" : minutes + " minutes";
  show("Logged in as " + body.operator + " for " + lasting + ". Opening the Temporal UI…");
  window.location.assign(uiUrl);
});
document.getElementById("logout").addEventListener("click", async () => {
  const response = await fetch("session", {method: "DELETE"});
  // 401: there was no live session (never logged in, expired or already ended).
  show(response.ok || response.status === 401
    ? "Logged out: the Temporal UI shows encrypted payloads again."
    : "log-out failed: HTTP " + response.status, !(response.ok || response.status === 401));
});
</script>
</body>
</html>
"""
