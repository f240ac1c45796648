"""IOF-Crédito: the effective-dated rate table, the tax of an installment loan, the financed gross-up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.credit.iof import (
    IOF_CREDIT_RATES,
    CustomerType,
    IofRates,
    IofRatesUnknown,
    gross_up_for_financed_iof,
    iof_on_loan,
    iof_rate_version_on,
)

PF, PJ = CustomerType.INDIVIDUAL, CustomerType.COMPANY


def rates_on(day: date, customer_type: CustomerType) -> IofRates:
    return iof_rate_version_on(day).rates_for(customer_type)


def test_todays_individual_rates_are_0_0082_percent_a_day_and_0_38_percent_flat() -> None:
    assert rates_on(date(2025, 7, 1), PF) == IofRates(daily=Decimal("0.000082"), flat=Decimal("0.0038"))


@pytest.mark.parametrize(
    ("release", "daily", "flat"),
    [
        (date(2025, 5, 31), "0.000041", "0.0038"),  # before Decreto 12.466/2025 took effect
        (date(2025, 6, 1), "0.000082", "0.0095"),  # Decreto 12.466/2025
        (date(2025, 6, 10), "0.000082", "0.0095"),
        (date(2025, 6, 11), "0.000082", "0.0038"),  # Decreto 12.499/2025, restored ex tunc by the STF
        (date(2025, 7, 1), "0.000082", "0.0038"),
    ],
)
def test_company_rates_follow_the_2025_decrees(release: date, daily: str, flat: str) -> None:
    assert rates_on(release, PJ) == IofRates(daily=Decimal(daily), flat=Decimal(flat))


@pytest.mark.parametrize(
    ("release", "individual_daily", "company_daily"),
    [
        (date(2015, 1, 21), "0.000041", "0.000041"),
        (date(2015, 1, 22), "0.000082", "0.000041"),  # Decreto 8.392/2015
        (date(2021, 9, 19), "0.000082", "0.000041"),
        (date(2021, 9, 20), "0.0001118", "0.0000559"),  # Decreto 10.797/2021, art. 7 § 22
        (date(2021, 12, 31), "0.0001118", "0.0000559"),
        (date(2022, 1, 1), "0.000082", "0.000041"),
    ],
)
def test_earlier_decrees_apply_to_loans_released_while_they_were_in_force(
    release: date, individual_daily: str, company_daily: str
) -> None:
    assert rates_on(release, PF).daily == Decimal(individual_daily)
    assert rates_on(release, PJ).daily == Decimal(company_daily)
    assert rates_on(release, PF).flat == rates_on(release, PJ).flat == Decimal("0.0038")


def test_a_release_before_the_table_starts_is_refused_rather_than_guessed() -> None:
    with pytest.raises(IofRatesUnknown):
        iof_rate_version_on(date(2012, 5, 22))


def test_the_rate_table_is_in_date_order_and_every_version_cites_its_legal_basis() -> None:
    starts = [version.effective_from for version in IOF_CREDIT_RATES]
    assert starts == sorted(set(starts))
    assert all("Decreto" in version.legal_basis for version in IOF_CREDIT_RATES)


def test_iof_is_daily_rate_times_days_times_each_amortization_plus_flat_rate_times_principal() -> None:
    # 0.000082 × (31 × 500 + 62 × 500) = 3.813 → 3.81; 0.0038 × 1,000 = 3.80.
    charge = iof_on_loan(
        date(2025, 7, 1),
        Decimal("1000.00"),
        [(date(2025, 8, 1), Decimal("500.00")), (date(2025, 9, 1), Decimal("500.00"))],
        rates_on(date(2025, 7, 1), PF),
    )

    assert (charge.daily, charge.flat, charge.total) == (Decimal("3.81"), Decimal("3.80"), Decimal("7.61"))


def test_days_beyond_365_are_not_taxed() -> None:
    rates = rates_on(date(2025, 7, 1), PF)
    one_year = iof_on_loan(date(2025, 7, 1), Decimal("1000.00"), [(date(2026, 7, 1), Decimal("1000.00"))], rates)
    two_years = iof_on_loan(date(2025, 7, 1), Decimal("1000.00"), [(date(2027, 7, 1), Decimal("1000.00"))], rates)

    assert one_year.daily == two_years.daily == Decimal("29.93")  # 1,000 × 0.000082 × 365


# Published example: "IOF financiado x IOF à vista", Departamento Financeiro (blog), March 2011,
# http://deptofinanceiro.blogspot.com/2011/03/iof-financiado-iof-vista-confira-o.html — R$20,000.00
# for 90 days, one payment, daily rate 0.0041% (no flat rate in the example): IOF upfront 73.80;
# financed, the loan becomes 20,074.07 with an IOF of 74.07, so 20,000.00 is released.
BLOG_RATES = IofRates(daily=Decimal("0.000041"), flat=Decimal("0"))
BLOG_RELEASE = date(2011, 3, 1)
BLOG_DUE = BLOG_RELEASE + timedelta(days=90)


def blog_iof(principal: Decimal) -> Decimal:
    return iof_on_loan(BLOG_RELEASE, principal, [(BLOG_DUE, principal)], BLOG_RATES).total


def test_published_example_upfront_iof_on_20000_for_90_days_is_73_80() -> None:
    assert blog_iof(Decimal("20000.00")) == Decimal("73.80")


def test_published_example_financed_iof_grosses_20000_up_to_20074_07() -> None:
    principal = gross_up_for_financed_iof(Decimal("20000.00"), blog_iof)

    assert principal == Decimal("20074.07")
    assert blog_iof(principal) == Decimal("74.07")
    assert principal - blog_iof(principal) == Decimal("20000.00")
