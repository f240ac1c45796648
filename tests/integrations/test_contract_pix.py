"""PIX client against the live simulator: payouts, charges, refunds, and their webhooks."""

import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from integrations.errors import (
    ChargeNotCancellable,
    ChargeNotFound,
    IdempotencyConflict,
    PayoutNotFound,
    PayoutRefused,
    PixKeyNotFound,
    RefundRefused,
)
from integrations.factory import ProviderClients
from integrations.pix import (
    BankAccountDestination,
    ChargePaidEvent,
    ChargeStatus,
    Payout,
    PayoutStatus,
    PixKeyDestination,
    RefundEvent,
    RefundStatus,
)
from integrations.pix_codes import (
    is_valid_end_to_end_id,
    is_valid_return_id,
    new_end_to_end_id,
    new_txid,
    parse_br_code,
)
from integrations.webhooks import WebhookEvent

NewId = Callable[[str], str]
Verify = Callable[[Any], WebhookEvent]
SIMULATOR_ISPB = "12345678"


def _pix_key() -> str:
    return f"{uuid.uuid4().hex[:10]}@cliente.example"


def _about(event_type: str, field: str, value: str) -> Callable[[Any], bool]:
    return lambda d: d.provider == "pix" and d.event.type == event_type and d.event.data.get(field) == value


# Payouts


async def test_payout_is_accepted_then_settles_and_sends_a_signed_webhook(
    providers: ProviderClients, new_id: NewId, webhook_inbox: Any, verify: Verify
) -> None:
    reference = new_id("loan")
    payout = await providers.pix.create_payout(
        amount=Decimal("1500.00"),
        destination=PixKeyDestination(pix_key=_pix_key()),
        idempotency_key=f"{reference}/disbursement",
        external_reference=reference,
    )
    assert payout.status is PayoutStatus.PROCESSING
    assert is_valid_end_to_end_id(payout.end_to_end_id)
    assert payout.end_to_end_id[1:9] == SIMULATOR_ISPB
    assert payout.amount == Decimal("1500.00")

    [delivery] = await webhook_inbox.wait_for(_about("payout.settled", "end_to_end_id", payout.end_to_end_id))
    settled_event = Payout.model_validate(verify(delivery).data)
    assert settled_event.status is PayoutStatus.SETTLED
    assert settled_event.external_reference == reference

    settled = await providers.pix.get_payout(payout.end_to_end_id)
    assert settled.status is PayoutStatus.SETTLED and settled.settled_at is not None


async def test_same_idempotency_key_twice_pays_once(
    providers: ProviderClients, new_id: NewId, webhook_inbox: Any, admin: httpx.AsyncClient
) -> None:
    reference = new_id("loan")
    request = {
        "amount": Decimal("800.00"),
        "destination": PixKeyDestination(pix_key=_pix_key()),
        "idempotency_key": f"{reference}/disbursement",
        "external_reference": reference,
    }
    first = await providers.pix.create_payout(**request)  # type: ignore[arg-type]
    replay = await providers.pix.create_payout(**request)  # type: ignore[arg-type]
    assert replay.end_to_end_id == first.end_to_end_id

    await webhook_inbox.wait_for(_about("payout.settled", "external_reference", reference))
    third = await providers.pix.create_payout(**request)  # type: ignore[arg-type]
    assert third.end_to_end_id == first.end_to_end_id
    assert third.status is PayoutStatus.SETTLED

    # The PSP's statement is written when a payout is taken: one payout for the reference.
    statement = (await admin.get("pix/payouts", params={"external_reference": reference})).json()
    assert [(p["end_to_end_id"], p["status"]) for p in statement] == [(first.end_to_end_id, "settled")]
    # A payout taken after all three settles after any the three could have made: once its webhook
    # is delivered, a second settlement of this reference would have been delivered too.
    marker = new_id("loan")
    await providers.pix.create_payout(
        amount=Decimal("1.00"),
        destination=PixKeyDestination(pix_key=_pix_key()),
        idempotency_key=f"{marker}/disbursement",
        external_reference=marker,
    )
    await webhook_inbox.wait_for(_about("payout.settled", "external_reference", marker))
    settlements = webhook_inbox.matching(_about("payout.settled", "external_reference", reference))
    assert {d.event.data["end_to_end_id"] for d in settlements} == {first.end_to_end_id}
    assert len({d.event.id for d in settlements}) == 1


