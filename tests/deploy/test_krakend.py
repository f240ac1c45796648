"""infra/krakend/krakend.json held against the BFF it fronts and against KrakenD's own schema.

The KrakenD binary cannot be had on these machines, so the gateway's configuration is checked two
ways: against the BFF's OpenAPI document (every customer-facing route routed with its method,
headers and query strings, nothing internal exposed, every backend the api service, tokens
validated with the BFF's own JWKS, issuer and audience, body caps equal to the BFF's and their Lua
check run in a real Lua 5.1), and against
KrakenD's published JSON schema for v2.13, which is not ours to ship: it lies beside the checkout
(`../shared/krakend-schema/`) in CI, and where it does not, that check says so and is skipped.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import httpx
import jsonschema
import jwt
import lupa.lua51
import pytest
import referencing
import referencing.exceptions

from api.limits import limit_for_path
from api.main import create_app
from api.security import codec_tokens, customer_tokens, operator_tokens
from lendflow import REPO_ROOT
from lendflow.settings import Settings

KRAKEND_FILE = REPO_ROOT / "infra" / "krakend" / "krakend.json"
SCHEMA_FILE = REPO_ROOT.parent / "shared" / "krakend-schema" / "v2.13" / "krakend.json"
# The api's Service in the Helm chart (infra/krakend/README.md): the gateway's only backend.
API_SERVICE = "http://lendflow-api:8000"
# Served by the BFF but never through the gateway: operations, the Temporal UI's codec, probes,
# metrics and the JWKS (the gateway reads it from the api service directly).
INTERNAL_PREFIXES = ("/v1/ops/", "/codec/", "/health/", "/metrics", "/.well-known/")
# The mobile app's web build in development (expo start --web).
APP_DEV_ORIGIN = "http://127.0.0.1:8081"
SETTINGS = Settings(environment="test")
CONFIG: dict[str, Any] = json.loads(KRAKEND_FILE.read_text())
ENDPOINTS: list[dict[str, Any]] = CONFIG["endpoints"]


def _openapi() -> dict[str, Any]:
    return create_app(SETTINGS).openapi()


OPENAPI = _openapi()
OPERATIONS = {
    (method.upper(), path): operation for path, item in OPENAPI["paths"].items() for method, operation in item.items()
}
PUBLIC = {key: op for key, op in OPERATIONS.items() if not key[1].startswith(INTERNAL_PREFIXES)}


def _routed(endpoint: dict[str, Any]) -> tuple[str, str]:
    return endpoint.get("method", "GET"), endpoint["endpoint"]


def _secured(operation: dict[str, Any]) -> bool:
    return any("CustomerToken" in requirement for requirement in operation.get("security", []))


def _seconds(duration: str) -> float:
    number, unit = re.fullmatch(r"([0-9]+)(ms|s|m|h)", duration).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def _body_cap(endpoint: dict[str, Any]) -> int | None:
    lua = endpoint.get("extra_config", {}).get("modifier/lua-endpoint")
    if lua is None:
        return None
    caps = re.findall(r"if n > ([0-9]+) then custom_error\('[^']*', 413\)", lua["pre"])
    assert len(caps) == 1, lua["pre"]
    return int(caps[0])


# --- Against the BFF -----------------------------------------------------------------------------


def test_the_file_is_plain_json_that_krakend_reads_as_is() -> None:
    text = KRAKEND_FILE.read_text()
    assert "{{" not in text  # no flexible-config template: the chart mounts this file unchanged
    assert CONFIG["version"] == 3
    assert CONFIG["$schema"].endswith("/v2.13/krakend.json")


def test_every_customer_facing_route_is_routed_once_with_its_method() -> None:
    routed = [_routed(e) for e in ENDPOINTS]

    assert len(routed) == len(set(routed)), "a route is declared twice"
    assert set(routed) == set(PUBLIC)
    # The classification is not vacuous: the BFF really has internal routes that stay out.
    assert {path for _, path in OPERATIONS if path.startswith(("/v1/ops/", "/codec/", "/health/"))}


def test_no_ops_codec_health_or_metrics_route_is_exposed() -> None:
    for endpoint in ENDPOINTS:
        path = endpoint["endpoint"]
        assert not path.startswith(INTERNAL_PREFIXES), path
        assert "*" not in path, f"{path}: a wildcard could reach internal routes"
        for backend in endpoint["backend"]:
            assert not backend["url_pattern"].startswith(INTERNAL_PREFIXES), path


def test_each_route_forwards_exactly_the_headers_and_query_strings_it_needs() -> None:
    for endpoint in ENDPOINTS:
        key = _routed(endpoint)
        operation = PUBLIC[key]
        parameters = operation.get("parameters", [])
        needed = {p["name"].lower() for p in parameters if p["in"] == "header"}
        if _secured(operation):
            needed.add("authorization")
        if "requestBody" in operation:
            needed.add("content-type")
        forwarded = [h.lower() for h in endpoint.get("input_headers", [])]
        assert "*" not in forwarded, key
        assert set(forwarded) == needed, key
        queries = {p["name"] for p in parameters if p["in"] == "query"}
        assert set(endpoint.get("input_query_strings", [])) == queries, key


def test_the_idempotency_and_webhook_signature_headers_reach_the_api() -> None:
    by_route = {_routed(e): {h.lower() for h in e.get("input_headers", [])} for e in ENDPOINTS}

    assert "idempotency-key" in by_route[("POST", "/v1/loans")]
    assert {
        "lendflow-webhook-id",
        "lendflow-webhook-timestamp",
        "lendflow-webhook-signature",
        "content-type",
    } <= by_route[("POST", "/v1/webhooks/{provider}")]


def test_every_backend_is_the_api_service_on_the_same_path_and_method_passed_through() -> None:
    for endpoint in ENDPOINTS:
        method, path = _routed(endpoint)
        assert endpoint.get("output_encoding", CONFIG.get("output_encoding")) == "no-op", path
        assert len(endpoint["backend"]) == 1, path
        backend = endpoint["backend"][0]
        assert backend.get("host", CONFIG.get("host")) == [API_SERVICE], path
        assert backend["url_pattern"] == path
        assert backend.get("method", method) == method
        assert backend.get("encoding") == "no-op", path  # status codes and problem+json pass unchanged


def test_customer_routes_validate_tokens_at_the_edge_with_the_bffs_keys_issuer_and_audience() -> None:
    jwks_path = "/.well-known/jwks.json"
    assert ("GET", jwks_path) in OPERATIONS
    for endpoint in ENDPOINTS:
        key = _routed(endpoint)
        validator = endpoint.get("extra_config", {}).get("auth/validator")
        if not _secured(PUBLIC[key]):
            assert validator is None, f"{key} is public in the BFF"
            continue
        assert validator is not None, f"{key} needs a customer token"
        assert validator["alg"] == SETTINGS.auth.algorithm
        assert validator["jwk_url"] == API_SERVICE + jwks_path
        assert validator["issuer"] == SETTINGS.auth.issuer
        assert validator["audience"] == [SETTINGS.auth.audience]
        assert validator["cache"] is True
        assert validator["roles_key"] == "role" and validator["roles"] == ["customer"]


def _edge_accepts(validator: dict[str, Any], jwks: dict[str, Any], token: str) -> bool:
    """What KrakenD's validator checks: the kid is published, alg, signature, issuer, audience, role."""
    header = jwt.get_unverified_header(token)
    keys = {k["kid"]: k for k in jwks["keys"]}
    if header.get("kid") not in keys or header.get("alg") != validator["alg"]:
        return False
    try:
        claims = jwt.decode(
            token,
            jwt.PyJWK.from_dict(keys[header["kid"]]).key,
            algorithms=[validator["alg"]],
            issuer=validator["issuer"],
            audience=validator["audience"],
        )
    except jwt.PyJWTError:
        return False
    return claims.get(validator["roles_key"]) in validator["roles"]


