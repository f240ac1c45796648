"""The codec endpoint shows encrypted Temporal payloads decoded to operations staff, and to nobody else."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import httpx
from stack_support import PASSWORD, register_and_login, serve_over_asgi
from test_ops import ops_login

from lendflow.settings import Settings
from lendflow.temporal import data_converter
from workflows.contracts.onboarding import OnboardingInput


async def _encrypted_input() -> dict[str, Any]:
    payloads = await data_converter().encode(
        [OnboardingInput(customer_id="c-1", declared_name="Maria Sigilosa", declared_birth_date=date(1988, 3, 4))]
    )
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


async def test_an_operator_sees_the_payload_decoded(api: httpx.AsyncClient, new_operator: Any) -> None:
    body = await _encrypted_input()
    assert b"Maria" not in base64.b64decode(body["payloads"][0]["data"])
    ops = await ops_login(api, await new_operator())

    response = await api.post("/codec/decode", json=body, headers={**ops, "X-Namespace": "default"})

    assert response.status_code == 200, response.text
    decoded = response.json()["payloads"][0]
    assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(decoded["data"]))["declared_name"] == "Maria Sigilosa"


async def test_nobody_but_an_operator_can_decode(api: httpx.AsyncClient) -> None:
    body = await _encrypted_input()
    customer = await register_and_login(api)

    anonymous = await api.post("/codec/decode", json=body)
    as_customer = await api.post("/codec/decode", json=body, headers=customer.headers)

    assert anonymous.status_code == 401
    assert as_customer.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_encode_then_decode_round_trips_for_an_operator(api: httpx.AsyncClient, new_operator: Any) -> None:
    ops = await ops_login(api, await new_operator())
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"x"').decode(),
            }
        ]
    }
    sealed = await api.post("/codec/encode", json=plain, headers=ops)
    assert sealed.status_code == 200
    assert base64.b64decode(sealed.json()["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"
    opened = await api.post("/codec/decode", json=sealed.json(), headers=ops)
    assert opened.json() == plain


async def test_garbage_is_a_clear_422(api: httpx.AsyncClient, new_operator: Any) -> None:
    ops = await ops_login(api, await new_operator())
    response = await api.post("/codec/decode", json={"payloads": [{"metadata": {}, "data": "%%%"}]}, headers=ops)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


# --- The operator's browser session (the Temporal UI sends it as a cookie) --------------------------


async def _codec_session(api: httpx.AsyncClient, username: str) -> httpx.Response:
    response = await api.post("/codec/session", json={"username": username, "password": PASSWORD})
    api.cookies.clear()  # each request below says which cookie it carries
    return response


def _cookie(response: httpx.Response) -> str:
    return response.headers["set-cookie"].split(";", 1)[0]


async def test_a_codec_session_cookie_lets_the_browser_decode(api: httpx.AsyncClient, new_operator: Any) -> None:
    username = await new_operator()
    session = await _codec_session(api, username)

    assert session.status_code == 200, session.text
    assert session.json()["operator"] == username
    assert session.headers["cache-control"] == "no-store"
    attributes = [a.strip().lower() for a in session.headers["set-cookie"].split(";")]
    assert attributes[0].startswith("lendflow_ops_codec=")
    # It lasts the operator's shift (the UI cannot refresh it), not an access token's 15 minutes.
    assert {"httponly", "path=/codec", "samesite=strict", "max-age=43200"} <= set(attributes)
    assert session.json()["expires_in"] == 43200
    assert "secure" not in attributes  # plain HTTP here; see the HTTPS test below

    decoded = await api.post("/codec/decode", json=await _encrypted_input(), headers={"Cookie": _cookie(session)})
    assert decoded.status_code == 200, decoded.text
    assert json.loads(base64.b64decode(decoded.json()["payloads"][0]["data"]))["declared_name"] == "Maria Sigilosa"


async def test_the_codec_cookie_opens_no_other_route(api: httpx.AsyncClient, new_operator: Any) -> None:
    session = await _codec_session(api, await new_operator())

    response = await api.get("/v1/ops/applications", headers={"Cookie": _cookie(session)})
    # Nor does its token, copied out of the browser into a bearer header: its audience is the codec's.
    token = _cookie(session).split("=", 1)[1]
    as_bearer = await api.get("/v1/ops/applications", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == as_bearer.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_ending_the_codec_session_revokes_the_cookie(api: httpx.AsyncClient, new_operator: Any) -> None:
    session = await _codec_session(api, await new_operator())
    cookie = _cookie(session)

    ended = await api.delete("/codec/session", headers={"Cookie": cookie})
    api.cookies.clear()
    replayed = await api.post("/codec/decode", json=await _encrypted_input(), headers={"Cookie": cookie})

    assert ended.status_code == 204
    assert "max-age=0" in ended.headers["set-cookie"].lower()
    assert replayed.status_code == 401  # the browser dropped it; a copy kept elsewhere is dead too
    assert replayed.json()["detail"] == "the session was revoked"


async def test_there_is_no_session_to_end_without_one(api: httpx.AsyncClient) -> None:
    response = await api.delete("/codec/session")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_password_sets_no_cookie(api: httpx.AsyncClient, new_operator: Any) -> None:
    response = await api.post("/codec/session", json={"username": await new_operator(), "password": "not it"})

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "set-cookie" not in response.headers


async def test_the_cookie_is_secure_over_https(api_settings: Settings, new_operator: Any) -> None:
    username = await new_operator()
    async with serve_over_asgi(api_settings) as plain:
        plain.base_url = httpx.URL("https://api")
        response = await plain.post("/codec/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert "secure" in [a.strip().lower() for a in response.headers["set-cookie"].split(";")]


async def test_only_the_temporal_ui_may_send_credentials(api: httpx.AsyncClient, api_settings: Settings) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}

    ui = await api.options("/codec/decode", headers={**preflight, "Origin": api_settings.temporal.ui_url})
    stranger = await api.options("/codec/decode", headers={**preflight, "Origin": "https://evil.example"})

    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == api_settings.temporal.ui_url
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers


async def test_the_log_in_page_leads_to_the_temporal_ui(api: httpx.AsyncClient, api_settings: Settings) -> None:
    page = await api.get("/codec/session")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert 'name="password"' in page.text
    assert f'href="{api_settings.temporal.ui_url}"' in page.text
