"""CET (Resolução CMN 4.881/2020) and the Central Bank's published worked examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.credit.cet import annual_to_monthly, cet_for_dates, solve_annual_rate
from domain.credit.money import as_percent, to_centavo
from domain.credit.schedule import Amortization, build_schedule


def monthly_flows(count: int, amount: Decimal) -> list[tuple[int, Decimal]]:
    """`count` payments of `amount` one, two, ... months after the release."""
    return [(month, amount) for month in range(1, count + 1)]


# Banco Central do Brasil, "FAQ - Custo Efetivo Total (CET)", question 3 "Como é calculado o CET?"
# (last updated April 2014; copy at https://trabalhosfeitos.com/ensaios/Financeira/53742575.html):
# R$1,000.00 financed at "12% ao ano ou 0,95% ao mês" in 5 monthly installments of R$205.73, with a
# R$50.00 tarifa de cadastro and R$10.00 of IOF paid upfront: FC0 = 940.00, FCj = 205.73,
# "CET = 43,93% ao ano ou 3,08% ao mês". The FAQ gives no dates: the payments are one to five months
# apart ("prestações pagas a períodos fixos").
def test_bcb_faq_example_cet_is_43_93_percent_a_year_and_3_08_percent_a_month() -> None:
    annual = solve_annual_rate(Decimal("940.00"), monthly_flows(5, Decimal("205.73")), periods_per_year=12)

    assert as_percent(annual) == Decimal("43.93")
    assert as_percent(annual_to_monthly(annual)) == Decimal("3.08")


def test_bcb_faq_installment_of_205_73_is_price_at_exactly_12_percent_a_year() -> None:
    # The FAQ's "0,95% ao mês" is 12% a year rounded; at 0.95% itself the installment is 205.74.
    exact_monthly = Decimal("1.12") ** (Decimal(1) / 12) - 1
    at_12_percent = build_schedule(
        Amortization.PRICE, Decimal("1000.00"), exact_monthly, date(2014, 4, 1), date(2014, 5, 1), 5
    )
    at_rounded_rate = build_schedule(
        Amortization.PRICE, Decimal("1000.00"), Decimal("0.0095"), date(2014, 4, 1), date(2014, 5, 1), 5
    )

    assert {i.payment for i in at_12_percent.installments} == {Decimal("205.73")}
    assert at_rounded_rate.installments[0].payment == Decimal("205.74")


# Banco Central do Brasil, Calculadora do Cidadão, "Financiamento com prestações fixas"
# [CALFW0401], printed 20/05/2022 (https://pt.scribd.com/document/654722300/BCB-Calculadora-do-cidadao):
# 42 months at 0.629890% a month on R$25,000.00 → installment R$679.30, "O total desse financiamento
# de 42,00 parcelas de 679,30 reais é 28.530,60 reais, sendo 3.530,60 de juros".
def test_bcb_calculator_42_installments_at_0_629890_percent_on_25000_is_679_30() -> None:
    schedule = build_schedule(
        Amortization.PRICE, Decimal("25000.00"), Decimal("0.0062989"), date(2022, 5, 20), date(2022, 6, 20), 42
    )

    assert {i.payment for i in schedule.installments[:-1]} == {Decimal("679.30")}
    # The calculator multiplies 42 × 679.30; the kernel puts the 0.20 the rounding leaves in the last.
    assert schedule.installments[-1].payment == Decimal("679.50")
    assert schedule.total_payment == Decimal("28530.80")


# Banco Central do Brasil, Calculadora do Cidadão, same page, printed 21/07/2019
# (https://epage.pub/doc/bcb-calculadora-do-cidadao-35622qnrew): 12 installments of R$355.80 on
# R$1,320.75 financed → "Taxa de juros mensal 25,106880 %"; total 4,269.60, of which 2,948.85 interest.
def test_bcb_calculator_rate_of_12_installments_of_355_80_on_1320_75() -> None:
    monthly = annual_to_monthly(solve_annual_rate(Decimal("1320.75"), monthly_flows(12, Decimal("355.80")), 12))

    # The kernel solves to 25.1068778...%, which agrees with the published 25.106880% to five decimals.
    assert (monthly * 100).quantize(Decimal("0.00001")) == Decimal("25.10688")
    published = Decimal("0.25106880")
    present_value = sum(Decimal("355.80") / (1 + published) ** month for month in range(1, 13))
    assert to_centavo(present_value) == Decimal("1320.75")


def test_cet_of_a_loan_without_costs_is_its_contract_rate() -> None:
    rate = Decimal("0.02")
    exact_payment = Decimal("10000") * rate / (1 - (1 + rate) ** -12)

    annual = solve_annual_rate(Decimal("10000"), monthly_flows(12, exact_payment), periods_per_year=12)

    assert abs(annual_to_monthly(annual) - rate) < Decimal("1e-24")


def test_cet_counts_actual_calendar_days_over_365() -> None:
    one_year = cet_for_dates(date(2025, 7, 1), Decimal("1000.00"), [(date(2026, 7, 1), Decimal("1100.00"))])
    leap_year = cet_for_dates(date(2023, 7, 1), Decimal("1000.00"), [(date(2024, 7, 1), Decimal("1100.00"))])

    assert abs(one_year.annual - Decimal("0.1")) < Decimal("1e-25")
    # 366 days: 1.1 ** (365 / 366) − 1.
    assert abs(leap_year.annual - (Decimal("1.1") ** (Decimal(365) / 366) - 1)) < Decimal("1e-25")
    assert (one_year.annual_percent, one_year.monthly_percent) == (Decimal("10.00"), Decimal("0.80"))


@pytest.mark.parametrize(
    ("received", "flows"),
    [
        (Decimal("0"), [(30, Decimal("100"))]),
        (Decimal("100"), []),
        (Decimal("100"), [(30, Decimal("-5"))]),
        (Decimal("100"), [(0, Decimal("100"))]),
    ],
)
def test_cet_solver_refuses_flows_without_a_meaningful_rate(
    received: Decimal, flows: list[tuple[int, Decimal]]
) -> None:
    with pytest.raises(ValueError):
        solve_annual_rate(received, flows)
