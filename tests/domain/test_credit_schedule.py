"""Price and SAC schedules: textbook cases, due dates, first period, grace, rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.credit.due_dates import add_months, monthly_due_dates
from domain.credit.money import to_centavo
from domain.credit.schedule import Amortization, Installment, build_schedule, first_period_growth

TEN_THOUSAND = Decimal("10000.00")
TWO_PERCENT = Decimal("0.02")


def textbook(amortization: Amortization, **overrides: object) -> tuple[Installment, ...]:
    """R$10,000.00 at 2% a month in 12 installments, the first one month after the release."""
    arguments: dict[str, object] = {
        "amortization": amortization,
        "principal": TEN_THOUSAND,
        "monthly_rate": TWO_PERCENT,
        "release_date": date(2025, 7, 1),
        "first_due_date": date(2025, 8, 1),
        "term_months": 12,
    }
    arguments.update(overrides)
    return build_schedule(**arguments).installments  # type: ignore[arg-type]


def test_textbook_price_installment_is_945_60_and_the_last_takes_the_residue() -> None:
    installments = textbook(Amortization.PRICE)

    assert [i.payment for i in installments[:-1]] == [Decimal("945.60")] * 11
    assert installments[-1].payment == Decimal("945.55")
    assert installments[0] == Installment(
        1, date(2025, 8, 1), Decimal("945.60"), Decimal("200.00"), Decimal("745.60"), Decimal("9254.40")
    )
    assert installments[-1].amortization == Decimal("927.01")
    assert sum(i.amortization for i in installments) == TEN_THOUSAND
    assert installments[-1].balance == Decimal("0.00")


def test_textbook_sac_first_installment_1033_33_last_850_00_total_interest_1300_00() -> None:
    installments = textbook(Amortization.SAC)

    assert installments[0].payment == Decimal("1033.33")
    assert installments[-1].payment == Decimal("850.00")
    assert sum(i.interest for i in installments) == Decimal("1300.00")
    assert sum(i.amortization for i in installments) == TEN_THOUSAND
    assert [i.payment for i in installments] == sorted((i.payment for i in installments), reverse=True)


def test_each_installment_pays_the_rounded_interest_of_the_balance_before_it() -> None:
    for amortization in Amortization:
        installments = textbook(amortization)
        balance = TEN_THOUSAND
        for installment in installments:
            assert installment.interest == to_centavo(balance * TWO_PERCENT)
            assert installment.payment == installment.interest + installment.amortization
            balance -= installment.amortization
            assert installment.balance == balance


def test_due_dates_fall_back_to_the_months_last_day_and_return_to_the_anchor_day() -> None:
    assert monthly_due_dates(date(2024, 1, 31), 4) == (
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    )
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


def test_a_first_period_of_exactly_one_calendar_month_is_one_monthly_period() -> None:
    assert first_period_growth(TWO_PERCENT, date(2025, 1, 31), date(2025, 2, 28)) == Decimal("1.02")
    assert first_period_growth(TWO_PERCENT, date(2025, 1, 15), date(2025, 2, 15)) == Decimal("1.02")


def test_a_longer_first_period_accrues_pro_rata_and_price_installments_stay_equal() -> None:
    # 45 days: (1.02) ** (45 / 30) − 1 = 3.0149...% of interest in the first installment.
    installments = textbook(Amortization.PRICE, release_date=date(2025, 1, 10), first_due_date=date(2025, 2, 24))

    assert installments[0].interest == Decimal("301.50")
    assert {i.payment for i in installments[:-1]} == {Decimal("955.01")}
    assert installments[-1].payment == Decimal("954.96")
    assert [i.due_date for i in installments[:3]] == [date(2025, 2, 24), date(2025, 3, 24), date(2025, 4, 24)]


def test_a_shorter_first_period_accrues_pro_rata() -> None:
    # 20 days: (1.02) ** (20 / 30) − 1.
    installments = textbook(Amortization.PRICE, release_date=date(2025, 1, 10), first_due_date=date(2025, 1, 30))

    assert installments[0].interest == Decimal("132.89")
    assert {i.payment for i in installments[:-1]} == {Decimal("939.37")}


def test_grace_capitalises_interest_until_one_month_before_the_first_installment() -> None:
    schedule = build_schedule(
        Amortization.PRICE, TEN_THOUSAND, TWO_PERCENT, date(2024, 1, 15), date(2024, 2, 15), 12, grace_months=3
    )

    # 15 Jan to 15 Apr capitalised: 10,000.00 × 1.02³ = 10,612.08; the first installment on 15 May.
    assert schedule.capitalized_interest == Decimal("612.08")
    assert schedule.installments[0].due_date == date(2024, 5, 15)
    assert schedule.installments[0].interest == Decimal("212.24")
    assert sum(i.amortization for i in schedule.installments) == Decimal("10612.08")
    assert schedule.total_interest == schedule.total_payment - TEN_THOUSAND


def test_sac_with_grace_amortizes_the_capitalised_balance_in_equal_parts() -> None:
    schedule = build_schedule(
        Amortization.SAC, Decimal("1200.00"), Decimal("0.01"), date(2025, 3, 10), date(2025, 4, 10), 3, grace_months=1
    )

    # One month capitalised: 1,212.00, repaid 404.00 a month from 10 May.
    assert schedule.capitalized_interest == Decimal("12.00")
    assert [i.amortization for i in schedule.installments] == [Decimal("404.00")] * 3
    assert [i.payment for i in schedule.installments] == [Decimal("416.12"), Decimal("412.08"), Decimal("408.04")]
    assert schedule.installments[0].due_date == date(2025, 5, 10)


def test_a_zero_rate_price_schedule_splits_the_principal_and_puts_the_residue_last() -> None:
    installments = textbook(Amortization.PRICE, principal=Decimal("100.00"), monthly_rate=Decimal("0"), term_months=3)

    assert [i.payment for i in installments] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert {i.interest for i in installments} == {Decimal("0.00")}


def test_price_payment_is_lowered_when_the_rounded_one_would_repay_before_the_last_installment() -> None:
    # The exact payment is 200.05507...; 200.06 compounds to an overpayment within 420 months at 2%.
    installments = textbook(Amortization.PRICE, principal=Decimal("10000.31"), term_months=420)

    assert {i.payment for i in installments[:-1]} == {Decimal("200.05")}
    assert installments[-1].payment == Decimal("1218.90")
    assert all(i.balance > 0 for i in installments[:-1])
    assert sum(i.amortization for i in installments) == Decimal("10000.31")


@pytest.mark.parametrize(
    ("principal", "term_months", "rate", "first_due"),
    [
        (Decimal("0"), 12, TWO_PERCENT, date(2025, 8, 1)),
        (Decimal("100.001"), 12, TWO_PERCENT, date(2025, 8, 1)),
        (TEN_THOUSAND, 0, TWO_PERCENT, date(2025, 8, 1)),
        (TEN_THOUSAND, 421, TWO_PERCENT, date(2025, 8, 1)),
        (TEN_THOUSAND, 12, Decimal("-0.01"), date(2025, 8, 1)),
        (TEN_THOUSAND, 12, TWO_PERCENT, date(2025, 7, 1)),
    ],
)
def test_build_schedule_refuses_impossible_terms(
    principal: Decimal, term_months: int, rate: Decimal, first_due: date
) -> None:
    with pytest.raises(ValueError):
        build_schedule(Amortization.PRICE, principal, rate, date(2025, 7, 1), first_due, term_months)
