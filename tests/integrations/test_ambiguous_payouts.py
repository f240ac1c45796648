"""A payout whose answer was lost is asked for by its EndToEndId, never sent again blindly.

Against the simulator as a PSP that replays by idempotency key (the default) and as one that does
not (``refuse_replays``), over real HTTP.
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from integrations.errors import IdempotencyConflict, PayoutNotFound, PermanentProviderError, ProviderTimeout
from integrations.factory import ProviderClients, provider_http_client
from integrations.pix import PayoutStatus, PixClient, PixKeyDestination
from integrations.pix_codes import end_to_end_id_for, is_valid_end_to_end_id
from lendflow.settings import Settings

NewId = Callable[[str], str]
SIMULATOR_ISPB = "12345678"  # the live simulator's (tests/integrations/conftest.py)


async def _set_fault(admin: httpx.AsyncClient, **rule: Any) -> None:
    response = await admin.put("faults/pix/create_payout", json=rule)
    assert response.status_code == 200, response.text


def _payout(reference: str) -> dict[str, Any]:
    key = f"{reference}:payout"
    return {
        "amount": Decimal("1530.25"),
        "destination": PixKeyDestination(pix_key=f"{uuid.uuid4().hex[:8]}@cliente.example"),
        "idempotency_key": key,
        "external_reference": reference,
        "end_to_end_id": end_to_end_id_for(SIMULATOR_ISPB, datetime.now(UTC), key),
    }


async def _lose_the_answer(simulator_settings: Settings, request: dict[str, Any]) -> None:
    """The PSP takes the payout, then answers after our client gave up."""
    impatient = simulator_settings.providers.pix.model_copy(update={"timeout_seconds": 0.3})
    async with provider_http_client(impatient) as http:
        with pytest.raises(ProviderTimeout):
            await PixClient(http, receiver_pix_key="k", psp_ispb=SIMULATOR_ISPB).create_payout(**request)


def test_an_end_to_end_id_named_for_a_key_is_valid_stable_and_distinct() -> None:
    at = datetime(2026, 12, 2, 4, 30, 59, tzinfo=UTC)
    first = end_to_end_id_for(SIMULATOR_ISPB, at, "loan-1:payout")
    assert is_valid_end_to_end_id(first)
    assert first.startswith(f"E{SIMULATOR_ISPB}202612020430")
    assert end_to_end_id_for(SIMULATOR_ISPB, at, "loan-1:payout") == first
    assert end_to_end_id_for(SIMULATOR_ISPB, at, "loan-2:payout") != first


@pytest.mark.parametrize("refuse_replays", [False, True], ids=["psp-replays", "psp-refuses-replays"])
async def test_a_payout_whose_answer_was_lost_is_found_by_its_end_to_end_id_and_paid_once(
    refuse_replays: bool,
    providers: ProviderClients,
    simulator_settings: Settings,
    admin: httpx.AsyncClient,
    new_id: NewId,
    webhook_inbox: Any,
) -> None:
    reference = new_id("loan")
    request = _payout(reference)
    await _set_fault(admin, hang_seconds=1.0, after_processing=True, refuse_replays=refuse_replays)
    await _lose_the_answer(simulator_settings, request)

    await _set_fault(admin, refuse_replays=refuse_replays)
    found = await providers.pix.pay_once(**request)
    assert found.end_to_end_id == request["end_to_end_id"]
    assert found.external_reference == reference

    def settled(d: Any) -> bool:
        return d.event.type == "payout.settled" and d.event.data["external_reference"] == reference

    await webhook_inbox.wait_for(settled)
    # A second payout would settle too: wait out the settlement delay once more before counting.
    await asyncio.sleep(simulator_settings.simulator.settlement_delay_seconds + 0.3)
    assert {d.event.data["end_to_end_id"] for d in webhook_inbox.matching(settled)} == {found.end_to_end_id}
    assert (await providers.pix.get_payout(found.end_to_end_id)).status is PayoutStatus.SETTLED


async def test_a_psp_that_refuses_replays_refuses_a_blind_resend(
    providers: ProviderClients, simulator_settings: Settings, admin: httpx.AsyncClient, new_id: NewId
) -> None:
    # What the activity did before: resend under the same key and count on the PSP to replay.
    request = _payout(new_id("loan"))
    await _set_fault(admin, hang_seconds=1.0, after_processing=True, refuse_replays=True)
    await _lose_the_answer(simulator_settings, request)
    await _set_fault(admin, refuse_replays=True)
    with pytest.raises(IdempotencyConflict):
        await providers.pix.create_payout(**request)
    # ...while asking without sending never pays: the first payout is the one there is.
    assert (await providers.pix.pay_once(**request)).end_to_end_id == request["end_to_end_id"]


async def test_a_payout_never_taken_is_sent_when_asked_for_first(
    providers: ProviderClients, admin: httpx.AsyncClient, new_id: NewId
) -> None:
    request = _payout(new_id("loan"))
    await _set_fault(admin, refuse_replays=True)
    with pytest.raises(PayoutNotFound):
        await providers.pix.get_payout(request["end_to_end_id"])
    payout = await providers.pix.pay_once(**request)
    assert payout.end_to_end_id == request["end_to_end_id"]
    assert payout.status is PayoutStatus.PROCESSING


async def test_an_end_to_end_id_of_another_institution_is_refused(
    providers: ProviderClients, admin: httpx.AsyncClient, new_id: NewId
) -> None:
    key = f"{new_id('loan')}:payout"
    request = {**_payout(key), "end_to_end_id": end_to_end_id_for("99999999", datetime.now(UTC), key)}
    with pytest.raises(PermanentProviderError):  # a refusal, not something to retry
        await providers.pix.create_payout(**request)