async def test_the_bffs_customer_tokens_pass_the_edge_and_operator_tokens_do_not() -> None:
    validator = next(e for e in ENDPOINTS if _routed(e) == ("GET", "/v1/me"))["extra_config"]["auth/validator"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(SETTINGS)), base_url="http://api") as api:
        jwks = (await api.get("/.well-known/jwks.json")).json()
    subject, session = uuid.uuid4(), uuid.uuid4()

    customer = customer_tokens(SETTINGS.auth).issue(subject, session, "customer").token
    operator = operator_tokens(SETTINGS.auth).issue(subject, session, "ops").token
    codec = codec_tokens(SETTINGS.auth).issue(subject, session, "ops").token

    assert _edge_accepts(validator, jwks, customer)
    assert not _edge_accepts(validator, jwks, operator)
    assert not _edge_accepts(validator, jwks, codec)


def test_rates_are_limited_per_token_on_customer_routes_and_per_address_on_public_ones() -> None:
    for endpoint in ENDPOINTS:
        key = _routed(endpoint)
        limit = endpoint.get("extra_config", {}).get("qos/ratelimit/router")
        assert limit is not None, key
        assert limit["client_max_rate"] > 0 and limit["max_rate"] > 0, key
        if _secured(PUBLIC[key]):
            assert (limit["strategy"], limit["key"]) == ("header", "Authorization"), key
        else:
            assert limit["strategy"] == "ip", key


