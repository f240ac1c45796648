"""Log-in throttling slows down failures and never locks out the innocent.

Against the real app (its Redis and PostgreSQL) over ASGI. Callers at different addresses come in
through a trusted proxy's X-Forwarded-For, the way the gateway forwards them.
"""

from __future__ import annotations

import asyncio
import uuid
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from stack_support import PASSWORD, register_and_login, serve_over_asgi

from lendflow.settings import Settings

PROBLEM = "application/problem+json"
GATEWAY = "127.0.0.1"  # the ASGI transport's peer address: stands for the gateway here


def _settings(api_settings: Settings, *, trust_gateway: bool = True, **auth: Any) -> Settings:
    return api_settings.model_copy(
        update={
            "auth": api_settings.auth.model_copy(
                update={"redis_key_prefix": f"test:throttle:{uuid.uuid4().hex[:10]}", **auth}
            ),
            "api": api_settings.api.model_copy(
                update={"trusted_proxies": [ip_network(GATEWAY)] if trust_gateway else []}
            ),
        }
    )


async def _login(api: httpx.AsyncClient, email: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return await api.post("/v1/auth/token", json={"email": email, "password": password}, headers=headers)


async def test_successful_logins_from_one_address_are_never_throttled(api_settings: Settings) -> None:
    settings = _settings(api_settings, login_address_free_failures=1, login_free_failures=1)
    async with serve_over_asgi(settings) as api:
        accounts = [await register_and_login(api) for _ in range(4)]
        again = [await _login(api, a.email, PASSWORD) for a in accounts for _ in range(2)]

    assert [r.status_code for r in again] == [200] * 8


async def test_an_attacker_who_knows_the_e_mail_slows_only_their_own_address(api_settings: Settings) -> None:
    settings = _settings(api_settings, login_free_failures=2, login_account_free_failures=50)
    async with serve_over_asgi(settings) as api:
        owner = await register_and_login(api)
        guesses = [await _login(api, owner.email, f"guess-{i}", "203.0.113.9") for i in range(2)]
        attacker_again = await _login(api, owner.email, "guess-3", "203.0.113.9")
        owner_from_home = await _login(api, owner.email, PASSWORD, "198.51.100.20")

    assert [g.status_code for g in guesses] == [401, 401]
    assert attacker_again.status_code == 429 and attacker_again.headers["content-type"] == PROBLEM
    assert attacker_again.json()["type"].endswith("/login-throttled")
    assert owner_from_home.status_code == 200  # not locked out: a different address, no delay


async def test_each_further_failure_doubles_the_delay_and_the_right_password_then_gets_in(
    api_settings: Settings,
) -> None:
    settings = _settings(api_settings, login_free_failures=2, login_delay_base_seconds=1.0)
    async with serve_over_asgi(settings) as api:
        account = await register_and_login(api)
        typos = [await _login(api, account.email, f"typo-{i}") for i in range(2)]
        first_wait = await _login(api, account.email, PASSWORD)
        await asyncio.sleep(float(first_wait.headers["Retry-After"]) + 0.1)
        third_typo = await _login(api, account.email, "typo-3")
        second_wait = await _login(api, account.email, PASSWORD)
        await asyncio.sleep(float(second_wait.headers["Retry-After"]) + 0.1)
        in_at_last = await _login(api, account.email, PASSWORD)
        # The success forgave this address its typos: the next log-in does not wait.
        right_after = await _login(api, account.email, PASSWORD)

    assert [t.status_code for t in typos] == [401, 401]
    assert first_wait.status_code == 429 and int(first_wait.headers["Retry-After"]) == 1
    assert third_typo.status_code == 401
    assert second_wait.status_code == 429 and int(second_wait.headers["Retry-After"]) == 2
    assert in_at_last.status_code == 200 and right_after.status_code == 200


async def test_a_guess_spread_over_many_addresses_slows_the_account_for_at_most_its_cap(
    api_settings: Settings,
) -> None:
    settings = _settings(
        api_settings, login_free_failures=50, login_account_free_failures=3, login_account_delay_max_seconds=5
    )
    async with serve_over_asgi(settings) as api:
        owner = await register_and_login(api)
        spread = [await _login(api, owner.email, f"guess-{i}", f"192.0.2.{i + 1}") for i in range(5)]
        owner_waits = await _login(api, owner.email, PASSWORD, "198.51.100.20")

    # Three failures are free; the fourth comes within the first delay, and so on.
    assert [r.status_code for r in spread][:3] == [401, 401, 401]
    assert spread[3].status_code == 429
    assert owner_waits.status_code == 429
    assert 0 < int(owner_waits.headers["Retry-After"]) <= 5


async def test_many_accounts_guessed_from_one_address_slow_that_address(api_settings: Settings) -> None:
    settings = _settings(api_settings, login_address_free_failures=4)
    async with serve_over_asgi(settings) as api:
        answers = [
            await _login(api, f"n{i}-{uuid.uuid4().hex[:6]}@example.com", "whatever", "203.0.113.50") for i in range(5)
        ]
        elsewhere = await _login(api, f"x-{uuid.uuid4().hex[:6]}@example.com", "whatever", "203.0.113.51")

    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert elsewhere.status_code == 401  # another address is not slowed by this one's failures


async def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(api_settings: Settings) -> None:
    # Without a trusted proxy, a caller cannot dodge its own delay by claiming other addresses.
    settings = _settings(api_settings, trust_gateway=False, login_free_failures=2)
    async with serve_over_asgi(settings) as api:
        account = await register_and_login(api)
        answers = [await _login(api, account.email, f"guess-{i}", f"203.0.113.{i + 1}") for i in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 429]


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the hop our proxy saw, not what the caller wrote
        ("203.0.113.7, 127.0.0.1", "203.0.113.7"),  # our own proxies are skipped
        ("not-an-address", GATEWAY),
    ],
)
def test_the_client_address_is_the_nearest_untrusted_hop(forwarded: str, expected: str) -> None:
    from starlette.requests import Request

    from api.security import client_address

    scope = {
        "type": "http",
        "client": (GATEWAY, 5000),
        "headers": [(b"x-forwarded-for", forwarded.encode())],
    }
    assert client_address(Request(scope), [ip_network("127.0.0.0/8")]) == expected
    assert client_address(Request(scope), []) == GATEWAY
