"""Passwords, access tokens, refresh-token families and login throttling.

- Passwords are hashed with argon2id (RFC 9106 low-memory profile, argon2-cffi's defaults), off the
  event loop. An unknown login is checked against a dummy hash so that timing does not tell.
- Access tokens are JWTs signed with Ed25519 (EdDSA, the one pinned algorithm) under the active key
  of `auth.signing_keys`, named by `kid`; every listed key verifies, and their public halves are
  published at /.well-known/jwks.json so that the gateway checks tokens at the edge. Verifying
  requires a known `kid`, the issuer, the audience (customers and operators have different ones),
  the expiry and the session id. A session
  (a refresh-token family) that was logged out or caught replaying is marked revoked in Redis for as
  long as an access token can live, so its access tokens die with it.
- Refresh tokens are opaque random strings; only their SHA-256 is stored. Each refresh marks the
  presented token used and issues the next one in the same family; presenting a used or revoked
  token revokes the whole family.
- Logins are throttled in Redis with fixed windows: failed attempts per account, and attempts per
  client address.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Literal, TypeVar

import jwt
import redis.asyncio as aioredis
import redis.exceptions
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from fastapi import Request
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.problems import ServiceUnavailable, TooManyRequests, Unauthorized
from lendflow.settings import AuthSettings
from storage.models import RefreshToken

T = TypeVar("T")
Role = Literal["customer", "ops"]
SubjectKind = Literal["customer", "operator"]

# --- Passwords -----------------------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown account) it still spends the same time."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


# --- Access tokens -------------------------------------------------------------------------------


class InvalidToken(Unauthorized):
    code, title = "invalid-token", "The access token is missing, invalid or expired"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    session_id: uuid.UUID
    role: Role
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedAccess:
    token: str
    expires_in: int


class InvalidSigningKeys(ValueError):
    """The configured signing keys cannot be used (names the key id, never the key)."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)
    public_key: Ed25519PublicKey = field(repr=False)

    def public_bytes(self) -> bytes:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def public_jwk(self, algorithm: str) -> dict[str, str]:
        """The public half as a JWK (RFC 8037: kty OKP, crv Ed25519, x); no private member."""
        jwk = OKPAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "kid": self.kid, "use": "sig", "alg": algorithm}


