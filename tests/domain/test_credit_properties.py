"""Invariants of the credit kernel over generated loans (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.credit import (
    Amortization,
    CustomerType,
    Fee,
    LoanSimulation,
    LoanTerms,
    simulate,
)
from domain.credit.due_dates import add_months
from domain.credit.schedule import first_period_growth
from domain.credit.settlement import settlement_on

CENTAVO = Decimal("0.01")
PROPERTIES = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def loan_terms(
    draw: st.DrawFn, *, amortization: Amortization | None = None, regular_first_period: bool = False
) -> LoanTerms:
    amount = Decimal(draw(st.integers(min_value=100_00, max_value=1_000_000_00))) / 100
    term_months = draw(st.integers(min_value=1, max_value=420))
    release = draw(st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31)))
    first_due = (
        add_months(release, 1)
        if regular_first_period
        else release + timedelta(days=draw(st.integers(min_value=1, max_value=60)))
    )
    fee_total = Decimal(draw(st.integers(min_value=0, max_value=int(amount * 10)))) / 100  # up to 10%
    return LoanTerms(
        amount=amount,
        term_months=term_months,
        monthly_rate=Decimal(draw(st.integers(min_value=0, max_value=2000))) / 10_000,  # 0% to 20% a month
        amortization=amortization or draw(st.sampled_from(Amortization)),
        release_date=release,
        first_due_date=first_due,
        customer_type=draw(st.sampled_from(CustomerType)),
        finance_iof=draw(st.booleans()),
        grace_months=draw(st.integers(min_value=0, max_value=min(12, 420 - term_months))),
        fees=(Fee("tarifa", fee_total),) if fee_total else (),
    )


@PROPERTIES
@given(loan_terms())
def test_amortizations_add_up_exactly_to_the_balance_and_it_ends_at_zero(terms: LoanTerms) -> None:
    simulation = simulate(terms)
    schedule = simulation.schedule

    assert sum(i.amortization for i in schedule.installments) == schedule.principal + schedule.capitalized_interest
    assert schedule.installments[-1].balance == 0
    if terms.grace_months == 0:
        assert schedule.capitalized_interest == 0
        assert sum(i.amortization for i in schedule.installments) == simulation.amount_financed
    assert len(schedule.installments) == terms.term_months


@PROPERTIES
@given(loan_terms())
def test_every_payment_is_positive_and_is_interest_plus_amortization(terms: LoanTerms) -> None:
    for installment in simulate(terms).installments:
        assert installment.payment > 0
        assert installment.payment == installment.interest + installment.amortization
        assert installment.payment == installment.payment.quantize(CENTAVO)


@PROPERTIES
@given(loan_terms(amortization=Amortization.SAC, regular_first_period=True))
def test_sac_payments_never_increase_when_interest_falls_by_at_least_two_centavos_a_period(terms: LoanTerms) -> None:
    simulation = simulate(terms)
    payments = [i.payment for i in simulation.installments]
    interest_drop = terms.monthly_rate * simulation.schedule.opening_balance / terms.term_months

    if interest_drop >= 2 * CENTAVO:
        assert all(later <= earlier for earlier, later in pairwise(payments))
    else:
        # At (near) zero rates the centavo of amortization rounding is not outweighed by interest.
        assert all(later <= earlier + CENTAVO for earlier, later in pairwise(payments))


@PROPERTIES
@given(loan_terms(amortization=Amortization.PRICE))
def test_price_payments_are_equal_except_the_last_which_differs_by_the_residue(terms: LoanTerms) -> None:
    simulation = simulate(terms)
    installments = simulation.installments
    regular = installments[0].payment

    assert {i.payment for i in installments[:-1]} <= {regular}
    # The residue is the rounding of the payment (under a centavo, or the centavos it was lowered by
    # to avoid repaying early) and of each interest (half a centavo) compounded at the contract rate.
    growth = max(
        1 + terms.monthly_rate, first_period_growth(terms.monthly_rate, terms.release_date, terms.first_due_date)
    )
    lowered = max(Decimal(0), simulation.schedule.opening_balance / _annuity(terms, simulation) - regular)
    compounded = sum(growth**k for k in range(len(installments)))
    bound = (CENTAVO + lowered + CENTAVO / 2) * compounded
    assert abs(installments[-1].payment - regular) <= bound


@PROPERTIES
@given(loan_terms())
def test_cet_is_at_least_the_contract_rate_because_iof_is_always_a_cost(terms: LoanTerms) -> None:
    simulation = simulate(terms)

    assert simulation.iof.total > 0
    assert simulation.cet.monthly >= terms.monthly_rate
    assert simulation.cet.monthly_percent >= (terms.monthly_rate * 100).quantize(CENTAVO)


@PROPERTIES
@given(loan_terms())
def test_early_settlement_on_the_release_date_equals_the_principal(terms: LoanTerms) -> None:
    simulation = simulate(terms)

    assert settlement_on(simulation.schedule, terms.release_date).amount == simulation.amount_financed


@PROPERTIES
@given(loan_terms())
def test_the_amounts_reconcile(terms: LoanTerms) -> None:
    simulation = simulate(terms)

    assert simulation.total_payable == sum(i.payment for i in simulation.installments)
    assert simulation.total_interest == simulation.total_payable - simulation.amount_financed
    assert simulation.amount_released == (simulation.amount_financed - simulation.iof.total - simulation.fees_total)
    if terms.finance_iof:
        # Grossed up so the IOF is exactly covered; a centavo more only when no principal covers it exactly.
        assert simulation.amount_financed - simulation.iof.total - terms.amount in {Decimal("0.00"), CENTAVO}
    else:
        assert simulation.amount_financed == terms.amount


def _annuity(terms: LoanTerms, simulation: LoanSimulation) -> Decimal:
    """Σ 1 / growth to each due date: the exact Price payment is the opening balance over it."""
    schedule = simulation.schedule
    growths = [
        1 + terms.monthly_rate
        if terms.grace_months
        else first_period_growth(terms.monthly_rate, terms.release_date, terms.first_due_date)
    ]
    growths += [1 + terms.monthly_rate] * (len(schedule.installments) - 1)
    accumulated, total = Decimal(1), Decimal(0)
    for growth in growths:
        accumulated *= growth
        total += 1 / accumulated
    return total
