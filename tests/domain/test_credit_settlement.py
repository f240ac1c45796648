"""Early settlement with the proportional reduction of interest (CDC art. 52 § 2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.credit.money import to_centavo
from domain.credit.schedule import Amortization, Schedule, build_schedule
from domain.credit.settlement import settle_partially, settlement_on

RELEASE = date(2025, 7, 1)


def textbook_price() -> Schedule:
    return build_schedule(Amortization.PRICE, Decimal("10000.00"), Decimal("0.02"), RELEASE, date(2025, 8, 1), 12)


def test_settling_on_the_release_date_costs_exactly_the_principal() -> None:
    settlement = settlement_on(textbook_price(), RELEASE)

    assert settlement.amount == Decimal("10000.00")
    assert settlement.interest_reduction == Decimal("1347.15")  # all the interest of the schedule


def test_settling_on_a_due_date_after_paying_it_costs_the_balance_after_that_installment() -> None:
    schedule = textbook_price()

    for installment in schedule.installments:
        assert settlement_on(schedule, installment.due_date).amount == installment.balance


def test_settling_inside_a_period_adds_interest_pro_rata_die() -> None:
    # 15 of the 31 days of the first period: 10,000.00 × 1.02 ** (15/31).
    settlement = settlement_on(textbook_price(), date(2025, 7, 16))

    assert settlement.amount == Decimal("10096.28")
    assert len(settlement.remaining_installments) == 12


def test_the_settlement_is_the_present_value_of_the_remaining_installments_at_the_contract_rate() -> None:
    schedule = textbook_price()
    remaining = schedule.installments[3:]  # settle on the third due date, after paying it

    present_value = sum(i.payment / Decimal("1.02") ** k for k, i in enumerate(remaining, start=1))

    # Equal up to the centavos each installment's interest was rounded by.
    assert abs(settlement_on(schedule, schedule.installments[2].due_date).amount - present_value) <= Decimal("0.05")


def test_settling_during_grace_grows_the_principal_by_the_interest_accrued_so_far() -> None:
    schedule = build_schedule(
        Amortization.SAC, Decimal("10000.00"), Decimal("0.02"), date(2024, 1, 15), date(2024, 2, 15), 12, grace_months=3
    )

    assert settlement_on(schedule, date(2024, 2, 15)).amount == Decimal("10200.00")
    assert settlement_on(schedule, date(2024, 4, 15)).amount == Decimal("10612.08")
    assert settlement_on(schedule, date(2025, 4, 15)).amount == Decimal("0.00")


def test_a_partial_settlement_re_amortizes_the_rest_over_the_same_due_dates() -> None:
    schedule = textbook_price()

    partial = settle_partially(schedule, date(2025, 9, 1), Decimal("5000.00"))

    assert (partial.balance_before, partial.balance_after) == (Decimal("8493.89"), Decimal("3493.89"))
    assert [i.number for i in partial.installments] == list(range(3, 13))
    assert [i.due_date for i in partial.installments] == [i.due_date for i in schedule.installments[2:]]
    price_payment = to_centavo(Decimal("3493.89") * Decimal("0.02") / (1 - Decimal("1.02") ** -10))
    assert {i.payment for i in partial.installments[:-1]} == {price_payment}
    assert sum(i.amortization for i in partial.installments) == Decimal("3493.89")


def test_a_partial_settlement_between_due_dates_pays_only_the_remaining_days_of_interest() -> None:
    schedule = textbook_price()

    partial = settle_partially(schedule, date(2025, 7, 16), Decimal("5096.28"))

    assert partial.balance_after == Decimal("5000.00")
    # 16 days left of the 31-day first period: 5,000.00 × (1.02 ** (16/31) − 1) = 51.3656...
    assert partial.installments[0].interest == Decimal("51.37")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("10096.28"), Decimal("20000.00"), Decimal("10.001")])
def test_a_partial_settlement_must_be_positive_and_less_than_the_whole(amount: Decimal) -> None:
    with pytest.raises(ValueError):
        settle_partially(textbook_price(), date(2025, 7, 16), amount)


def test_a_loan_cannot_be_settled_before_its_release() -> None:
    with pytest.raises(ValueError):
        settlement_on(textbook_price(), date(2025, 6, 30))