def _load_signing_key(kid: str, pem: str) -> SigningKey:
    if "\n" not in pem and "\\n" in pem:  # a PEM squeezed onto one line of an env file
        pem = pem.replace("\\n", "\n")
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise InvalidSigningKeys(f"auth.signing_keys[{kid!r}] is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidSigningKeys(f"auth.signing_keys[{kid!r}] is not an Ed25519 key")
    return SigningKey(kid=kid, private_key=key, public_key=key.public_key())


class KeyRing:
    """The access-token keys of one configuration: the active one signs, every one verifies."""

    def __init__(self, keys: dict[str, SigningKey], active: str, algorithm: str) -> None:
        if active not in keys:
            raise InvalidSigningKeys(f"auth.active_signing_key {active!r} is not among auth.signing_keys")
        self.keys = keys
        self.active = keys[active]
        self.algorithm = algorithm

    def verifying_key(self, kid: object) -> Ed25519PublicKey | None:
        key = self.keys.get(kid) if isinstance(kid, str) else None
        return key.public_key if key else None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set: the active key first, then the others still accepted."""
        ordered = [self.active, *(k for kid, k in sorted(self.keys.items()) if kid != self.active.kid)]
        return {"keys": [key.public_jwk(self.algorithm) for key in ordered]}


@lru_cache(maxsize=16)
def _key_ring(keys: tuple[tuple[str, str], ...], active: str, algorithm: str) -> KeyRing:
    return KeyRing({kid: _load_signing_key(kid, pem) for kid, pem in keys}, active, algorithm)


def key_ring(auth: AuthSettings) -> KeyRing:
    """The parsed keys of ``auth`` (parsed once per distinct configuration)."""
    pems = tuple(sorted((kid, key.get_secret_value()) for kid, key in auth.signing_keys.items()))
    return _key_ring(pems, auth.active_signing_key, auth.algorithm)


class AccessTokens:
    """Issues and verifies the access JWTs of one audience (customers or operators)."""

    def __init__(self, auth: AuthSettings, *, audience: str, ttl_seconds: int) -> None:
        self._auth = auth
        self._keys = key_ring(auth)
        self._audience = audience
        self._ttl = ttl_seconds

    def issue(self, subject: uuid.UUID, session_id: uuid.UUID, role: Role) -> IssuedAccess:
        now = int(time.time())
        claims = {
            "iss": self._auth.issuer,
            "aud": self._audience,
            "sub": str(subject),
            "sid": str(session_id),
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        signer = self._keys.active
        token = jwt.encode(claims, signer.private_key, algorithm=self._keys.algorithm, headers={"kid": signer.kid})
        return IssuedAccess(token=token, expires_in=self._ttl)

    def verify(self, token: str, *, role: Role) -> AccessClaims:
        try:
            # Only the key is chosen by the header; the algorithm stays pinned, whatever it says.
            key = self._keys.verifying_key(jwt.get_unverified_header(token).get("kid"))
            if key is None:
                raise InvalidToken()
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._keys.algorithm],
                audience=self._audience,
                issuer=self._auth.issuer,
                leeway=5,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "sid", "jti", "role"]},
            )
            subject = uuid.UUID(str(claims["sub"]))
            session_id = uuid.UUID(str(claims["sid"]))
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken() from exc
        if claims["role"] != role:
            raise InvalidToken()
        return AccessClaims(
            subject=subject,
            session_id=session_id,
            role=role,
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )


def customer_tokens(auth: AuthSettings) -> AccessTokens:
    return AccessTokens(auth, audience=auth.audience, ttl_seconds=auth.access_ttl_seconds)


def operator_tokens(auth: AuthSettings) -> AccessTokens:
    return AccessTokens(auth, audience=auth.ops_audience, ttl_seconds=auth.ops_access_ttl_seconds)


def codec_tokens(auth: AuthSettings) -> AccessTokens:
    """The codec session's: of an audience only `/codec` accepts, so the long life opens nothing else."""
    return AccessTokens(auth, audience=auth.codec_audience, ttl_seconds=auth.ops_session_max_seconds)


# --- Sessions: refresh-token families ------------------------------------------------------------


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid-refresh-token", "The refresh token is invalid, expired or revoked"


class RefreshTokenReused(Unauthorized):
    code, title = "refresh-token-reused", "The refresh token was already used; the session is revoked"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuedRefresh:
    token: str
    family_id: uuid.UUID
    subject_id: uuid.UUID
    expires_at: datetime


class SessionStore:
    """Refresh-token families in PostgreSQL, and revoked-session marks in Redis."""

    def __init__(self, auth: AuthSettings, redis: aioredis.Redis) -> None:
        self._auth = auth
        self._redis = redis

    def _revoked_key(self, family_id: uuid.UUID) -> str:
        return f"{self._auth.redis_key_prefix}:revoked-session:{family_id}"

    async def start(self, session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> IssuedRefresh:
        """A new family with its first refresh token (the caller commits)."""
        ttl = self._auth.ops_session_max_seconds if kind == "operator" else self._auth.refresh_ttl_seconds
        return self._add(session, kind, subject_id, uuid.uuid4(), _now() + timedelta(seconds=ttl))

    def _add(
        self,
        session: AsyncSession,
        kind: SubjectKind,
        subject_id: uuid.UUID,
        family_id: uuid.UUID,
        expires_at: datetime,
    ) -> IssuedRefresh:
        token = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                family_id=family_id,
                subject_kind=kind,
                subject_id=subject_id,
                token_hash=_digest(token),
                expires_at=expires_at,
            )
        )
        return IssuedRefresh(token=token, family_id=family_id, subject_id=subject_id, expires_at=expires_at)

    async def rotate(self, session: AsyncSession, presented: str, kind: SubjectKind) -> IssuedRefresh:
        """Use ``presented`` once and return its successor; a replay revokes the family.

        Runs in the caller's transaction and commits it itself, so that a revocation sticks even
        though the request then fails.
        """
        row = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == _digest(presented)).with_for_update()
        )
        if row is None or row.subject_kind != kind:
            raise InvalidRefreshToken()
        if row.used_at is not None or row.revoked_at is not None:
            await self._revoke_family(session, row.family_id)
            await session.commit()
            await self.mark_revoked(row.family_id)
            raise RefreshTokenReused()
        if row.expires_at <= _now():
            raise InvalidRefreshToken()
        row.used_at = _now()
        # A customer's session slides forward; an operator's ends when its family's first token did.
        expires_at = (
            row.expires_at if kind == "operator" else _now() + timedelta(seconds=self._auth.refresh_ttl_seconds)
        )
        issued = self._add(session, kind, row.subject_id, row.family_id, expires_at)
        await session.commit()
        return issued

    async def revoke(self, session: AsyncSession, family_id: uuid.UUID) -> None:
        await self._revoke_family(session, family_id)
        await session.commit()
        await self.mark_revoked(family_id)

    async def _revoke_family(self, session: AsyncSession, family_id: uuid.UUID) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=_now())
        )

    async def mark_revoked(self, family_id: uuid.UUID) -> None:
        # Access tokens of the family live at most this long; after that the mark is not needed.
        ttl = (
            max(self._auth.access_ttl_seconds, self._auth.ops_access_ttl_seconds, self._auth.ops_session_max_seconds)
            + 60
        )
        await self._redis.set(self._revoked_key(family_id), b"1", ex=ttl)

    async def is_revoked(self, family_id: uuid.UUID) -> bool:
        return bool(await self._redis.exists(self._revoked_key(family_id)))


