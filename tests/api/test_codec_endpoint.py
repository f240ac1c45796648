"""The codec endpoint shows encrypted Temporal payloads decoded to operations staff, and to nobody else."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import httpx

from lendflow.temporal import data_converter
from stack_support import register_and_login
from test_ops import ops_login
from workflows.onboarding import OnboardingInput


async def _encrypted_input() -> dict[str, Any]:
    payloads = await data_converter().encode(
        [OnboardingInput(customer_id="c-1", declared_name="Maria Sigilosa", declared_birth_date=date(1988, 3, 4))]
    )
    return {
        "payloads": [
            {"metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()}, "data": base64.b64encode(p.data).decode()}
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
    plain = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": base64.b64encode(b'"x"').decode()}]}
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