def test_body_caps_match_the_bffs_own_limits_on_every_route_that_takes_a_body() -> None:
    bff_limit = limit_for_path(SETTINGS)
    for endpoint in ENDPOINTS:
        method, path = _routed(endpoint)
        cap = _body_cap(endpoint)
        if method in {"POST", "PUT", "PATCH"}:
            assert cap == bff_limit(path), path
        else:
            assert cap is None, path
    assert (
        _body_cap(next(e for e in ENDPOINTS if _routed(e) == ("POST", "/v1/documents")))
        > SETTINGS.pipeline.document_max_bytes
    )


def _run_body_check(lua_config: dict[str, Any], content_length: str | None) -> int | None:
    """Run an endpoint's Lua pre-script in Lua 5.1 (KrakenD's dialect) with the router's `ctx` and
    `custom_error` stood in for; the status it refuses with, or None when it lets the request on."""
    runtime = lupa.lua51.LuaRuntime()
    stop = runtime.execute(
        """
        local refused = {}
        function custom_error(message, status) refused.status = status or 500; error('custom_error', 0) end
        return refused
        """
    )
    headers = {"Content-Length": content_length} if content_length is not None else {}
    request = runtime.table_from({"headers": lambda _self, name: headers.get(name, "")})
    runtime.globals().ctx = runtime.table_from({"load": lambda: request})
    try:
        runtime.execute(lua_config["pre"])
    except lupa.lua51.LuaError:
        status = stop["status"]
        assert status is not None, "the script failed without refusing the request"
        return int(status)
    return None


def test_the_body_check_refuses_over_the_cap_and_undeclared_lengths_and_lets_the_rest_through() -> None:
    for endpoint in ENDPOINTS:
        cap = _body_cap(endpoint)
        if cap is None:
            continue
        lua = endpoint["extra_config"]["modifier/lua-endpoint"]
        assert lua["allow_open_libs"] is True  # tonumber is in the base library
        assert _run_body_check(lua, str(cap)) is None, endpoint["endpoint"]
        assert _run_body_check(lua, "0") is None, endpoint["endpoint"]
        assert _run_body_check(lua, str(cap + 1)) == 413, endpoint["endpoint"]
        assert _run_body_check(lua, None) == 411, endpoint["endpoint"]
        assert _run_body_check(lua, "lots") == 411, endpoint["endpoint"]


