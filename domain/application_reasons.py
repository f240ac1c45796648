"""What a customer is told about why an application ended or waits: a stable code and a sentence.

The workflow records its reasons for operations staff (`status_reason`: policy codes, refusal
types, provider error text). None of that is for the customer: a provider's error text names
internals, and policy codes are not sentences. This maps each recorded reason to one of a few
stable codes the app can switch on, with a plain sentence in Portuguese.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CustomerReason(StrEnum):
    ONBOARDING_INCOMPLETE = "onboarding_incomplete"
    ANOTHER_APPLICATION_OPEN = "another_application_open"
    NOT_ELIGIBLE = "not_eligible"
    CREDIT_DECLINED = "credit_declined"
    OFFER_EXPIRED = "offer_expired"
    SIGNATURE_EXPIRED = "signature_expired"
    SIGNATURE_DECLINED = "signature_declined"
    CANCELLED_BY_CUSTOMER = "cancelled_by_customer"
    CANCELLED_BY_LENDER = "cancelled_by_lender"
    DISBURSEMENT_FAILED = "disbursement_failed"
    PROCESSING_FAILED = "processing_failed"
    IN_PROGRESS_DELAYED = "in_progress_delayed"


MESSAGES: dict[CustomerReason, str] = {
    CustomerReason.ONBOARDING_INCOMPLETE: "Conclua o seu cadastro antes de pedir um empréstimo.",
    CustomerReason.ANOTHER_APPLICATION_OPEN: "Você já tem um pedido em andamento; conclua-o ou cancele-o antes.",
    CustomerReason.NOT_ELIGIBLE: "Este pedido não atende às condições do produto (valor, prazo ou cadastro).",
    CustomerReason.CREDIT_DECLINED: "Não foi possível aprovar o crédito desta vez, de acordo com a nossa política.",
    CustomerReason.OFFER_EXPIRED: "A oferta expirou antes de ser aceita. Você pode fazer uma nova simulação.",
    CustomerReason.SIGNATURE_EXPIRED: "O prazo para assinar o contrato terminou. Você pode fazer um novo pedido.",
    CustomerReason.SIGNATURE_DECLINED: "O contrato foi recusado na assinatura, e o pedido foi encerrado.",
    CustomerReason.CANCELLED_BY_CUSTOMER: "Você cancelou este pedido.",
    CustomerReason.CANCELLED_BY_LENDER: "Este pedido foi cancelado pela nossa equipe.",
    CustomerReason.DISBURSEMENT_FAILED: "Não conseguimos enviar o dinheiro por PIX, e o contrato foi desfeito.",
    CustomerReason.PROCESSING_FAILED: "Não conseguimos concluir o seu pedido por um problema do nosso lado.",
    CustomerReason.IN_PROGRESS_DELAYED: "Uma etapa está demorando mais que o normal; nossa equipe já está cuidando disso.",
}

# The step details a customer may see: the ids of what was sent to them (the envelope to sign,
# the PIX's EndToEndId). Every other detail names policy codes, operators, reviewers' notes or
# provider errors, which are for ops.
CUSTOMER_STEP_DETAILS = frozenset({("contract", "sent"), ("disbursement", "requested"), ("disbursement", "settled")})

_EXACT = {
    "offer_expired": CustomerReason.OFFER_EXPIRED,
    "signature_expired": CustomerReason.SIGNATURE_EXPIRED,
    "signature_declined": CustomerReason.SIGNATURE_DECLINED,
    "customer_request": CustomerReason.CANCELLED_BY_CUSTOMER,
    "payout_failed": CustomerReason.DISBURSEMENT_FAILED,
    "payout_not_settled": CustomerReason.DISBURSEMENT_FAILED,
}
_ELIGIBILITY = {
    "customer_not_active",
    "another_application_open",
    "amount_outside_product_limits",
    "term_outside_product_limits",
}


@dataclass(frozen=True)
class ReasonForCustomer:
    code: CustomerReason
    message: str


def reason_for_customer(status: str, reason: str | None, failed_step: str | None) -> ReasonForCustomer | None:
    """The customer's reason for an application in ``status`` whose recorded reason is ``reason``."""
    if not reason:
        return None
    code = _code(status, reason, failed_step)
    return ReasonForCustomer(code, MESSAGES[code])


def _code(status: str, reason: str, failed_step: str | None) -> CustomerReason:
    if reason.startswith("paused:"):
        return CustomerReason.IN_PROGRESS_DELAYED
    if reason in _EXACT:
        return _EXACT[reason]
    if status == "declined":
        problems = set(reason.split(","))
        if problems <= _ELIGIBILITY:
            if "customer_not_active" in problems:
                return CustomerReason.ONBOARDING_INCOMPLETE
            if "another_application_open" in problems:
                return CustomerReason.ANOTHER_APPLICATION_OPEN
            return CustomerReason.NOT_ELIGIBLE
        return CustomerReason.CREDIT_DECLINED
    if status == "cancelled":
        return CustomerReason.CANCELLED_BY_LENDER
    if status == "expired":
        return CustomerReason.OFFER_EXPIRED if "offer" in reason else CustomerReason.SIGNATURE_EXPIRED
    if failed_step == "disbursement" or reason.startswith("disbursement_"):
        return CustomerReason.DISBURSEMENT_FAILED
    return CustomerReason.PROCESSING_FAILED


def step_detail_for_customer(step: str, outcome: str, detail: str | None) -> str | None:
    """A step's detail as the customer sees it: only the ids of what was sent to them."""
    return detail if (step, outcome) in CUSTOMER_STEP_DETAILS else None
