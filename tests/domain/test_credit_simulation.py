"""`simulate`: the schedule, IOF, fees, amounts and CET every channel shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from domain.credit import (
    Amortization,
    CustomerType,
    Fee,
    InvalidLoanTerms,
    LoanTerms,
    OfferLimits,
    problems_with_limits,
    simulate,
)
from domain.credit.simulation import principal_repayments

TEXTBOOK = LoanTerms(
    amount=Decimal("10000.00"),
    term_months=12,
    monthly_rate=Decimal("0.02"),
    amortization=Amortization.PRICE,
    release_date=date(2025, 7, 1),
    first_due_date=date(2025, 8, 1),
)


def test_textbook_price_with_upfront_iof_withholds_the_iof_from_the_amount_released() -> None:
    simulation = simulate(TEXTBOOK)

    assert simulation.installments[0].payment == Decimal("945.60")
    assert (simulation.iof.daily, simulation.iof.flat, simulation.iof.total) == (
        Decimal("168.56"),
        Decimal("38.00"),
        Decimal("206.56"),
    )
    assert simulation.amount_financed == Decimal("10000.00")
    assert simulation.amount_released == Decimal("9793.44")
    assert simulation.total_payable == Decimal("11347.15")
    assert simulation.total_interest == Decimal("1347.15")
    assert (simulation.cet.monthly_percent, simulation.cet.annual_percent) == (Decimal("2.33"), Decimal("31.87"))
    assert simulation.assumptions.iof_table_version == "RIOF art. 7 - Decreto 12.499/2025"


def test_textbook_sac_simulation_keeps_the_textbook_installments() -> None:
    simulation = simulate(replace(TEXTBOOK, amortization=Amortization.SAC))

    assert simulation.installments[0].payment == Decimal("1033.33")
    assert simulation.installments[-1].payment == Decimal("850.00")
    assert simulation.total_interest == Decimal("1300.00")
    assert simulation.iof.total == Decimal("200.70")


def test_fees_are_withheld_and_raise_the_cet() -> None:
    without = simulate(TEXTBOOK)
    with_fee = simulate(replace(TEXTBOOK, fees=(Fee("tarifa de cadastro", Decimal("150.00")),)))

    assert with_fee.fees_total == Decimal("150.00")
    assert with_fee.amount_released == without.amount_released - Decimal("150.00")
    assert with_fee.installments == without.installments
    assert with_fee.cet.annual > without.cet.annual


def test_financed_iof_is_grossed_up_so_the_customer_receives_the_amount_asked() -> None:
    simulation = simulate(replace(TEXTBOOK, finance_iof=True, fees=(Fee("cadastro", Decimal("150.00")),)))

    assert simulation.amount_financed == Decimal("10210.92")
    assert simulation.iof.total == Decimal("210.92")
    assert simulation.amount_financed - simulation.iof.total == Decimal("10000.00")
    assert simulation.amount_released == Decimal("9850.00")
    assert simulation.installments[0].payment == Decimal("965.54")


def test_a_company_pays_the_company_rates_in_force_on_the_release_date() -> None:
    # Released on 5 June 2025: Decreto 12.466/2025, PJ additional rate 0.95%.
    simulation = simulate(
        replace(
            TEXTBOOK,
            customer_type=CustomerType.COMPANY,
            release_date=date(2025, 6, 5),
            first_due_date=date(2025, 7, 5),
        )
    )

    assert simulation.iof.flat == Decimal("95.00")
    assert simulation.assumptions.iof_table_version == "RIOF art. 7 - Decreto 12.466/2025"


def test_iof_with_grace_is_charged_on_the_principal_not_on_the_capitalised_interest() -> None:
    simulation = simulate(replace(TEXTBOOK, grace_months=3))

    repayments = principal_repayments(simulation.schedule)
    assert sum(amount for _, amount in repayments) == Decimal("10000.00")
    assert simulation.iof.flat == Decimal("38.00")
    assert simulation.schedule.capitalized_interest == Decimal("612.08")


def test_terms_that_break_the_kernels_rules_name_every_bad_field() -> None:
    bad = replace(
        TEXTBOOK,
        amount=Decimal("-1"),
        term_months=421,
        monthly_rate=Decimal("-0.01"),
        first_due_date=date(2025, 9, 1),
        grace_months=-1,
        fees=(Fee("cadastro", Decimal("1.001")),),
    )

    with pytest.raises(InvalidLoanTerms) as raised:
        simulate(bad)

    assert {problem.field for problem in raised.value.problems} == {
        "amount",
        "term_months",
        "monthly_rate",
        "first_due_date",
        "grace_months",
        "fees.0.amount",
    }


def test_fees_that_leave_nothing_to_release_are_refused() -> None:
    with pytest.raises(InvalidLoanTerms) as raised:
        simulate(replace(TEXTBOOK, fees=(Fee("cadastro", Decimal("9900.00")),)))

    assert [problem.field for problem in raised.value.problems] == ["fees"]


def test_a_release_date_without_known_iof_rates_is_refused() -> None:
    with pytest.raises(InvalidLoanTerms) as raised:
        simulate(replace(TEXTBOOK, release_date=date(2010, 1, 4), first_due_date=date(2010, 2, 4)))

    assert [problem.field for problem in raised.value.problems] == ["release_date"]


def test_the_lenders_limits_are_checked_separately_from_the_kernels_rules() -> None:
    limits = OfferLimits(
        max_monthly_rate=Decimal("0.015"),
        min_amount=Decimal("500.00"),
        max_amount=Decimal("5000.00"),
        min_term_months=3,
        max_term_months=24,
        max_grace_months=0,
    )

    problems = problems_with_limits(replace(TEXTBOOK, term_months=36, grace_months=1), limits)

    assert {problem.field for problem in problems} == {"amount", "term_months", "monthly_rate", "grace_months"}
    within = replace(TEXTBOOK, amount=Decimal("1000.00"), monthly_rate=Decimal("0.01"))
    assert problems_with_limits(within, limits) == []
