"""The admin API, ``/_admin``: faults, fixed answers, and actions a person would take.

Tests, the demo's failure mode and the reliability suite drive it; Lendflow itself never calls it.
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from integrations.cpf import is_valid_cpf
from simulator import esignature as esignature_routes
from simulator.faults import FaultRule, UnknownOperation, check_operation
from simulator.pix import pay_charge, payout_json
from simulator.state import (
    CpfOverride,
    CreditOverride,
    EnvelopeRecord,
    PixKeyBehaviour,
    ProviderFailure,
    SimulatorState,
    StateDep,
)

router = APIRouter(prefix="/_admin", tags=["admin"])


def _cpf(cpf: str) -> str:
    if not (cpf.isdigit() and len(cpf) == 11 and is_valid_cpf(cpf)):
        raise ProviderFailure(400, "invalid_cpf", "give the CPF as 11 digits with valid check digits")
    return cpf


@router.post("/reset", status_code=204)
async def reset(state: StateDep) -> Response:
    """Forget faults, overrides, envelopes, payouts, charges and refunds (ECM documents stay)."""
    state.reset()
    return Response(status_code=204)


# Faults


@router.get("/faults")
async def list_faults(state: StateDep) -> list[dict[str, object]]:
    return state.faults.listing()


@router.put("/faults/{provider}/{operation}")
async def set_fault(provider: str, operation: str, rule: FaultRule, state: StateDep) -> dict[str, object]:
    try:
        state.faults.set(provider, operation, rule)
    except UnknownOperation as exc:
        raise ProviderFailure(404, "unknown_operation", str(exc)) from exc
    return {"provider": provider, "operation": operation, "rule": rule.model_dump()}


@router.delete("/faults/{provider}/{operation}", status_code=204)
async def clear_fault(provider: str, operation: str, state: StateDep) -> Response:
    try:
        check_operation(provider, operation)
    except UnknownOperation as exc:
        raise ProviderFailure(404, "unknown_operation", str(exc)) from exc
    state.faults.clear(provider, operation)
    return Response(status_code=204)


@router.delete("/faults", status_code=204)
async def clear_all_faults(state: StateDep) -> Response:
    state.faults.reset()
    return Response(status_code=204)


# Fixed answers


@router.put("/federal-revenue/cpf/{cpf}")
async def fix_cpf_answer(cpf: str, override: CpfOverride, state: StateDep) -> dict[str, object]:
    state.cpf_overrides[_cpf(cpf)] = override
    return override.model_dump(mode="json")


@router.delete("/federal-revenue/cpf/{cpf}", status_code=204)
async def clear_cpf_answer(cpf: str, state: StateDep) -> Response:
    state.cpf_overrides.pop(_cpf(cpf), None)
    return Response(status_code=204)


@router.put("/credit-bureau/cpf/{cpf}")
async def fix_credit_answer(cpf: str, override: CreditOverride, state: StateDep) -> dict[str, object]:
    state.credit_overrides[_cpf(cpf)] = override
    return override.model_dump(mode="json")


@router.delete("/credit-bureau/cpf/{cpf}", status_code=204)
async def clear_credit_answer(cpf: str, state: StateDep) -> Response:
    state.credit_overrides.pop(_cpf(cpf), None)
    return Response(status_code=204)


@router.put("/pix/keys/{pix_key}")
async def fix_pix_key(pix_key: str, behaviour: PixKeyBehaviour, state: StateDep) -> dict[str, object]:
    state.pix_keys[pix_key] = behaviour
    return behaviour.model_dump()


@router.delete("/pix/keys/{pix_key}", status_code=204)
async def clear_pix_key(pix_key: str, state: StateDep) -> Response:
    state.pix_keys.pop(pix_key, None)
    return Response(status_code=204)


# What people do


class ChargePayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    payer_name: str | None = None
    payer_cpf: str | None = Field(default=None, pattern=r"^[0-9]{11}$")


@router.get("/pix/payouts")
async def list_payouts(state: StateDep, external_reference: str | None = None) -> list[dict[str, object]]:
    """The payouts taken, oldest first, optionally those of one external reference: how a test or
    the chaos suite counts what was paid, as the PSP's statement would."""
    return [
        payout_json(payout)
        for payout in sorted(state.payouts.values(), key=lambda p: p.created_at)
        if external_reference is None or payout.external_reference == external_reference
    ]


@router.post("/pix/cob/{txid}/pay")
async def pay(txid: str, state: StateDep, payment: ChargePayment | None = None) -> dict[str, object]:
    """Pay a charge as its debtor would (by default the exact amount); sends ``charge.paid``."""
    charge = state.charges.get(txid)
    if charge is None:
        raise ProviderFailure(404, "charge_not_found", "no charge with this txid")
    payment = payment or ChargePayment()
    received = pay_charge(
        state, charge, amount=payment.amount, payer_name=payment.payer_name, payer_cpf=payment.payer_cpf
    )
    return {
        "txid": txid,
        "end_to_end_id": received.end_to_end_id,
        "amount": format(received.amount.quantize(Decimal("0.01")), "f"),
        "paid_at": received.paid_at.isoformat(),
    }


def _envelope(state: SimulatorState, envelope_id: str) -> EnvelopeRecord:
    envelope = state.envelopes.get(envelope_id)
    if envelope is None:
        raise ProviderFailure(404, "envelope_not_found", "no envelope with this id")
    return envelope


@router.post("/esignature/envelopes/{envelope_id}/sign")
async def sign_envelope(envelope_id: str, state: StateDep) -> dict[str, object]:
    """Every pending signer signs; sends ``envelope.signed``."""
    envelope = _envelope(state, envelope_id)
    if envelope.status != "sent":
        raise ProviderFailure(409, "envelope_completed", f"the envelope is already {envelope.status}")
    for signer in envelope.signers:
        if signer.status == "pending":
            esignature_routes.sign(state, envelope, signer)
    return esignature_routes.envelope_json(state, envelope)


@router.post("/esignature/envelopes/{envelope_id}/decline")
async def decline_envelope(envelope_id: str, state: StateDep) -> dict[str, object]:
    """The first pending signer declines; sends ``envelope.declined``."""
    envelope = _envelope(state, envelope_id)
    pending = next((s for s in envelope.signers if s.status == "pending"), None)
    if envelope.status != "sent" or pending is None:
        raise ProviderFailure(409, "envelope_completed", f"the envelope is already {envelope.status}")
    esignature_routes.decline(state, envelope, pending)
    return esignature_routes.envelope_json(state, envelope)


@router.post("/esignature/envelopes/{envelope_id}/expire")
async def expire_envelope(envelope_id: str, state: StateDep) -> dict[str, object]:
    """Expire an open envelope now; sends ``envelope.expired``."""
    envelope = _envelope(state, envelope_id)
    if not esignature_routes.expire(state, envelope):
        raise ProviderFailure(409, "envelope_completed", f"the envelope is already {envelope.status}")
    return esignature_routes.envelope_json(state, envelope)


# Webhooks


@router.get("/webhooks/deliveries")
async def webhook_deliveries(state: StateDep, event_id: str | None = None) -> list[dict[str, object]]:
    """Every delivery attempt, oldest first (the last 2000), optionally for one event."""
    attempts = state.webhooks.attempt_log()
    return [a for a in attempts if event_id is None or a["event_id"] == event_id]