async def test_reusing_a_payout_key_for_another_amount_is_a_conflict(providers: ProviderClients, new_id: NewId) -> None:
    reference = new_id("loan")
    key = f"{reference}/disbursement"
    destination = PixKeyDestination(pix_key=_pix_key())
    await providers.pix.create_payout(
        amount=Decimal("100.00"), destination=destination, idempotency_key=key, external_reference=reference
    )
    with pytest.raises(IdempotencyConflict):
        await providers.pix.create_payout(
            amount=Decimal("100.01"), destination=destination, idempotency_key=key, external_reference=reference
        )


async def test_payout_to_a_bank_account_settles(providers: ProviderClients, new_id: NewId, new_cpf: Any) -> None:
    reference = new_id("loan")
    payout = await providers.pix.create_payout(
        amount=Decimal("2500.10"),
        destination=BankAccountDestination(
            ispb="00000000",
            branch="1234",
            account_number="987654",
            account_type="checking",
            holder_document=new_cpf(),
            holder_name="Ana Silva",
        ),
        idempotency_key=f"{reference}/disbursement",
        external_reference=reference,
    )
    assert payout.destination.type == "bank_account"


async def test_unknown_pix_key_is_refused(providers: ProviderClients, new_id: NewId, admin: httpx.AsyncClient) -> None:
    key = _pix_key()
    await admin.put(f"pix/keys/{key}", json={"outcome": "not_found"})
    with pytest.raises(PixKeyNotFound):
        await providers.pix.create_payout(
            amount=Decimal("10.00"),
            destination=PixKeyDestination(pix_key=key),
            idempotency_key=new_id("payout"),
            external_reference=new_id("loan"),
        )


async def test_insufficient_balance_is_refused(
    providers: ProviderClients, new_id: NewId, admin: httpx.AsyncClient
) -> None:
    key = _pix_key()
    await admin.put(f"pix/keys/{key}", json={"outcome": "insufficient_funds"})
    with pytest.raises(PayoutRefused):
        await providers.pix.create_payout(
            amount=Decimal("10.00"),
            destination=PixKeyDestination(pix_key=key),
            idempotency_key=new_id("payout"),
            external_reference=new_id("loan"),
        )


async def test_payout_rejected_downstream_fails_with_a_failed_webhook(
    providers: ProviderClients, new_id: NewId, admin: httpx.AsyncClient, webhook_inbox: Any, verify: Verify
) -> None:
    key = _pix_key()
    await admin.put(f"pix/keys/{key}", json={"outcome": "reject", "failure_reason": "conta encerrada"})
    payout = await providers.pix.create_payout(
        amount=Decimal("10.00"),
        destination=PixKeyDestination(pix_key=key),
        idempotency_key=new_id("payout"),
        external_reference=new_id("loan"),
    )
    [delivery] = await webhook_inbox.wait_for(_about("payout.failed", "end_to_end_id", payout.end_to_end_id))
    failed = Payout.model_validate(verify(delivery).data)
    assert failed.status is PayoutStatus.FAILED and failed.failure_reason == "conta encerrada"


async def test_unknown_payout_is_not_found(providers: ProviderClients) -> None:
    with pytest.raises(PayoutNotFound):
        await providers.pix.get_payout(new_end_to_end_id(SIMULATOR_ISPB))


# Charges


async def test_charge_has_a_valid_br_code_and_a_payment_link(providers: ProviderClients, new_cpf: Any) -> None:
    txid = new_txid()
    charge = await providers.pix.create_charge(
        txid=txid, amount=Decimal("321.09"), debtor_cpf=new_cpf(), debtor_name="Ana Silva", expires_in_seconds=600
    )
    assert charge.txid == txid and charge.status is ChargeStatus.ACTIVE
    code = parse_br_code(charge.br_code)
    assert code.amount == Decimal("321.09")
    assert code.is_dynamic and code.location == charge.location
    assert code.single_use
    assert charge.payment_url and charge.payment_url.endswith(f"/pix/pay/{txid}")


async def test_charge_paid_through_admin_sends_a_payment_webhook(
    providers: ProviderClients, new_cpf: Any, admin: httpx.AsyncClient, webhook_inbox: Any, verify: Verify
) -> None:
    txid = new_txid()
    await providers.pix.create_charge(txid=txid, amount=Decimal("99.90"), debtor_cpf=new_cpf(), debtor_name="Ana")
    response = await admin.post(f"pix/cob/{txid}/pay")
    assert response.status_code == 200

    [delivery] = await webhook_inbox.wait_for(_about("charge.paid", "txid", txid))
    paid = ChargePaidEvent.model_validate(verify(delivery).data)
    assert paid.amount == Decimal("99.90")
    assert paid.end_to_end_id == response.json()["end_to_end_id"]

    charge = await providers.pix.get_charge(txid)
    assert charge.status is ChargeStatus.PAID
    assert [p.end_to_end_id for p in charge.payments] == [paid.end_to_end_id]