def test_timeouts_outlast_the_bffs_own_waits() -> None:
    # The BFF answers 503 itself after waiting this long for Temporal or Kafka; the gateway must not cut it off first.
    bff_wait = max(SETTINGS.api.workflow_call_timeout_seconds, SETTINGS.api.produce_timeout_seconds)
    for endpoint in ENDPOINTS:
        assert _seconds(endpoint.get("timeout", CONFIG["timeout"])) > bff_wait, endpoint["endpoint"]
    assert _seconds(CONFIG["read_header_timeout"]) <= 10


def test_cors_lets_the_app_send_what_its_routes_need() -> None:
    cors = CONFIG["extra_config"]["security/cors"]
    app_headers = {
        h.lower()
        for e in ENDPOINTS
        if not e["endpoint"].startswith("/v1/webhooks/")
        for h in e.get("input_headers", [])
    }

    # The app's origins as the BFF's own CORS lists them (api.cors_origins), else the development one.
    assert set(getattr(SETTINGS.api, "cors_origins", None) or [APP_DEV_ORIGIN]) <= set(cors["allow_origins"])
    assert "*" not in cors["allow_origins"]
    assert app_headers <= {h.lower() for h in cors["allow_headers"]}
    assert {_routed(e)[0] for e in ENDPOINTS} <= set(cors["allow_methods"])
    assert cors.get("allow_credentials", False) is False  # bearer tokens, no cookies at the edge
    assert {"location", "retry-after", "x-request-id"} <= {h.lower() for h in cors["expose_headers"]}


# --- Against KrakenD's schema --------------------------------------------------------------------


def _offline_registry() -> referencing.Registry:
    def refuse(uri: str) -> referencing.Resource:
        raise referencing.exceptions.NoSuchResource(ref=uri)  # every $ref must resolve inside the file

    return referencing.Registry(retrieve=refuse)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.protocols.Validator:
    if not SCHEMA_FILE.is_file():
        pytest.skip(
            f"krakend.json was NOT validated against KrakenD's v2.13 schema: {SCHEMA_FILE} is absent"
            " (it lies beside the checkout in CI, not in a clone)"
        )
    schema = json.loads(SCHEMA_FILE.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=_offline_registry(), format_checker=cls.FORMAT_CHECKER)


def _errors(validator: jsonschema.protocols.Validator, config: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(config)]


def test_krakend_json_is_valid_against_krakends_v2_13_schema(schema_validator: jsonschema.protocols.Validator) -> None:
    assert _errors(schema_validator, CONFIG) == []


def _break_rate_limit(config: dict[str, Any]) -> None:
    config["endpoints"][0]["extra_config"]["qos/ratelimit/router"]["strategy"] = "token"


def _break_timeout(config: dict[str, Any]) -> None:
    config["endpoints"][0]["timeout"] = "15 seconds"


def _unknown_field(config: dict[str, Any]) -> None:
    config["endpoints"][0]["backends"] = config["endpoints"][0].pop("backend")


def _validator_without_keys(config: dict[str, Any]) -> None:
    secured = next(e for e in config["endpoints"] if "auth/validator" in e["extra_config"])
    del secured["extra_config"]["auth/validator"]["jwk_url"]


def _string_rate(config: dict[str, Any]) -> None:
    config["endpoints"][0]["extra_config"]["qos/ratelimit/router"]["client_max_rate"] = "ten"


@pytest.mark.parametrize(
    "breakage", [_break_rate_limit, _break_timeout, _unknown_field, _validator_without_keys, _string_rate]
)
def test_the_schema_check_catches_a_broken_configuration(
    schema_validator: jsonschema.protocols.Validator, breakage: Any
) -> None:
    broken = copy.deepcopy(CONFIG)
    breakage(broken)

    assert _errors(schema_validator, broken) != []
