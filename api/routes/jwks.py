"""The public keys that verify the BFF's access tokens: `GET /.well-known/jwks.json` (RFC 7517).

The gateway (KrakenD's `auth/validator`) fetches it to check customers' tokens at the edge, and
caches it for `auth.jwks_max_age_seconds`. Every key in `auth.signing_keys` is listed, the active
one first, so that tokens signed under a key being retired stay valid until they expire. Only the
public members (`kty`, `crv`, `x`) are ever sent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field

from api.deps import SettingsDep
from api.security import key_ring

router = APIRouter(tags=["auth"])


class PublicJwk(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url")
    kid: str = Field(description="The key id that tokens name in their header")
    use: Literal["sig"]
    alg: Literal["EdDSA"]


class Jwks(BaseModel):
    keys: list[PublicJwk] = Field(description="The active signing key first, then the ones still accepted")


@router.get(
    "/.well-known/jwks.json",
    response_model=Jwks,
    operation_id="jwks",
    summary="The public keys that verify access tokens",
    responses={304: {"description": "Not modified since the ETag given in If-None-Match"}},
)
async def jwks(
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=256)] = None,
) -> Response:
    body = json.dumps(key_ring(settings.auth).jwks(), separators=(",", ":"), sort_keys=True).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={settings.auth.jwks_max_age_seconds}", "ETag": etag}
    if if_none_match is not None and etag in (tag.strip() for tag in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