async def test_charge_paid_through_its_payment_link(
    providers: ProviderClients, new_cpf: Any, webhook_inbox: Any
) -> None:
    txid = new_txid()
    charge = await providers.pix.create_charge(
        txid=txid, amount=Decimal("45.00"), debtor_cpf=new_cpf(), debtor_name="Ana"
    )
    assert charge.payment_url is not None
    async with httpx.AsyncClient() as browser:
        page = await browser.get(charge.payment_url)
        assert page.status_code == 200 and 'id="pay"' in page.text
        paid_page = await browser.post(charge.payment_url)
    assert paid_page.status_code == 200
    e2e = re.search(r'id="e2e">([A-Za-z0-9]{32})<', paid_page.text)
    assert e2e and is_valid_end_to_end_id(e2e.group(1))
    await webhook_inbox.wait_for(_about("charge.paid", "txid", txid))
    assert (await providers.pix.get_charge(txid)).status is ChargeStatus.PAID


async def test_creating_a_charge_again_returns_it_and_other_terms_conflict(
    providers: ProviderClients, new_cpf: Any
) -> None:
    txid, cpf = new_txid(), new_cpf()
    first = await providers.pix.create_charge(txid=txid, amount=Decimal("10.00"), debtor_cpf=cpf, debtor_name="Ana")
    again = await providers.pix.create_charge(txid=txid, amount=Decimal("10.00"), debtor_cpf=cpf, debtor_name="Ana")
    assert again.br_code == first.br_code
    with pytest.raises(IdempotencyConflict):
        await providers.pix.create_charge(txid=txid, amount=Decimal("11.00"), debtor_cpf=cpf, debtor_name="Ana")


async def test_unpaid_charge_is_cancelled_but_a_paid_one_is_not(
    providers: ProviderClients, new_cpf: Any, admin: httpx.AsyncClient
) -> None:
    open_txid, paid_txid = new_txid(), new_txid()
    for txid in (open_txid, paid_txid):
        await providers.pix.create_charge(txid=txid, amount=Decimal("10.00"), debtor_cpf=new_cpf(), debtor_name="Ana")
    cancelled = await providers.pix.cancel_charge(open_txid)
    assert cancelled.status is ChargeStatus.REMOVED_BY_RECEIVER
    assert (await providers.pix.cancel_charge(open_txid)).status is ChargeStatus.REMOVED_BY_RECEIVER
    assert (await admin.post(f"pix/cob/{open_txid}/pay")).status_code == 409

    await admin.post(f"pix/cob/{paid_txid}/pay")
    with pytest.raises(ChargeNotCancellable):
        await providers.pix.cancel_charge(paid_txid)


async def test_unknown_charge_is_not_found(providers: ProviderClients) -> None:
    with pytest.raises(ChargeNotFound):
        await providers.pix.get_charge(new_txid())


# Refunds


async def test_received_payment_is_partly_refunded_and_the_refund_settles_with_a_webhook(
    providers: ProviderClients, new_cpf: Any, admin: httpx.AsyncClient, webhook_inbox: Any, verify: Verify
) -> None:
    txid = new_txid()
    await providers.pix.create_charge(txid=txid, amount=Decimal("100.00"), debtor_cpf=new_cpf(), debtor_name="Ana")
    paid = await admin.post(f"pix/cob/{txid}/pay", json={"amount": "130.00"})  # overpaid by 30
    e2e = paid.json()["end_to_end_id"]

    refund = await providers.pix.refund(end_to_end_id=e2e, refund_id="overpay1", amount=Decimal("30.00"))
    assert refund.status is RefundStatus.PROCESSING
    assert is_valid_return_id(refund.return_id)
    assert (await providers.pix.refund(end_to_end_id=e2e, refund_id="overpay1", amount=Decimal("30.00"))).return_id == (
        refund.return_id
    )

    [delivery] = await webhook_inbox.wait_for(_about("refund.settled", "return_id", refund.return_id))
    event = RefundEvent.model_validate(verify(delivery).data)
    assert event.amount == Decimal("30.00") and event.status is RefundStatus.RETURNED
    assert (await providers.pix.get_refund(e2e, "overpay1")).status is RefundStatus.RETURNED

    with pytest.raises(RefundRefused):  # only 100.00 is left, asking 100.01
        await providers.pix.refund(end_to_end_id=e2e, refund_id="toomuch", amount=Decimal("100.01"))


async def test_refund_of_an_unknown_payment_is_refused(providers: ProviderClients) -> None:
    with pytest.raises(RefundRefused):
        await providers.pix.refund(end_to_end_id=new_end_to_end_id("87654321"), refund_id="r1", amount=Decimal("1.00"))
