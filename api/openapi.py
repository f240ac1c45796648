"""The OpenAPI document: errors described as problem+json, and the request id on every operation.

Routes declare their error statuses with :func:`problems`; :func:`install_openapi` then makes every
error response of the document point at the one ``Problem`` schema under ``application/problem+json``
(FastAPI's own 422 included), and adds the ``X-Request-ID`` header to every operation and response.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import PROBLEM_MEDIA_TYPE, Problem

REQUEST_ID_HEADER = "X-Request-ID"

# The API's changes that break clients, newest first; it ends the description of the OpenAPI document.
API_CHANGELOG = """
## Changelog

- **2026-12-02 — the simulation's request rate in percent (breaking).** `POST /v1/loan-simulations`
  takes `monthly_rate_percent` (`"1.99"` for 1,99 % a month, up to two decimals, from `"0.00"` to the
  lender's cap) instead of `monthly_rate` as a fraction (`"0.0199"`): requests and answers now speak
  one unit. A body that still sends `monthly_rate` answers 422 naming it; a rate above the cap
  answers 422 naming `monthly_rate_percent`, with the cap in percent.
- **2026-12-02 — the postal address at sign-up (breaking).** `POST /v1/auth/register` requires
  `address` (`postal_code` as `"01310-100"` or `"01310100"`, `street`, `number`, optional
  `complement`, `district`, `city`, `state` as one of the 27 UFs); a missing or bad field answers
  422 naming it (`address.postal_code`). The contract (CCB) names the borrower with it.
  `GET /v1/me` shows it as `address` (null for customers registered before, who add it with the new
  `PUT /v1/me/address`; until they do, the contract step waits and is not issued).
- **2026-12 — rates in percent (breaking).** Every rate the API answers with is a percentage with two
  decimals, rounded half-even as the CET is disclosed (Resolução CMN 4.881/2020): `"1.99"` is 1,99 % a
  month. `OfferView.monthly_rate`, `OfferView.cet_monthly`, `OfferView.cet_annual` and
  `LoanApplicationView.monthly_rate` were fractions with every digit (`"0.318787367204731163436246082137006"`);
  they are now `"31.88"`, as `POST /v1/loan-simulations` and the signed contract (CCB) already show them.
  (The simulation's request field followed on 2026-12-02, above.)
"""

_DESCRIPTIONS = {
    400: "The request cannot be read",
    401: "Missing, invalid or expired credentials",
    403: "The caller may not do this",
    404: "No such resource (or not the caller's)",
    409: "The resource is not in a state that allows this",
    413: "The request body is too large",
    415: "The content type is not accepted",
    422: "The request is not valid; `errors` names each bad field",
    429: "Too many attempts; `Retry-After` says when to try again",
    503: "A dependency (Temporal, Kafka, Redis, a provider) is not available; retry later",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "The bearer scheme and the error", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries of a route for the error statuses it may answer."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, "Error"),
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in statuses
    }


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_FASTAPI_VALIDATION_REFS = {"#/components/schemas/HTTPValidationError", "#/components/schemas/Problem"}


def _as_problem(response: dict[str, Any]) -> None:
    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}


def _refines(document: dict[str, Any]) -> dict[str, Any]:
    request_id_parameter = {
        "name": REQUEST_ID_HEADER,
        "in": "header",
        "required": False,
        "description": "Your id for this request (printable, up to 128 characters); one is made when absent.",
        # Any value is taken: one that is not printable or longer than 128 characters is replaced.
        "schema": {"type": "string"},
    }
    request_id_header = {
        "description": "The request id: yours, or the one the API made",
        "schema": {"type": "string"},
    }
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == REQUEST_ID_HEADER for p in parameters):
                parameters.append(request_id_parameter)
            if "requestBody" in operation and "400" not in operation["responses"]:
                # A body that is not even text (invalid UTF-8) cannot be parsed at all.
                operation["responses"]["400"] = {
                    "description": _DESCRIPTIONS[400],
                    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
                }
            for status, response in operation["responses"].items():
                code = int(status) if str(status).isdigit() else 0
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if code >= 400 and schema.get("$ref") in _FASTAPI_VALIDATION_REFS:
                    _as_problem(response)
                    if code == 422:
                        response["description"] = _DESCRIPTIONS[422]
                response.setdefault("headers", {})[REQUEST_ID_HEADER] = request_id_header
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return _renamed(document)


# FastAPI names multipart bodies after the operation; generated clients read better with a noun.
_RENAMES = {"Body_submit_document": "DocumentUpload"}


def _renamed(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.get("components", {}).get("schemas", {})
    text = json.dumps(document)
    for old, new in _RENAMES.items():
        if old in schemas:
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed = json.loads(text)
    renamed_schemas = renamed.get("components", {}).get("schemas", {})
    for old, new in _RENAMES.items():
        if old in renamed_schemas:
            renamed_schemas[new] = {**renamed_schemas.pop(old), "title": new}
    return renamed


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=f"{app.description}\n{API_CHANGELOG}",
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = _refines(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
