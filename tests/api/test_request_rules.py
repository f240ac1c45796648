"""What holds for every route: body limits, request ids, problem+json errors, the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from api.main import create_app
from lendflow.settings import Settings

PROBLEM = "application/problem+json"


async def test_a_body_over_the_limit_answers_413_problem_before_it_is_read(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    big = b'{"email": "' + b"a" * api_settings.api.max_body_bytes + b'", "password": "x"}'

    declared = await api.post("/v1/auth/token", content=big, headers={"Content-Type": "application/json"})

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = await api.post("/v1/auth/token", content=chunks(), headers={"Content-Type": "application/json"})

    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["X-Request-ID"]
        assert response.json()["status"] == 413


async def test_the_request_id_comes_back_in_the_header_and_in_problems(api: httpx.AsyncClient) -> None:
    mine = await api.get("/v1/me", headers={"X-Request-ID": "trace-abc-123"})
    made = await api.get("/v1/me")

    assert mine.headers["X-Request-ID"] == "trace-abc-123"
    assert mine.json()["request_id"] == "trace-abc-123"
    assert made.headers["X-Request-ID"] and made.json()["request_id"] == made.headers["X-Request-ID"]


async def test_errors_are_problems_even_for_unknown_routes_and_methods(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/nothing-here")
    method = await api.delete("/v1/loans")
    malformed = await api.post("/v1/auth/token", content=b"{not json", headers={"Content-Type": "application/json"})

    assert (missing.status_code, method.status_code, malformed.status_code) == (404, 405, 422)
    assert all(r.headers["content-type"] == PROBLEM for r in (missing, method, malformed))


def test_the_openapi_document_describes_every_operation_its_errors_and_its_security() -> None:
    document = create_app(Settings(environment="test")).openapi()

    operations = [
        (path, method, operation) for path, item in document["paths"].items() for method, operation in item.items()
    ]
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), where
            if int(status) >= 400 and not path.startswith("/health"):
                assert list(response["content"]) == [PROBLEM], (where, status)
                assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if path.startswith(("/v1/me", "/v1/loans/", "/v1/documents", "/v1/ops/applications", "/v1/ops/dead-letters")):
            assert operation.get("security"), where
            assert "401" in operation["responses"], where
        takes_input = operation.get("requestBody") or any(p["in"] == "path" for p in operation.get("parameters", []))
        if takes_input and not path.startswith("/health"):
            assert "422" in operation["responses"] or path.startswith("/v1/webhooks"), where
    schemes = document["components"]["securitySchemes"]
    assert {"CustomerToken", "OperatorToken"} <= set(schemes)
    assert "HTTPValidationError" not in document["components"]["schemas"]
