"""Registration, log-in, refresh-token rotation and reuse, log-out, throttling, token checks."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import PASSWORD, eventually, new_cpf, register_and_login, registration
from temporalio.client import Client, WorkflowExecutionStatus

from api.main import create_app
from api.security import key_ring
from lendflow.settings import Settings
from storage.models import Customer, RefreshToken
from workflows.contracts.onboarding import onboarding_workflow_id

PROBLEM = "application/problem+json"


async def test_registration_stores_the_customer_hashed_and_starts_onboarding(
    api: httpx.AsyncClient,
    api_settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    body = registration()

    response = await api.post("/v1/auth/register", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending_onboarding"
    assert response.headers["Location"] == "/v1/me"
    async with session_maker() as session:
        customer = await session.get(Customer, uuid.UUID(created["customer_id"]))
    assert customer is not None
    assert customer.status == "pending_onboarding"
    assert customer.cpf == "".join(c for c in body["cpf"] if c.isdigit())
    assert customer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in customer.password_hash
    description = await temporal_client.get_workflow_handle(onboarding_workflow_id(created["customer_id"])).describe()
    assert description.workflow_type == "OnboardingWorkflow"
    assert description.task_queue == api_settings.temporal.task_queue
    assert description.status == WorkflowExecutionStatus.RUNNING


@pytest.mark.parametrize(
    "change",
    [
        {"cpf": "123.456.789-00"},  # wrong check digits
        {"cpf": "111.111.111-11"},  # one repeated digit
        {"cpf": "1234"},
    ],
)
async def test_a_cpf_that_is_not_a_cpf_answers_422_naming_it(api: httpx.AsyncClient, change: dict[str, str]) -> None:
    response = await api.post("/v1/auth/register", json={**registration(), **change})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["cpf"]


async def test_registration_refuses_unknown_fields_minors_and_short_passwords(api: httpx.AsyncClient) -> None:
    unknown = await api.post("/v1/auth/register", json={**registration(), "is_admin": True})
    minor = await api.post("/v1/auth/register", json=registration(birth_date=f"{time.gmtime().tm_year - 10}-01-01"))
    short = await api.post("/v1/auth/register", json=registration(password="short"))
    number = await api.post("/v1/auth/register", json=registration(monthly_income=4500.0))

    assert [r.status_code for r in (unknown, minor, short, number)] == [422] * 4
    assert unknown.json()["errors"][0]["field"] == "is_admin"
    assert minor.json()["errors"][0]["field"] == "birth_date"
    assert short.json()["errors"][0]["field"] == "password"
    assert number.json()["errors"][0]["field"] == "monthly_income"


async def test_a_cpf_or_email_already_registered_answers_the_same_409(api: httpx.AsyncClient) -> None:
    first = registration()
    assert (await api.post("/v1/auth/register", json=first)).status_code == 201

    same_cpf = await api.post(
        "/v1/auth/register", json=registration(cpf=first["cpf"].replace(".", "").replace("-", ""))
    )
    same_email = await api.post("/v1/auth/register", json=registration(email=first["email"].upper()))

    assert same_cpf.status_code == same_email.status_code == 409
    assert same_cpf.headers["content-type"] == same_email.headers["content-type"] == PROBLEM

    def without_request(problem: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in problem.items() if k != "request_id"}

    assert without_request(same_cpf.json()) == without_request(same_email.json())
    text = same_cpf.text.lower() + same_email.text.lower()
    assert "cpf" not in text and "e-mail" not in text and "email" not in text


async def test_concurrent_registrations_of_one_cpf_make_one_customer(
    api: httpx.AsyncClient, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    cpf = new_cpf()
    bodies = [registration(cpf) for _ in range(5)]

    responses = await asyncio.gather(*(api.post("/v1/auth/register", json=b) for b in bodies))

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    async with session_maker() as session:
        rows = (await session.scalars(select(Customer).where(Customer.cpf == cpf))).all()
    assert len(rows) == 1


async def test_login_issues_a_15_minute_jwt_pinned_to_eddsa_with_kid_issuer_and_audience(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    account = await register_and_login(api)

    auth = api_settings.auth
    header = jwt.get_unverified_header(account.access_token)
    claims = jwt.decode(
        account.access_token,
        key_ring(auth).active.public_key,
        algorithms=["EdDSA"],
        audience=auth.audience,
        issuer=auth.issuer,
    )
    assert header["alg"] == "EdDSA"
    assert header["kid"] == auth.active_signing_key
    assert claims["sub"] == account.customer_id
    assert claims["exp"] - claims["iat"] == 900
    me = await api.get("/v1/me", headers=account.headers)
    assert me.status_code == 200
    assert me.json()["id"] == account.customer_id


async def test_wrong_password_and_unknown_email_answer_the_same_401(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)

    wrong = await api.post("/v1/auth/token", json={"email": account.email, "password": "not the password"})
    unknown = await api.post("/v1/auth/token", json={"email": "nobody@example.com", "password": PASSWORD})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["type"] == unknown.json()["type"]
    assert wrong.json()["title"] == unknown.json()["title"]


def _forge(
    claims_update: dict[str, object],
    settings: Settings,
    account_sub: str,
    *,
    key: object = None,
    algorithm: str = "EdDSA",
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": account_sub,
        "sid": str(uuid.uuid4()),
        "role": "customer",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(claims_update)
    signer = key_ring(settings.auth).active
    return jwt.encode(claims, key or signer.private_key, algorithm=algorithm, headers={"kid": signer.kid})


async def test_tokens_with_another_issuer_audience_key_algorithm_or_past_expiry_are_refused(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    account = await register_and_login(api)
    sub = account.customer_id
    unsigned = jwt.encode(
        {"sub": sub, "aud": api_settings.auth.audience, "iss": api_settings.auth.issuer}, None, algorithm="none"
    )
    forged = [
        _forge({"iss": "https://evil.example"}, api_settings, sub),
        _forge({"aud": api_settings.auth.ops_audience}, api_settings, sub),
        _forge({"exp": int(time.time()) - 120}, api_settings, sub),
        _forge({}, api_settings, sub, key=Ed25519PrivateKey.generate()),  # another key under the same kid
        _forge({}, api_settings, sub, key="another-secret-of-enough-length-000000000" * 2, algorithm="HS512"),
        _forge({"role": "ops"}, api_settings, sub),
        unsigned,
        "not-a-jwt",
    ]

    answers = [await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"}) for token in forged]
    missing = await api.get("/v1/me")

    assert [a.status_code for a in answers] == [401] * len(forged)
    assert missing.status_code == 401
    assert all(a.headers["content-type"] == PROBLEM for a in answers)
    assert answers[0].headers["WWW-Authenticate"].startswith("Bearer")
    # The same claims, properly signed, are accepted: the refusals above are about the token.
    assert (
        await api.get("/v1/me", headers={"Authorization": f"Bearer {_forge({}, api_settings, sub)}"})
    ).status_code == 200


async def test_refresh_rotates_the_refresh_token(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)

    rotated = await api.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})

    assert rotated.status_code == 200, rotated.text
    pair = rotated.json()
    assert pair["refresh_token"] != account.refresh_token
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
    again = await api.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200


async def test_reusing_a_refresh_token_revokes_the_whole_family(
    api: httpx.AsyncClient, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    account = await register_and_login(api)
    first = (await api.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})).json()
    second = (await api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    replay = await api.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})

    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/refresh-token-reused")
    # The newest refresh token of the family, never used, is dead too; so are its access tokens.
    latest = await api.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert latest.status_code == 401
    for access in (account.access_token, first["access_token"], second["access_token"]):
        assert (await api.get("/v1/me", headers={"Authorization": f"Bearer {access}"})).status_code == 401
    async with session_maker() as session:
        family = (
            await session.scalars(select(RefreshToken).where(RefreshToken.subject_id == uuid.UUID(account.customer_id)))
        ).all()
    assert len(family) == 3 and all(token.revoked_at is not None for token in family)
    # Another session of the same customer is untouched.
    fresh = await api.post("/v1/auth/token", json={"email": account.email, "password": PASSWORD})
    assert fresh.status_code == 200
    assert (
        await api.get("/v1/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    ).status_code == 200


async def test_an_unknown_refresh_token_answers_401(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/auth/refresh", json={"refresh_token": "bm90LWEtdG9rZW4"})

    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-refresh-token")


async def test_logout_ends_the_session_for_access_and_refresh_tokens(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)

    out = await api.post("/v1/auth/logout", headers=account.headers)

    assert out.status_code == 204
    assert (await api.get("/v1/me", headers=account.headers)).status_code == 401
    assert (await api.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})).status_code == 401
    assert (await api.post("/v1/auth/logout")).status_code == 401


async def test_me_shows_the_profile_with_a_masked_cpf_and_the_onboarding_step(
    api: httpx.AsyncClient, worker: object
) -> None:
    account = await register_and_login(api)

    async def profile() -> dict[str, object]:
        return (await api.get("/v1/me", headers=account.headers)).json()

    body = await eventually(profile, lambda p: (p.get("onboarding") or {}).get("step") == "documents")
    assert body["cpf"] == f"***.{account.cpf[3:6]}.{account.cpf[6:9]}-**"
    assert account.cpf not in str(body)
    assert body["onboarding"]["missing_documents"] == ["id_front", "id_back", "selfie"]
    assert "password" not in str(body).lower()


def test_production_refuses_the_development_signing_key() -> None:
    app = create_app(Settings(environment="production"))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(RuntimeError, match="SIGNING_KEYS"):
        asyncio.run(start())
