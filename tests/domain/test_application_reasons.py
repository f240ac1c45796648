"""The customer's reason for an application: a stable code and a sentence, never an internal error."""

import pytest

from domain.application_reasons import (
    MESSAGES,
    CustomerReason,
    reason_for_customer,
    step_detail_for_customer,
)


@pytest.mark.parametrize(
    ("status", "reason", "failed_step", "code"),
    [
        (
            "declined",
            "amount_outside_product_limits,term_outside_product_limits",
            "eligibility",
            CustomerReason.NOT_ELIGIBLE,
        ),
        ("declined", "customer_not_active", "eligibility", CustomerReason.ONBOARDING_INCOMPLETE),
        (
            "declined",
            "another_application_open,amount_outside_product_limits",
            None,
            CustomerReason.ANOTHER_APPLICATION_OPEN,
        ),
        ("declined", "score_below_minimum", "credit_analysis", CustomerReason.CREDIT_DECLINED),
        ("declined", "affordability", "credit_analysis", CustomerReason.CREDIT_DECLINED),
        ("declined", "manual_review_rejected: renda não comprovada", None, CustomerReason.CREDIT_DECLINED),
        ("expired", "offer_expired", None, CustomerReason.OFFER_EXPIRED),
        ("expired", "signature_expired", None, CustomerReason.SIGNATURE_EXPIRED),
        ("cancelled", "signature_declined", None, CustomerReason.SIGNATURE_DECLINED),
        ("cancelled", "customer_request", None, CustomerReason.CANCELLED_BY_CUSTOMER),
        ("cancelled", "ops: suspeita de fraude", None, CustomerReason.CANCELLED_BY_LENDER),
        ("failed", "payout_failed", "disbursement", CustomerReason.DISBURSEMENT_FAILED),
        ("failed", "disbursement_refused:PixKeyNotFound", "disbursement", CustomerReason.DISBURSEMENT_FAILED),
        ("failed", "contract_failed", "contract", CustomerReason.PROCESSING_FAILED),
        (
            "signed",
            "paused: PixKeyNotFound: pix.create_payout (HTTP 422) pix_key_not_found",
            "disbursement",
            CustomerReason.IN_PROGRESS_DELAYED,
        ),
    ],
)
def test_each_recorded_reason_becomes_a_stable_code_with_its_sentence(
    status: str, reason: str, failed_step: str | None, code: CustomerReason
) -> None:
    told = reason_for_customer(status, reason, failed_step)
    assert told is not None
    assert told.code is code
    assert told.message == MESSAGES[code]
    # Nothing the workflow recorded for ops is repeated to the customer.
    assert reason not in told.message and "PixKeyNotFound" not in told.message


def test_no_reason_recorded_tells_nothing() -> None:
    assert reason_for_customer("analyzing", None, None) is None


def test_every_code_has_a_sentence() -> None:
    assert set(MESSAGES) == set(CustomerReason)
    assert all(message.endswith(".") for message in MESSAGES.values())


@pytest.mark.parametrize(
    ("step", "outcome", "detail", "shown"),
    [
        ("disbursement", "settled", "E12345678202612020430abcdefghijk", "E12345678202612020430abcdefghijk"),
        ("contract", "sent", "env_123", "env_123"),
        ("disbursement", "paused", "PixKeyNotFound: pix.create_payout (HTTP 422)", None),
        ("contract", "failed", "ProviderUnavailable: ecm.store_document (HTTP 503)", None),
        ("disbursement", "refused", "PixKeyNotFound", None),
        ("compensation", "void_envelope_failed", "EnvelopeNotVoidable", None),
        ("manual_review", "rejected", "ana.souza: renda não comprovada", None),
        ("cancellation", "requested", "by ops:ana.souza: suspeita de fraude", None),
        ("credit_analysis", "declined", "score_below_minimum", None),
    ],
)
def test_only_the_ids_of_what_was_sent_show_among_the_steps(
    step: str, outcome: str, detail: str, shown: str | None
) -> None:
    assert step_detail_for_customer(step, outcome, detail) == shown
