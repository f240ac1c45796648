"""Simulated PIX payment provider: payouts, charges (cob), refunds (devolução), webhooks.

Payouts settle ``settlement_delay_seconds`` after they are accepted and then ``payout.settled``
(or ``payout.failed``, for keys set to ``reject`` through the admin API) goes out. One
idempotency key never pays twice. A charge is paid through ``POST /_admin/pix/cob/{txid}/pay``
or its payment link ``/pix/pay/{txid}``, which sends ``charge.paid``; that payment can then be
refunded, which settles like a payout and sends ``refund.settled``.
"""

from __future__ import annotations

import functools
import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Header
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from integrations.pix_codes import (
    build_br_code,
    is_valid_end_to_end_id,
    is_valid_txid,
    new_end_to_end_id,
    new_return_id,
)
from simulator.state import (
    PAYER_ISPB,
    ChargeRecord,
    PayoutRecord,
    PixKeyBehaviour,
    ProviderFailure,
    ReceivedPixRecord,
    RefundRecord,
    SimulatorState,
    StateDep,
    bearer_guard,
    fingerprint,
)

log = structlog.get_logger(__name__)

payouts_api = APIRouter(prefix="/pix/v1", tags=["pix payouts"], dependencies=[Depends(bearer_guard("pix"))])
bcb_api = APIRouter(prefix="/pix/v2", tags=["pix cob and devolução"], dependencies=[Depends(bearer_guard("pix"))])
pages = APIRouter(prefix="/pix", tags=["pix pages"], include_in_schema=False)

_AMOUNT = re.compile(r"^[0-9]{1,10}\.[0-9]{2}$")
_REFUND_ID = re.compile(r"^[a-zA-Z0-9]{1,35}$")


def _amount(value: str, *, style: Literal["simple", "bcb"], code: str) -> Decimal:
    if not _AMOUNT.match(value) or Decimal(value) <= 0:
        raise ProviderFailure(400, code, "amounts are positive decimal strings with two places", style=style)
    return Decimal(value)


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# Payouts


class PixKeyDestinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["pix_key"]
    pix_key: str = Field(min_length=1, max_length=77)


class BankAccountDestinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["bank_account"]
    ispb: str = Field(pattern=r"^[0-9]{8}$")
    branch: str = Field(pattern=r"^[0-9]{1,4}$")
    account_number: str = Field(pattern=r"^[0-9]{1,20}$")
    account_type: Literal["checking", "savings", "payment"]
    holder_document: str = Field(pattern=r"^[0-9]{11}$|^[0-9]{14}$")
    holder_name: str = Field(min_length=1, max_length=200)


class PayoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: str
    destination: Annotated[PixKeyDestinationIn | BankAccountDestinationIn, Field(discriminator="type")]
    external_reference: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=140)
    # Named by a payer that wants to find the payout again by it (as a direct SPI participant does);
    # the PSP makes one up otherwise.
    end_to_end_id: str | None = None


def payout_json(payout: PayoutRecord) -> dict[str, object]:
    return {
        "end_to_end_id": payout.end_to_end_id,
        "idempotency_key": payout.idempotency_key,
        "external_reference": payout.external_reference,
        "amount": _money(payout.amount),
        "destination": payout.destination,
        "status": payout.status,
        "created_at": payout.created_at.isoformat(),
        "settled_at": _stamp(payout.settled_at),
        "failure_reason": payout.failure_reason,
    }


async def _settle_payout(state: SimulatorState, payout: PayoutRecord) -> None:
    payout.settled_at = datetime.now(UTC)
    if payout.outcome.outcome == "reject":
        payout.status, payout.failure_reason = "failed", payout.outcome.failure_reason
    else:
        payout.status = "settled"
    log.info("simulator.payout." + payout.status, end_to_end_id=payout.end_to_end_id)
    state.webhooks.emit("pix", f"payout.{payout.status}", payout_json(payout))