# --- Login throttling ----------------------------------------------------------------------------


class LoginThrottled(TooManyRequests):
    code, title = "login-throttled", "Too many login attempts; try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} seconds")
        self.headers = {"Retry-After": str(max(1, retry_after))}


@dataclass(frozen=True)
class _Slowdown:
    """One throttling key's rule: failures it forgives, and the cap of its doubling delay."""

    kind: str
    free_failures: int
    max_delay: float


class LoginThrottle:
    """Growing delays after failed log-ins, per account and address, per account, per address.

    Successful log-ins never count, and nothing locks: an attacker who knows an e-mail slows down
    their own address, and the account's owner elsewhere waits at most the account-wide cap.
    """

    def __init__(self, auth: AuthSettings, redis: aioredis.Redis, *, scope: SubjectKind) -> None:
        self._auth = auth
        self._redis = redis
        self._scope = scope

    def _key(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]  # no address or e-mail in Redis keys
        return f"{self._auth.redis_key_prefix}:login:{self._scope}:{kind}:{digest}"

    def _keys(self, address: str, account: str) -> list[tuple[str, _Slowdown]]:
        auth = self._auth
        rules = [
            (f"{account}\x00{address}", _Slowdown("pair", auth.login_free_failures, auth.login_delay_max_seconds)),
            (account, _Slowdown("account", auth.login_account_free_failures, auth.login_account_delay_max_seconds)),
            (address, _Slowdown("address", auth.login_address_free_failures, auth.login_address_delay_max_seconds)),
        ]
        return [(self._key(rule.kind, value), rule) for value, rule in rules]

    def delay(self, failures: int, rule: _Slowdown) -> float:
        """Seconds an attempt must wait after the last of ``failures`` failed ones."""
        if failures < rule.free_failures:
            return 0.0
        return min(rule.max_delay, self._auth.login_delay_base_seconds * 2 ** (failures - rule.free_failures))

    async def attempt(self, address: str, account: str) -> None:
        """Refuse an attempt that comes before the delay its keys' failures impose has passed."""
        keys = self._keys(address, account)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, _ in keys:
                pipe.hmget(key, "failures", "last")
            answers = await pipe.execute()
        now = time.time()
        wait = 0.0
        for (_, rule), (failures, last) in zip(keys, answers, strict=True):
            if failures is not None and last is not None:
                wait = max(wait, float(last) + self.delay(int(failures), rule) - now)
        if wait > 0:
            raise LoginThrottled(math.ceil(wait))

    async def failed(self, address: str, account: str) -> None:
        memory = self._auth.login_failure_memory_seconds
        async with self._redis.pipeline(transaction=True) as pipe:
            for key, _ in self._keys(address, account):
                pipe.hincrby(key, "failures", 1)
                pipe.hset(key, "last", repr(time.time()))
                pipe.expire(key, memory)
            await pipe.execute()

    async def succeeded(self, address: str, account: str) -> None:
        """The owner got in from here: their own earlier typos stop slowing them down."""
        await self._redis.delete(self._keys(address, account)[0][0])


def check_auth_settings(auth: AuthSettings, environment: str) -> None:
    """Refuse to start with signing keys that do not load, and production with the development key."""
    try:
        ring = key_ring(auth)
    except InvalidSigningKeys as exc:
        raise RuntimeError(f"LENDFLOW_AUTH__SIGNING_KEYS: {exc}") from None
    development = {key.public_bytes() for key in key_ring(AuthSettings()).keys.values()}
    if environment == "production" and any(key.public_bytes() in development for key in ring.keys.values()):
        raise RuntimeError(
            "LENDFLOW_AUTH__SIGNING_KEYS must hold this deployment's own Ed25519 keys (PEM, by key id)"
            " and LENDFLOW_AUTH__ACTIVE_SIGNING_KEY name one; the development key is refused in production"
        )


def client_address(request: Request, trusted_proxies: Sequence[IPv4Network | IPv6Network] = ()) -> str:
    """The caller's address: the peer's, or, when the peer is a trusted proxy, the nearest address
    in X-Forwarded-For that is not one of ours (the entries left of it are the caller's to forge)."""
    peer = request.client.host if request.client else "unknown"

    def trusted(address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted_proxies)

    if not trusted(peer):
        return peer
    forwarded = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed(forwarded):
        if not trusted(hop):
            try:
                return str(ip_address(hop))
            except ValueError:
                return peer  # a malformed hop: not an address to key anything by
    return peer


async def redis_call(call: Awaitable[T]) -> T:
    """Await a session-store call; Redis down answers 503 rather than letting anyone through."""
    try:
        return await call
    except redis.exceptions.RedisError as exc:
        raise ServiceUnavailable("the session store is not reachable") from exc
