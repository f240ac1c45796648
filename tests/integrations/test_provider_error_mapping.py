"""The shared answer → result/error mapping every client goes through (httpx.MockTransport)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from integrations.errors import (
    BusinessRefusal,
    CpfNotFound,
    PermanentProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    TransientProviderError,
    UnexpectedProviderAnswer,
)
from integrations.http import WireMoney, money_to_wire, parse_body, parse_retry_after, path_segment, send_request

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url="https://provider.test/api", transport=httpx.MockTransport(handler))


async def call(handler: Handler, path: str = "v1/things", **kwargs: object) -> httpx.Response:
    async with client(handler) as http:
        return await send_request(http, "GET", path, provider="test", operation="get_thing", **kwargs)  # type: ignore[arg-type]


async def test_success_answer_is_returned() -> None:
    response = await call(lambda r: httpx.Response(200, json={"ok": True}))
    assert response.json() == {"ok": True}


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.WriteTimeout, httpx.PoolTimeout])
async def test_timeout_is_transient(exc: type[httpx.TimeoutException]) -> None:
    def raise_timeout(request: httpx.Request) -> httpx.Response:
        raise exc("too slow", request=request)

    with pytest.raises(ProviderTimeout) as caught:
        await call(raise_timeout)
    assert isinstance(caught.value, TransientProviderError)
    assert caught.value.provider == "test" and caught.value.operation == "get_thing"


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError])
async def test_connection_failure_is_transient(exc: type[httpx.TransportError]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc("gone", request=request)

    with pytest.raises(ProviderUnavailable):
        await call(fail)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425])
async def test_server_errors_are_transient(status: int) -> None:
    with pytest.raises(TransientProviderError) as caught:
        await call(lambda r: httpx.Response(status, json={"error": "boom"}))
    assert caught.value.status_code == status
    assert caught.value.retry_after is None


async def test_429_carries_retry_after_in_seconds() -> None:
    with pytest.raises(TransientProviderError) as caught:
        await call(lambda r: httpx.Response(429, headers={"Retry-After": "7"}))
    assert caught.value.retry_after == 7.0


async def test_503_with_retry_after_carries_it() -> None:
    with pytest.raises(TransientProviderError) as caught:
        await call(lambda r: httpx.Response(503, headers={"Retry-After": "2"}))
    assert caught.value.retry_after == 2.0


def test_retry_after_as_an_http_date_becomes_seconds_from_now() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now.timestamp()) == 0.0


@pytest.mark.parametrize("header", [None, "soon", "-3", "nan"])
def test_unusable_retry_after_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 422])
async def test_other_client_errors_are_permanent(status: int) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        await call(lambda r: httpx.Response(status, json={"error": "nope", "message": "refused"}))
    assert not isinstance(caught.value, TransientProviderError)
    assert not isinstance(caught.value, BusinessRefusal)
    assert caught.value.status_code == status
    assert caught.value.code == "nope"


async def test_error_code_is_read_from_a_problem_json_type() -> None:
    problem = {"type": "https://pix.bcb.gov.br/api/v2/error/CobNaoEncontrado", "title": "x", "status": 404}
    with pytest.raises(PermanentProviderError) as caught:
        await call(lambda r: httpx.Response(404, json=problem))
    assert caught.value.code == "CobNaoEncontrado"


async def test_error_code_is_read_from_a_serpro_error() -> None:
    with pytest.raises(PermanentProviderError) as caught:
        await call(lambda r: httpx.Response(404, json={"error": "not_found", "error_description": "Não existe"}))
    assert caught.value.code == "not_found"
    assert caught.value.message == "Não existe"


async def test_error_without_a_json_body_is_still_mapped() -> None:
    with pytest.raises(PermanentProviderError) as caught:
        await call(lambda r: httpx.Response(403, text="<html>forbidden</html>"))
    assert caught.value.code is None


async def test_refusal_is_chosen_by_provider_code_before_status() -> None:
    class SpecialRefusal(BusinessRefusal):
        pass

    refusals = {"special": SpecialRefusal, 404: CpfNotFound}
    with pytest.raises(SpecialRefusal):
        await call(lambda r: httpx.Response(404, json={"error": "special"}), refusals=refusals)
    with pytest.raises(CpfNotFound):
        await call(lambda r: httpx.Response(404, json={"error": "other"}), refusals=refusals)


async def test_refusal_map_never_turns_a_server_error_permanent() -> None:
    with pytest.raises(TransientProviderError):
        await call(lambda r: httpx.Response(503, json={"error": "special"}), refusals={503: CpfNotFound})


async def test_redirect_is_not_followed_and_is_permanent() -> None:
    recorder = Recorder(lambda r: httpx.Response(302, headers={"Location": "https://elsewhere.test/"}))
    with pytest.raises(UnexpectedProviderAnswer):
        await call(recorder)
    assert [str(r.url) for r in recorder.requests] == ["https://provider.test/api/v1/things"]


@pytest.mark.parametrize("path", ["https://evil.test/x", "//evil.test/x", "http:evil"])
async def test_absolute_url_is_refused_before_anything_is_sent(path: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(200))
    with pytest.raises(ValueError):
        await call(recorder, path)
    assert recorder.requests == []


async def test_escaped_path_segment_stays_under_the_base_url() -> None:
    recorder = Recorder(lambda r: httpx.Response(200))
    await call(recorder, f"v1/things/{path_segment('../../admin?x=1#y')}")
    url = recorder.requests[0].url
    assert url.host == "provider.test"
    assert url.raw_path.startswith(b"/api/v1/things/")
    assert url.query == b""


class Thing(BaseModel):
    name: str
    amount: WireMoney


def test_body_of_the_wrong_shape_is_an_unexpected_answer() -> None:
    response = httpx.Response(200, json={"name": "x"})
    with pytest.raises(UnexpectedProviderAnswer):
        parse_body(Thing, response, provider="test", operation="get_thing")


def test_non_json_success_body_is_an_unexpected_answer() -> None:
    with pytest.raises(UnexpectedProviderAnswer):
        parse_body(Thing, httpx.Response(200, text="ok"), provider="test", operation="get_thing")


def test_money_is_read_only_from_decimal_strings() -> None:
    assert Thing.model_validate({"name": "x", "amount": "0.10"}).amount == Decimal("0.10")
    with pytest.raises(ValidationError):
        Thing.model_validate({"name": "x", "amount": 0.1})
    with pytest.raises(ValidationError):
        Thing.model_validate({"name": "x", "amount": "NaN"})


def test_money_goes_on_the_wire_with_two_places_and_never_rounds() -> None:
    assert money_to_wire(Decimal("1500")) == "1500.00"
    assert money_to_wire(Decimal("0.5")) == "0.50"
    assert Thing(name="x", amount=Decimal("12.3")).model_dump(mode="json")["amount"] == "12.30"
    with pytest.raises(ValueError):
        money_to_wire(Decimal("10.005"))
