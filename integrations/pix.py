"""PIX payment provider: payouts, charges (cob) and refunds (devolução).

Payouts are the provider's own API (there is no BCB standard for sending)::

    POST {base}/v1/payouts                 Idempotency-Key header (required); body
         {"amount": "1500.00", "destination": {"type": "pix_key", "pix_key": "…"}
                                            | {"type": "bank_account", "ispb", "branch",
                                               "account_number", "account_type",
                                               "holder_document", "holder_name"},
          "external_reference": "loan-…", "description": "…"}
         → 201 payout; 200 with ``Idempotent-Replayed: true`` when the key was seen with the same
           body; 409 idempotency_key_reused when seen with another; 422 pix_key_not_found,
           insufficient_funds, invalid_account
    GET  {base}/v1/payouts/{end_to_end_id} → 200 payout; 404

A payout: ``{"end_to_end_id", "idempotency_key", "external_reference", "amount", "destination",
"status": "processing|settled|failed", "created_at", "settled_at", "failure_reason"}``. It settles
asynchronously and the provider sends ``payout.settled`` or ``payout.failed`` with the payout as
``data``.

Charges and refunds follow the BCB's PIX API (Portuguese field names, problem+json errors)::

    PUT   {base}/v2/cob/{txid}   {"calendario": {"expiracao": 86400}, "devedor": {"cpf", "nome"},
                                  "valor": {"original": "123.45"}, "chave": "…",
                                  "solicitacaoPagador": "…"} → 201 cob (200 on an identical replay)
    GET   {base}/v2/cob/{txid}   → 200 cob
    PATCH {base}/v2/cob/{txid}   {"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"} → 200 cob
    PUT   {base}/v2/pix/{e2eid}/devolucao/{id}  {"valor": "10.00", "descricao": "…"} → 201 devolução
    GET   {base}/v2/pix/{e2eid}/devolucao/{id}  → 200 devolução

A paid charge makes the provider send ``charge.paid``; a refund ends in ``refund.settled`` or
``refund.failed``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from integrations.errors import (
    ChargeNotCancellable,
    ChargeNotFound,
    IdempotencyConflict,
    PayoutNotFound,
    PayoutRefused,
    PixKeyNotFound,
    RefundNotFound,
    RefundRefused,
)
from integrations.http import RefusalMap, WireMoney, money_to_wire, parse_body, path_segment, send_request
from integrations.pix_codes import (
    end_to_end_id_for,
    is_valid_br_code,
    is_valid_end_to_end_id,
    is_valid_return_id,
    is_valid_txid,
)

PROVIDER = "pix"
_REFUND_ID = re.compile(r"^[a-zA-Z0-9]{1,35}$")


def _end_to_end_id(value: str) -> str:
    if not is_valid_end_to_end_id(value):
        raise ValueError("not an EndToEndId")
    return value


EndToEndId = Annotated[str, AfterValidator(_end_to_end_id)]


# Payouts


class PixKeyDestination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["pix_key"] = "pix_key"
    pix_key: str = Field(min_length=1, max_length=77)


class BankAccountDestination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bank_account"] = "bank_account"
    ispb: str = Field(pattern=r"^[0-9]{8}$")
    branch: str = Field(pattern=r"^[0-9]{1,4}$")
    account_number: str = Field(pattern=r"^[0-9]{1,20}$")
    account_type: Literal["checking", "savings", "payment"]
    holder_document: str = Field(pattern=r"^[0-9]{11}$|^[0-9]{14}$")
    holder_name: str = Field(min_length=1)


PayoutDestination = Annotated[PixKeyDestination | BankAccountDestination, Field(discriminator="type")]


class PayoutStatus(StrEnum):
    PROCESSING = "processing"
    SETTLED = "settled"
    FAILED = "failed"


class Payout(BaseModel):
    """A PIX sent by the lender; also the ``data`` of ``payout.settled``/``payout.failed``."""

    model_config = ConfigDict(frozen=True)

    end_to_end_id: EndToEndId
    idempotency_key: str
    external_reference: str | None = None
    amount: WireMoney
    destination: PayoutDestination
    status: PayoutStatus
    created_at: datetime
    settled_at: datetime | None = None
    failure_reason: str | None = None


# Charges (cob)


class ChargeStatus(StrEnum):
    ACTIVE = "active"
    PAID = "paid"
    REMOVED_BY_RECEIVER = "removed_by_receiver"
    REMOVED_BY_PSP = "removed_by_psp"


CHARGE_STATUS_BY_WIRE = {
    "ATIVA": ChargeStatus.ACTIVE,
    "CONCLUIDA": ChargeStatus.PAID,
    "REMOVIDA_PELO_USUARIO_RECEBEDOR": ChargeStatus.REMOVED_BY_RECEIVER,
    "REMOVIDA_PELO_PSP": ChargeStatus.REMOVED_BY_PSP,
}


class ReceivedPix(BaseModel):
    """A payment received on a charge."""

    model_config = ConfigDict(frozen=True)

    end_to_end_id: EndToEndId
    amount: WireMoney
    paid_at: datetime
    payer_note: str | None = None


class PixCharge(BaseModel):
    model_config = ConfigDict(frozen=True)

    txid: str
    revision: int
    status: ChargeStatus
    amount: WireMoney
    receiver_pix_key: str
    debtor_name: str | None
    created_at: datetime
    expires_in_seconds: int
    br_code: str  # "PIX copia e cola"
    location: str | None
    payment_url: str | None  # simulator only: a page where a person pays the charge
    payments: list[ReceivedPix]


class _Calendario(BaseModel):
    criacao: datetime
    expiracao: int = Field(gt=0)


class _Devedor(BaseModel):
    nome: str | None = None
    cpf: str | None = None
    cnpj: str | None = None


class _Valor(BaseModel):
    original: WireMoney


class _PixRecebido(BaseModel):
    end_to_end_id: EndToEndId = Field(alias="endToEndId")
    valor: WireMoney
    horario: datetime
    info_pagador: str | None = Field(default=None, alias="infoPagador")


class _Cob(BaseModel):
    txid: str
    revisao: int = 0
    calendario: _Calendario
    status: str
    devedor: _Devedor | None = None
    valor: _Valor
    chave: str
    location: str | None = None
    pix_copia_e_cola: str = Field(alias="pixCopiaECola")
    url_pagamento: str | None = Field(default=None, alias="urlPagamento")
    pix: list[_PixRecebido] = Field(default_factory=list)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in CHARGE_STATUS_BY_WIRE:
            raise ValueError("unknown charge status")
        return value

    @field_validator("txid")
    @classmethod
    def _txid(cls, value: str) -> str:
        if not is_valid_txid(value):
            raise ValueError("not a txid")
        return value

    @field_validator("pix_copia_e_cola")
    @classmethod
    def _br_code(cls, value: str) -> str:
        if not is_valid_br_code(value):
            raise ValueError("not a valid BR Code")
        return value

    def to_charge(self) -> PixCharge:
        return PixCharge(
            txid=self.txid,
            revision=self.revisao,
            status=CHARGE_STATUS_BY_WIRE[self.status],
            amount=self.valor.original,
            receiver_pix_key=self.chave,
            debtor_name=self.devedor.nome if self.devedor else None,
            created_at=self.calendario.criacao,
            expires_in_seconds=self.calendario.expiracao,
            br_code=self.pix_copia_e_cola,
            location=self.location,
            payment_url=self.url_pagamento,
            payments=[
                ReceivedPix(end_to_end_id=p.end_to_end_id, amount=p.valor, paid_at=p.horario, payer_note=p.info_pagador)
                for p in self.pix
            ],
        )


class ChargePaidEvent(BaseModel):
    """The ``data`` of ``charge.paid``."""

    txid: str
    end_to_end_id: EndToEndId
    amount: WireMoney
    paid_at: datetime
    payer_name: str | None = None


# Refunds (devolução)


class RefundStatus(StrEnum):
    PROCESSING = "processing"
    RETURNED = "returned"
    FAILED = "failed"


REFUND_STATUS_BY_WIRE = {
    "EM_PROCESSAMENTO": RefundStatus.PROCESSING,
    "DEVOLVIDO": RefundStatus.RETURNED,
    "NAO_REALIZADO": RefundStatus.FAILED,
}


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)

    refund_id: str
    return_id: str  # rtrId
    end_to_end_id: str  # of the payment being returned
    amount: WireMoney
    status: RefundStatus
    requested_at: datetime
    settled_at: datetime | None
    failure_reason: str | None


class _Horario(BaseModel):
    solicitacao: datetime
    liquidacao: datetime | None = None


class _Devolucao(BaseModel):
    id: str
    rtr_id: str = Field(alias="rtrId")
    valor: WireMoney
    horario: _Horario
    status: str
    motivo: str | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in REFUND_STATUS_BY_WIRE:
            raise ValueError("unknown refund status")
        return value

    @field_validator("rtr_id")
    @classmethod
    def _rtr_id(cls, value: str) -> str:
        if not is_valid_return_id(value):
            raise ValueError("not a return id")
        return value

    def to_refund(self, end_to_end_id: str) -> Refund:
        return Refund(
            refund_id=self.id,
            return_id=self.rtr_id,
            end_to_end_id=end_to_end_id,
            amount=self.valor,
            status=REFUND_STATUS_BY_WIRE[self.status],
            requested_at=self.horario.solicitacao,
            settled_at=self.horario.liquidacao,
            failure_reason=self.motivo,
        )


class RefundEvent(BaseModel):
    """The ``data`` of ``refund.settled``/``refund.failed``."""

    refund_id: str
    return_id: str
    end_to_end_id: str
    amount: WireMoney
    status: RefundStatus
    settled_at: datetime | None = None
    failure_reason: str | None = None


_PAYOUT_REFUSALS: RefusalMap = {
    "pix_key_not_found": PixKeyNotFound,
    "idempotency_key_reused": IdempotencyConflict,
    404: PayoutNotFound,
    422: PayoutRefused,
}
_CREATE_CHARGE_REFUSALS: RefusalMap = {"CobOperacaoInvalida": IdempotencyConflict}
_CHARGE_REFUSALS: RefusalMap = {"CobNaoEncontrado": ChargeNotFound, 404: ChargeNotFound}
_CANCEL_CHARGE_REFUSALS: RefusalMap = {**_CHARGE_REFUSALS, "CobOperacaoInvalida": ChargeNotCancellable}
_REFUND_REFUSALS: RefusalMap = {
    "DevolucaoNaoEncontrada": RefundNotFound,
    "PixNaoEncontrado": RefundRefused,
    "DevolucaoOperacaoInvalida": RefundRefused,
}


class PixClient:
    def __init__(self, http: httpx.AsyncClient, *, receiver_pix_key: str, psp_ispb: str = "12345678") -> None:
        self._http = http
        self._receiver_pix_key = receiver_pix_key
        self._psp_ispb = psp_ispb

    def payout_end_to_end_id(self, requested_at: datetime, idempotency_key: str) -> str:
        """The EndToEndId the payout under ``idempotency_key``, first requested at ``requested_at``,
        is sent with: stable across retries, so it can be asked for after a lost answer."""
        return end_to_end_id_for(self._psp_ispb, requested_at, idempotency_key)

    # Payouts

    async def create_payout(
        self,
        *,
        amount: Decimal,
        destination: PixKeyDestination | BankAccountDestination,
        idempotency_key: str,
        external_reference: str,
        description: str | None = None,
        end_to_end_id: str | None = None,
    ) -> Payout:
        """Send ``amount`` to ``destination``. The same ``idempotency_key`` never pays twice at a PSP
        that replays by key: a retry returns the first payout. ``end_to_end_id``, when the payer
        names it (:func:`integrations.pix_codes.end_to_end_id_for`), lets :meth:`pay_once` find the
        payout again at a PSP that does not replay."""
        operation = "create_payout"
        if amount <= 0:
            raise ValueError("a payout amount is positive")
        if not idempotency_key:
            raise ValueError("a payout needs an idempotency key")
        body: dict[str, object] = {
            "amount": money_to_wire(amount),
            "destination": destination.model_dump(),
            "external_reference": external_reference,
        }
        if end_to_end_id is not None:
            body["end_to_end_id"] = end_to_end_id
        if description:
            body["description"] = description
        response = await send_request(
            self._http,
            "POST",
            "v1/payouts",
            provider=PROVIDER,
            operation=operation,
            refusals=_PAYOUT_REFUSALS,
            headers={"Idempotency-Key": idempotency_key},
            json=body,
        )
        return parse_body(Payout, response, provider=PROVIDER, operation=operation)

    async def pay_once(
        self,
        *,
        amount: Decimal,
        destination: PixKeyDestination | BankAccountDestination,
        idempotency_key: str,
        external_reference: str,
        end_to_end_id: str,
        description: str | None = None,
        ask_first: bool = True,
    ) -> Payout:
        """Send a payout whose earlier request may have reached the PSP (its answer was lost):
        with ``ask_first``, ask for it by its EndToEndId first, and send it only when the PSP says it
        does not exist.

        Safe against a PSP that does not replay by idempotency key: a payout it took is found, never
        sent again; a key it refuses as reused means a request of ours got there before, so the
        payout is asked for instead."""
        if ask_first:
            try:
                return await self.get_payout(end_to_end_id)
            except PayoutNotFound:
                pass
        try:
            return await self.create_payout(
                amount=amount,
                destination=destination,
                idempotency_key=idempotency_key,
                external_reference=external_reference,
                description=description,
                end_to_end_id=end_to_end_id,
            )
        except IdempotencyConflict:
            return await self.get_payout(end_to_end_id)

    async def get_payout(self, end_to_end_id: str) -> Payout:
        operation = "get_payout"
        response = await send_request(
            self._http,
            "GET",
            f"v1/payouts/{path_segment(end_to_end_id)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_PAYOUT_REFUSALS,
        )
        return parse_body(Payout, response, provider=PROVIDER, operation=operation)

    # Charges

    async def create_charge(
        self,
        *,
        txid: str,
        amount: Decimal,
        debtor_cpf: str,
        debtor_name: str,
        expires_in_seconds: int = 86400,
        payer_request: str | None = None,
    ) -> PixCharge:
        """Create the charge ``txid`` (see :func:`integrations.pix_codes.txid_for`). Creating it
        again with the same terms returns it; with other terms raises :class:`IdempotencyConflict`."""
        operation = "create_charge"
        if not is_valid_txid(txid):
            raise ValueError("a txid is 26 to 35 alphanumerics")
        if amount <= 0:
            raise ValueError("a charge amount is positive")
        body: dict[str, object] = {
            "calendario": {"expiracao": expires_in_seconds},
            "devedor": {"cpf": debtor_cpf, "nome": debtor_name},
            "valor": {"original": money_to_wire(amount)},
            "chave": self._receiver_pix_key,
        }
        if payer_request:
            body["solicitacaoPagador"] = payer_request
        response = await send_request(
            self._http,
            "PUT",
            f"v2/cob/{path_segment(txid)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_CREATE_CHARGE_REFUSALS,
            json=body,
        )
        return parse_body(_Cob, response, provider=PROVIDER, operation=operation).to_charge()

    async def get_charge(self, txid: str) -> PixCharge:
        operation = "get_charge"
        response = await send_request(
            self._http,
            "GET",
            f"v2/cob/{path_segment(txid)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_CHARGE_REFUSALS,
        )
        return parse_body(_Cob, response, provider=PROVIDER, operation=operation).to_charge()

    async def cancel_charge(self, txid: str) -> PixCharge:
        """Remove an unpaid charge; removing it again is harmless. Raises
        :class:`ChargeNotCancellable` when it is already paid."""
        operation = "cancel_charge"
        response = await send_request(
            self._http,
            "PATCH",
            f"v2/cob/{path_segment(txid)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_CANCEL_CHARGE_REFUSALS,
            json={"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"},
        )
        return parse_body(_Cob, response, provider=PROVIDER, operation=operation).to_charge()

    # Refunds

    async def refund(
        self,
        *,
        end_to_end_id: str,
        refund_id: str,
        amount: Decimal,
        reason: str | None = None,
    ) -> Refund:
        """Return ``amount`` of the received PIX ``end_to_end_id``. ``refund_id`` (1 to 35
        alphanumerics) is the idempotency key: asking again returns the same refund."""
        operation = "refund"
        if not is_valid_end_to_end_id(end_to_end_id):
            raise ValueError("not an EndToEndId")
        if not _REFUND_ID.match(refund_id):
            raise ValueError("a refund id is 1 to 35 alphanumerics")
        if amount <= 0:
            raise ValueError("a refund amount is positive")
        body: dict[str, object] = {"valor": money_to_wire(amount)}
        if reason:
            body["descricao"] = reason
        response = await send_request(
            self._http,
            "PUT",
            f"v2/pix/{path_segment(end_to_end_id)}/devolucao/{path_segment(refund_id)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUND_REFUSALS,
            json=body,
        )
        return parse_body(_Devolucao, response, provider=PROVIDER, operation=operation).to_refund(end_to_end_id)

    async def get_refund(self, end_to_end_id: str, refund_id: str) -> Refund:
        operation = "get_refund"
        response = await send_request(
            self._http,
            "GET",
            f"v2/pix/{path_segment(end_to_end_id)}/devolucao/{path_segment(refund_id)}",
            provider=PROVIDER,
            operation=operation,
            refusals={**_REFUND_REFUSALS, 404: RefundNotFound},
        )
        return parse_body(_Devolucao, response, provider=PROVIDER, operation=operation).to_refund(end_to_end_id)