def resume_settlements(state: SimulatorState) -> None:
    """After a restart: payouts and refunds accepted but not settled yet settle as they would have."""
    delay = state.settings.simulator.settlement_delay_seconds
    for payout in state.payouts.values():
        if payout.status == "processing":
            state.schedule(delay, functools.partial(_settle_payout, state, payout))
    for refund in state.refunds.values():
        if refund.status == "EM_PROCESSAMENTO":
            state.schedule(delay, functools.partial(_settle_refund, state, refund))


@payouts_api.post("/payouts")
async def create_payout(
    request: PayoutRequest,
    state: StateDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    async with state.faults.gate("pix", "create_payout"):
        if not idempotency_key:
            raise ProviderFailure(400, "idempotency_key_required", "send an Idempotency-Key header")
        amount = _amount(request.amount, style="simple", code="invalid_amount")
        request_fingerprint = fingerprint(request.model_dump(mode="json"))
        existing_id = state.payout_by_key.get(idempotency_key)
        if existing_id is not None:
            existing = state.payouts[existing_id]
            if state.faults.refuses_replays("pix", "create_payout"):
                raise ProviderFailure(409, "idempotency_key_reused", "this PSP does not replay: ask for the payout")
            if existing.fingerprint != request_fingerprint:
                raise ProviderFailure(409, "idempotency_key_reused", "this key was used for another payout")
            log.info("simulator.payout.replayed", end_to_end_id=existing.end_to_end_id)
            return JSONResponse(payout_json(existing), headers={"Idempotent-Replayed": "true"})
        behaviour = PixKeyBehaviour()
        if isinstance(request.destination, PixKeyDestinationIn):
            behaviour = state.pix_keys.get(request.destination.pix_key, behaviour)
        if behaviour.outcome == "not_found":
            raise ProviderFailure(422, "pix_key_not_found", "the PIX key is not in the directory")
        if behaviour.outcome == "insufficient_funds":
            raise ProviderFailure(422, "insufficient_funds", "the account has no balance for this payout")
        end_to_end_id = request.end_to_end_id or new_end_to_end_id(state.settings.simulator.pix_ispb)
        if request.end_to_end_id is not None:
            if not is_valid_end_to_end_id(end_to_end_id) or end_to_end_id[1:9] != state.settings.simulator.pix_ispb:
                raise ProviderFailure(422, "invalid_end_to_end_id", "an EndToEndId of this PSP's ISPB, or none")
            if end_to_end_id in state.payouts:
                raise ProviderFailure(409, "end_to_end_id_in_use", "another payout has this EndToEndId")
        payout = PayoutRecord(
            end_to_end_id=end_to_end_id,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint,
            external_reference=request.external_reference,
            amount=amount,
            destination=request.destination.model_dump(),
            created_at=datetime.now(UTC),
            outcome=behaviour,
        )
        state.payouts[payout.end_to_end_id] = payout
        state.payout_by_key[idempotency_key] = payout.end_to_end_id
        state.schedule(state.settings.simulator.settlement_delay_seconds, lambda: _settle_payout(state, payout))
    log.info("simulator.payout.accepted", end_to_end_id=payout.end_to_end_id)
    return JSONResponse(payout_json(payout), status_code=201)


@payouts_api.get("/payouts/{end_to_end_id}")
async def get_payout(end_to_end_id: str, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("pix", "get_payout"):
        payout = state.payouts.get(end_to_end_id)
        if payout is None:
            raise ProviderFailure(404, "payout_not_found", "no payout with this EndToEndId")
    return payout_json(payout)


# Charges (cob), in the BCB's shape


class CobCalendario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expiracao: int = Field(default=86400, ge=1)


class CobDevedor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpf: str | None = Field(default=None, pattern=r"^[0-9]{11}$")
    cnpj: str | None = Field(default=None, pattern=r"^[0-9]{14}$")
    nome: str = Field(min_length=1, max_length=200)


class CobValor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    original: str


class CobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calendario: CobCalendario = CobCalendario()
    devedor: CobDevedor | None = None
    valor: CobValor
    chave: str = Field(min_length=1, max_length=77)
    solicitacaoPagador: str | None = Field(default=None, max_length=140)


class CobPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["REMOVIDA_PELO_USUARIO_RECEBEDOR"]


def _cob_not_found() -> ProviderFailure:
    return ProviderFailure(404, "CobNaoEncontrado", "Cobrança não encontrada para o txid informado", style="bcb")


def cob_json(charge: ChargeRecord) -> dict[str, object]:
    body: dict[str, object] = {
        "txid": charge.txid,
        "revisao": charge.revision,
        "calendario": {"criacao": charge.created_at.isoformat(), "expiracao": charge.expires_in_seconds},
        "status": charge.status,
        "valor": {"original": _money(charge.amount)},
        "chave": charge.receiver_key,
        "location": charge.location,
        "pixCopiaECola": charge.br_code,
        "urlPagamento": charge.payment_url,
    }
    if charge.debtor:
        body["devedor"] = charge.debtor
    if charge.payer_request:
        body["solicitacaoPagador"] = charge.payer_request
    if charge.payments:
        body["pix"] = [
            {
                "endToEndId": p.end_to_end_id,
                "txid": p.txid,
                "valor": _money(p.amount),
                "horario": p.paid_at.isoformat(),
                **({"infoPagador": p.payer_note} if p.payer_note else {}),
            }
            for p in charge.payments
        ]
    return body


@bcb_api.put("/cob/{txid}")
async def create_charge(txid: str, request: CobRequest, state: StateDep) -> JSONResponse:
    async with state.faults.gate("pix", "create_charge"):
        if not is_valid_txid(txid):
            raise ProviderFailure(400, "CobOperacaoInvalida", "o txid deve ter de 26 a 35 alfanuméricos", style="bcb")
        amount = _amount(request.valor.original, style="bcb", code="CobOperacaoInvalida")
        request_fingerprint = fingerprint(request.model_dump(mode="json"))
        existing = state.charges.get(txid)
        if existing is not None:
            if existing.fingerprint != request_fingerprint:
                raise ProviderFailure(400, "CobOperacaoInvalida", "já existe uma cobrança com este txid", style="bcb")
            return JSONResponse(cob_json(existing))
        simulator = state.settings.simulator
        location_id = uuid.uuid4().hex
        location = f"{state.public_base_url.split('://', 1)[-1]}/pix/qr/{location_id}"
        charge = ChargeRecord(
            txid=txid,
            fingerprint=request_fingerprint,
            amount=amount,
            receiver_key=request.chave,
            debtor=request.devedor.model_dump(exclude_none=True) if request.devedor else None,
            payer_request=request.solicitacaoPagador,
            created_at=datetime.now(UTC),
            expires_in_seconds=request.calendario.expiracao,
            location_id=location_id,
            location=location,
            br_code=build_br_code(
                merchant_name=simulator.pix_merchant_name,
                merchant_city=simulator.pix_merchant_city,
                location=location,
                amount=amount,
                single_use=True,
            ),
            payment_url=f"{state.public_base_url}/pix/pay/{txid}",
        )
        state.charges[txid] = charge
        state.charge_by_location[location_id] = txid
    log.info("simulator.charge.created", txid=txid)
    return JSONResponse(cob_json(charge), status_code=201)


@bcb_api.get("/cob/{txid}")
async def get_charge(txid: str, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("pix", "get_charge"):
        charge = state.charges.get(txid)
        if charge is None:
            raise _cob_not_found()
    return cob_json(charge)


@bcb_api.patch("/cob/{txid}")
async def cancel_charge(txid: str, request: CobPatch, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("pix", "cancel_charge"):
        charge = state.charges.get(txid)
        if charge is None:
            raise _cob_not_found()
        if charge.status == "CONCLUIDA":
            raise ProviderFailure(400, "CobOperacaoInvalida", "a cobrança já foi paga", style="bcb")
        if charge.status == "ATIVA":
            charge.status, charge.revision = request.status, charge.revision + 1
            log.info("simulator.charge.removed", txid=txid)
    return cob_json(charge)


def pay_charge(
    state: SimulatorState,
    charge: ChargeRecord,
    *,
    amount: Decimal | None = None,
    payer_name: str | None = None,
    payer_cpf: str | None = None,
) -> ReceivedPixRecord:
    """A customer pays the charge: record the received PIX and send ``charge.paid``."""
    now = datetime.now(UTC)
    if charge.status != "ATIVA":
        raise ProviderFailure(409, "charge_not_payable", f"the charge is {charge.status}")
    if now > charge.created_at + timedelta(seconds=charge.expires_in_seconds):
        raise ProviderFailure(409, "charge_expired", "the charge has expired")
    debtor = charge.debtor or {}
    payment = ReceivedPixRecord(
        end_to_end_id=new_end_to_end_id(PAYER_ISPB, now),
        txid=charge.txid,
        amount=amount if amount is not None else charge.amount,
        paid_at=now,
        payer_name=payer_name or debtor.get("nome"),
        payer_cpf=payer_cpf or debtor.get("cpf"),
    )
    charge.payments.append(payment)
    charge.status, charge.revision = "CONCLUIDA", charge.revision + 1
    state.received[payment.end_to_end_id] = payment
    log.info("simulator.charge.paid", txid=charge.txid, end_to_end_id=payment.end_to_end_id)
    state.webhooks.emit(
        "pix",
        "charge.paid",
        {
            "txid": charge.txid,
            "end_to_end_id": payment.end_to_end_id,
            "amount": _money(payment.amount),
            "paid_at": payment.paid_at.isoformat(),
            "payer_name": payment.payer_name,
        },
    )
    return payment


# Refunds (devolução), in the BCB's shape


class DevolucaoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valor: str
    natureza: Literal["ORIGINAL", "RETIRADA"] | None = None
    descricao: str | None = Field(default=None, max_length=140)


def devolucao_json(refund: RefundRecord) -> dict[str, object]:
    body: dict[str, object] = {
        "id": refund.refund_id,
        "rtrId": refund.return_id,
        "valor": _money(refund.amount),
        "horario": {"solicitacao": refund.requested_at.isoformat()},
        "status": refund.status,
    }
    if refund.settled_at:
        body["horario"] = {"solicitacao": refund.requested_at.isoformat(), "liquidacao": refund.settled_at.isoformat()}
    if refund.description:
        body["descricao"] = refund.description
    if refund.reason:
        body["motivo"] = refund.reason
    return body


async def _settle_refund(state: SimulatorState, refund: RefundRecord) -> None:
    refund.status, refund.settled_at = "DEVOLVIDO", datetime.now(UTC)
    log.info("simulator.refund.settled", return_id=refund.return_id)
    state.webhooks.emit(
        "pix",
        "refund.settled",
        {
            "refund_id": refund.refund_id,
            "return_id": refund.return_id,
            "end_to_end_id": refund.end_to_end_id,
            "amount": _money(refund.amount),
            "status": "returned",
            "settled_at": refund.settled_at.isoformat(),
        },
    )


@bcb_api.put("/pix/{end_to_end_id}/devolucao/{refund_id}")
async def refund_payment(
    end_to_end_id: str, refund_id: str, request: DevolucaoRequest, state: StateDep
) -> JSONResponse:
    async with state.faults.gate("pix", "refund"):
        if not _REFUND_ID.match(refund_id):
            raise ProviderFailure(
                400, "DevolucaoOperacaoInvalida", "o id da devolução tem de 1 a 35 alfanuméricos", style="bcb"
            )
        amount = _amount(request.valor, style="bcb", code="DevolucaoOperacaoInvalida")
        payment = state.received.get(end_to_end_id)
        if payment is None:
            raise ProviderFailure(404, "PixNaoEncontrado", "Pix não encontrado para o e2eid informado", style="bcb")
        existing = state.refunds.get((end_to_end_id, refund_id))
        if existing is not None:
            if existing.amount != amount:
                raise ProviderFailure(
                    400, "DevolucaoOperacaoInvalida", "já existe uma devolução com este id", style="bcb"
                )
            return JSONResponse(devolucao_json(existing))
        refunded = sum(
            (r.amount for (e2e, _), r in state.refunds.items() if e2e == end_to_end_id and r.status != "NAO_REALIZADO"),
            Decimal("0"),
        )
        if refunded + amount > payment.amount:
            raise ProviderFailure(
                400, "DevolucaoOperacaoInvalida", "o valor excede o que resta do pagamento", style="bcb"
            )
        refund = RefundRecord(
            refund_id=refund_id,
            end_to_end_id=end_to_end_id,
            return_id=new_return_id(state.settings.simulator.pix_ispb),
            amount=amount,
            description=request.descricao,
            requested_at=datetime.now(UTC),
        )
        state.refunds[(end_to_end_id, refund_id)] = refund
        state.schedule(state.settings.simulator.settlement_delay_seconds, lambda: _settle_refund(state, refund))
    log.info("simulator.refund.accepted", return_id=refund.return_id)
    return JSONResponse(devolucao_json(refund), status_code=201)


@bcb_api.get("/pix/{end_to_end_id}/devolucao/{refund_id}")
async def get_refund(end_to_end_id: str, refund_id: str, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("pix", "get_refund"):
        refund = state.refunds.get((end_to_end_id, refund_id))
        if refund is None:
            raise ProviderFailure(404, "DevolucaoNaoEncontrada", "Devolução não encontrada", style="bcb")
    return devolucao_json(refund)


# Pages: the charge's location and its payment link


@pages.get("/qr/{location_id}")
async def charge_location(location_id: str, state: StateDep) -> dict[str, object]:
    """What a payer's bank reads at the BR Code's location (a JWS in real life, plain JSON here)."""
    txid = state.charge_by_location.get(location_id)
    if txid is None:
        raise ProviderFailure(404, "CobNaoEncontrado", "location não encontrada", style="bcb")
    return cob_json(state.charges[txid])


_PAY_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
code{{word-break:break-all}} button{{font-size:1rem;padding:.6rem 1.4rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _pay_page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAY_PAGE.format(title=html.escape(title), body=body), status_code=status_code)


@pages.get("/pay/{txid}", response_class=HTMLResponse)
async def payment_page(txid: str, state: StateDep) -> HTMLResponse:
    charge = state.charges.get(txid)
    if charge is None:
        return _pay_page("Cobrança não encontrada", "<p>Não há cobrança com este txid.</p>", 404)
    summary = (
        f"<p>Valor: <strong>R$ {_money(charge.amount)}</strong><br>Situação: "
        f'<span id="status">{html.escape(charge.status)}</span></p>'
        f"<p>PIX copia e cola:<br><code>{html.escape(charge.br_code)}</code></p>"
    )
    if charge.status != "ATIVA":
        return _pay_page("Cobrança PIX", summary)
    return _pay_page(
        "Cobrança PIX", summary + '<form method="post"><button type="submit" id="pay">Pagar</button></form>'
    )


@pages.post("/pay/{txid}", response_class=HTMLResponse)
async def pay_from_page(txid: str, state: StateDep) -> HTMLResponse:
    charge = state.charges.get(txid)
    if charge is None:
        return _pay_page("Cobrança não encontrada", "<p>Não há cobrança com este txid.</p>", 404)
    try:
        payment = pay_charge(state, charge)
    except ProviderFailure as failure:
        return _pay_page("Pagamento não realizado", f'<p id="status">{html.escape(failure.message)}</p>', 409)
    return _pay_page(
        "Pagamento realizado",
        f'<p id="status">Pago. EndToEndId: <code id="e2e">{payment.end_to_end_id}</code></p>',
    )
