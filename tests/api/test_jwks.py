"""Asymmetric access tokens: the published JWKS, key ids, rotation without logging anyone out,
and tokens the BFF must refuse (unknown key, unknown kid, HS256 made with the public key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from pydantic import SecretStr, ValidationError
from stack_support import register_and_login, serve_over_asgi

from api.security import check_auth_settings, key_ring
from lendflow.settings import DEV_SIGNING_KEY_ID, AuthSettings, Settings

PROBLEM = "application/problem+json"


def _pem(key: Ed25519PrivateKey) -> SecretStr:
    return SecretStr(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode())


def _with_keys(settings: Settings, keys: dict[str, SecretStr], active: str) -> Settings:
    auth = settings.auth.model_copy(update={"signing_keys": keys, "active_signing_key": active})
    return settings.model_copy(update={"auth": auth})


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(settings: Settings, subject: str) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": subject,
        "sid": str(uuid.uuid4()),
        "role": "customer",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }


def _hs256(claims: dict[str, object], secret: bytes, kid: str) -> str:
    """An HS256 token made by hand: PyJWT itself refuses an asymmetric key as an HMAC secret."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64url(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


async def _me(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_the_jwks_lists_every_accepted_key_active_first_with_public_parts_only(api_settings: Settings) -> None:
    previous, current = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    settings = _with_keys(api_settings, {"k-previous": _pem(previous), "k-current": _pem(current)}, "k-current")

    async with serve_over_asgi(settings) as api:
        response = await api.get("/.well-known/jwks.json")
        again = await api.get("/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["Cache-Control"] == f"public, max-age={settings.auth.jwks_max_age_seconds}"
    assert again.status_code == 304
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == ["k-current", "k-previous"]
    for jwk in keys:
        assert set(jwk) == {"kty", "crv", "x", "kid", "use", "alg"}  # no "d": nothing private
        assert (jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"]) == ("OKP", "Ed25519", "sig", "EdDSA")
    published = {k["kid"]: k["x"] for k in keys}
    assert published["k-current"] == _b64url(current.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    assert published["k-previous"] == _b64url(previous.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    # What a gateway does with it: a token the app issued verifies with the published key of its kid.
    token = jwt.encode(_claims(settings, str(uuid.uuid4())), current, algorithm="EdDSA", headers={"kid": "k-current"})
    jwk = jwt.PyJWKSet.from_dict(response.json())[jwt.get_unverified_header(token)["kid"]]
    assert (
        jwt.decode(token, jwk.key, algorithms=["EdDSA"], audience=settings.auth.audience)["iss"] == settings.auth.issuer
    )


async def test_a_token_signed_by_an_unknown_key_or_naming_an_unknown_kid_is_refused(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    account = await register_and_login(api)
    claims = _claims(api_settings, account.customer_id)
    active = key_ring(api_settings.auth).active
    stranger = Ed25519PrivateKey.generate()

    tokens = {
        "unknown key, unknown kid": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": "k-stranger"}),
        "unknown key, our kid": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": active.kid}),
        "our key, unknown kid": jwt.encode(claims, active.private_key, algorithm="EdDSA", headers={"kid": "k-retired"}),
        "our key, no kid": jwt.encode(claims, active.private_key, algorithm="EdDSA"),
    }
    answers = {name: await _me(api, token) for name, token in tokens.items()}

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(tokens, 401)
    assert all(a.headers["content-type"] == PROBLEM for a in answers.values())
    assert all(a.headers["WWW-Authenticate"].startswith("Bearer") for a in answers.values())
    # The same claims under our key and kid pass: the refusals above are about the key.
    signed = jwt.encode(claims, active.private_key, algorithm="EdDSA", headers={"kid": active.kid})
    assert (await _me(api, signed)).status_code == 200


async def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    account = await register_and_login(api)
    claims = _claims(api_settings, account.customer_id)
    active = key_ring(api_settings.auth).active
    public = active.public_key
    published_x = (await api.get("/.well-known/jwks.json")).json()["keys"][0]["x"]
    secrets = [
        public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        public.public_bytes(Encoding.Raw, PublicFormat.Raw),
        published_x.encode(),
    ]

    answers = [await _me(api, _hs256(claims, secret, active.kid)) for secret in secrets]

    assert [a.status_code for a in answers] == [401] * len(secrets)
    assert all(a.headers["content-type"] == PROBLEM for a in answers)


async def test_rotation_keeps_tokens_of_the_previous_key_until_it_is_retired(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    # Before: the development key signs. A customer logs in under it.
    account = await register_and_login(api)
    under_a = account.access_token
    assert jwt.get_unverified_header(under_a)["kid"] == DEV_SIGNING_KEY_ID
    key_a = api_settings.auth.signing_keys[DEV_SIGNING_KEY_ID]
    key_b = _pem(Ed25519PrivateKey.generate())

    # B becomes active while A is still listed: A's token still works, new tokens are B's.
    rotating = _with_keys(api_settings, {DEV_SIGNING_KEY_ID: key_a, "k-b": key_b}, "k-b")
    async with serve_over_asgi(rotating) as api_b:
        still_valid = await _me(api_b, under_a)
        refreshed = await api_b.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
        published = [k["kid"] for k in (await api_b.get("/.well-known/jwks.json")).json()["keys"]]
    assert still_valid.status_code == 200
    assert refreshed.status_code == 200, refreshed.text
    under_b = refreshed.json()["access_token"]
    assert jwt.get_unverified_header(under_b)["kid"] == "k-b"
    assert published == ["k-b", DEV_SIGNING_KEY_ID]

    # A retired: its token is refused, B's is not, and A is no longer published.
    retired = _with_keys(api_settings, {"k-b": key_b}, "k-b")
    async with serve_over_asgi(retired) as api_c:
        refused = await _me(api_c, under_a)
        accepted = await _me(api_c, under_b)
        published_after = [k["kid"] for k in (await api_c.get("/.well-known/jwks.json")).json()["keys"]]
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert accepted.status_code == 200
    assert published_after == ["k-b"]


def test_production_starts_with_its_own_keys_and_refuses_the_development_key_among_them() -> None:
    own = {"k-prod-1": _pem(Ed25519PrivateKey.generate())}
    development = AuthSettings().signing_keys[DEV_SIGNING_KEY_ID]

    check_auth_settings(AuthSettings(signing_keys=own, active_signing_key="k-prod-1"), "production")
    with pytest.raises(RuntimeError, match="SIGNING_KEYS"):
        check_auth_settings(
            AuthSettings(signing_keys={**own, "k-old": development}, active_signing_key="k-prod-1"), "production"
        )
    check_auth_settings(AuthSettings(), "development")


_P256_PEM = (
    ec.generate_private_key(ec.SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
)


@pytest.mark.parametrize("pem", ["not a key", _P256_PEM], ids=["garbage", "p256-not-ed25519"])
def test_a_signing_key_that_is_not_an_ed25519_pem_stops_the_start_naming_only_its_id(pem: str) -> None:
    auth = AuthSettings(signing_keys={"k-broken": SecretStr(pem)}, active_signing_key="k-broken")

    with pytest.raises(RuntimeError, match="k-broken") as caught:
        check_auth_settings(auth, "development")
    assert pem.strip() not in str(caught.value)


def test_settings_refuse_an_active_key_that_is_not_listed_and_odd_key_ids() -> None:
    key = _pem(Ed25519PrivateKey.generate())
    with pytest.raises(ValidationError, match="active_signing_key"):
        AuthSettings(signing_keys={"k-1": key}, active_signing_key="k-2")
    with pytest.raises(ValidationError, match="signing_keys"):
        AuthSettings(signing_keys={"k 1/../x": key}, active_signing_key="k 1/../x")
