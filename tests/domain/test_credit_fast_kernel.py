"""The fast credit kernel publishes exactly what the previous exact algorithm published.

`credit_reference` is the kernel as it was: CET by bracketed Newton all in `Decimal`, the
financed-IOF gross-up rebuilding the whole schedule at each look. Over generated loans the fast
kernel must give the same schedule (every payment, interest, amortization, balance and accrual
period), the same IOF, the same amounts, and the same CET to the published two decimals and to
within 1e-20 of the reference's rate (relative): sixteen orders of magnitude below the published
figure. Closer than that the reference's own stopping rule is the noise: on steep, long flows the
two roots were seen 3e-25 apart, each solving the equation as well as the other.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import credit_reference
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.credit import Amortization, CustomerType, Fee, LoanTerms, simulate
from domain.credit.cet import solve_annual_rate
from domain.credit.due_dates import add_months, monthly_due_dates
from domain.credit.iof import gross_up_for_financed_iof, iof_on_loan
from domain.credit.money import credit_context
from domain.credit.schedule import build_schedule, plan_schedule

SAME_RATE = Decimal("1e-20")
# No shrinking: the reference is slow, and a failing example is printed as drawn.
EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def loan_terms(draw: st.DrawFn) -> LoanTerms:
    amount = Decimal(draw(st.integers(min_value=1_00, max_value=5_000_000_00))) / 100
    term_months = draw(st.one_of(st.integers(1, 24), st.integers(1, 420), st.sampled_from([12, 60, 360, 420])))
    release = draw(st.dates(min_value=date(2012, 5, 23), max_value=date(2030, 12, 31)))
    first_due = draw(
        st.one_of(st.just(add_months(release, 1)), st.integers(1, 60).map(lambda days: release + timedelta(days=days)))
    )
    rate = draw(
        st.one_of(
            st.integers(0, 2000).map(lambda bp: Decimal(bp) / 10_000),  # 0% to 20% a month, in basis points
            st.decimals(min_value=0, max_value=Decimal("0.25"), places=8, allow_nan=False, allow_infinity=False),
        )
    )
    fee_total = Decimal(draw(st.integers(min_value=0, max_value=int(amount * 10)))) / 100
    return LoanTerms(
        amount=amount,
        term_months=term_months,
        monthly_rate=rate,
        amortization=draw(st.sampled_from(Amortization)),
        release_date=release,
        first_due_date=first_due,
        customer_type=draw(st.sampled_from(CustomerType)),
        finance_iof=draw(st.booleans()),
        grace_months=draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=min(12, 420 - term_months)))),
        fees=(Fee("tarifa", fee_total),) if fee_total else (),
    )


def outcome(call, *args):  # type: ignore[no-untyped-def]
    try:
        return call(*args)
    except (ValueError, ArithmeticError) as exc:
        return type(exc)


@EXAMPLES
@given(loan_terms())
def test_simulation_publishes_what_the_exact_reference_publishes(terms: LoanTerms) -> None:
    fast = outcome(simulate, terms)
    reference = outcome(credit_reference.simulate, terms)

    if isinstance(reference, type):
        assert fast is reference
        return
    assert not isinstance(fast, type)
    assert fast.schedule == reference.schedule
    assert fast.iof == reference.iof
    assert (fast.amount_financed, fast.amount_released) == (reference.amount_financed, reference.amount_released)
    assert (fast.total_payable, fast.total_interest) == (reference.total_payable, reference.total_interest)
    assert (fast.cet.monthly_percent, fast.cet.annual_percent) == (
        reference.cet.monthly_percent,
        reference.cet.annual_percent,
    )
    assert abs(fast.cet.annual - reference.cet.annual) <= SAME_RATE * max(1, abs(reference.cet.annual))
    assert abs(fast.cet.monthly - reference.cet.monthly) <= SAME_RATE * max(1, abs(reference.cet.monthly))


@st.composite
def cash_flows(draw: st.DrawFn) -> tuple[Decimal, list[tuple[int, Decimal]], int]:
    periods_per_year = draw(st.sampled_from([365, 12]))
    count = draw(st.integers(1, 420))
    periods = sorted(draw(st.lists(st.integers(0, 13_000), min_size=count, max_size=count)))
    if periods[-1] == 0:
        periods[-1] = 1
    amounts = draw(
        st.one_of(
            st.integers(1, 10**9).map(lambda c: [Decimal(c) / 100] * count),  # one payment repeated (Price)
            st.lists(st.integers(1, 10**9).map(lambda c: Decimal(c) / 100), min_size=count, max_size=count),
        )
    )
    flows = list(zip(periods, amounts, strict=True))
    if draw(st.booleans()):
        flows.reverse()  # the solver must not depend on the order of the flows
    total = sum(amounts, Decimal(0))
    # From a tenth of the payments (rates in the thousands of percent) to more than all of them
    # (negative rates); far below a tenth the reference itself stops converging.
    received = (total * Decimal(draw(st.integers(100, 1_500))) / 1_000).quantize(Decimal("0.01"))
    return max(received, Decimal("0.01")), flows, periods_per_year


@EXAMPLES
@given(cash_flows())
def test_cet_solver_finds_the_reference_root(case: tuple[Decimal, list[tuple[int, Decimal]], int]) -> None:
    received, flows, periods_per_year = case

    fast = outcome(solve_annual_rate, received, flows, periods_per_year)
    reference = outcome(credit_reference.solve_annual_rate, received, flows, periods_per_year)

    if reference is ArithmeticError:
        # The reference's step test can sit at the 34-digit noise of large sums and never pass;
        # then the fast root must still solve the equation.
        assert isinstance(fast, Decimal)
        assert abs(present_value(fast, flows, periods_per_year) - received) <= Decimal("1e-24") * received
    elif isinstance(reference, type):
        assert fast is reference
    else:
        assert isinstance(fast, Decimal)
        assert abs(fast - reference) <= SAME_RATE * max(1, abs(reference))


def present_value(annual: Decimal, flows: list[tuple[int, Decimal]], periods_per_year: int) -> Decimal:
    with credit_context():
        return sum(
            (amount / (1 + annual) ** (Decimal(periods) / periods_per_year) for periods, amount in flows), Decimal(0)
        )


@pytest.mark.parametrize(
    ("received", "flows"),
    [
        (Decimal("100.00"), [(1, Decimal("1000000.00"))]),  # one day at 1,000,000%: past the float stage
        (Decimal("100.00"), [(1, Decimal("1e40"))]),  # beyond any representable rate
        (Decimal("1000.00"), [(30, Decimal("10.00")), (60, Decimal("10.00"))]),  # worth less at any rate
        (Decimal("150.00"), [(365, Decimal("100.00"))]),  # a negative rate
        (Decimal("100.00"), [(0, Decimal("60.00")), (30, Decimal("50.00"))]),  # part paid on the release day
    ],
)
def test_cet_solver_agrees_with_the_reference_at_the_edges(received: Decimal, flows: list[tuple[int, Decimal]]) -> None:
    fast = outcome(solve_annual_rate, received, flows)
    reference = outcome(credit_reference.solve_annual_rate, received, flows)

    if isinstance(reference, type):
        assert fast is reference
    else:
        assert isinstance(fast, Decimal)
        assert abs(fast - reference) <= SAME_RATE * max(1, abs(reference))


@EXAMPLES
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(1, 420),
    st.integers(0, 12),
)
def test_due_dates_are_add_months_of_each_month(first_due: date, count: int, skip: int) -> None:
    assert monthly_due_dates(first_due, count, skip=skip) == tuple(
        add_months(first_due, skip + k) for k in range(count)
    )


@EXAMPLES
@given(loan_terms(), st.integers(1_00, 5_000_000_00))
def test_schedule_and_gross_up_match_the_reference(terms: LoanTerms, net_centavos: int) -> None:
    args = (terms.amortization, terms.amount, terms.monthly_rate, terms.release_date, terms.first_due_date)
    rest = (terms.term_months, terms.grace_months)
    assert outcome(build_schedule, *args, *rest) == outcome(credit_reference.build_schedule, *args, *rest)

    due = terms.first_due_date
    rates = credit_reference.IOF_CREDIT_RATES[-1].individual

    def iof_for(principal: Decimal) -> Decimal:
        return iof_on_loan(terms.release_date, principal, [(due, principal)], rates).total

    net = Decimal(net_centavos) / 100
    assert gross_up_for_financed_iof(net, iof_for) == credit_reference.gross_up_for_financed_iof(net, iof_for)


@EXAMPLES
@given(loan_terms())
def test_first_amortizations_are_the_first_rows_of_the_schedule(terms: LoanTerms) -> None:
    plan = plan_schedule(
        terms.amortization, terms.monthly_rate, terms.release_date, terms.first_due_date, terms.term_months
    )
    count = max(1, terms.term_months // 3)

    first = plan.first_amortizations(terms.amount, count)

    if first is not None:
        assert first == list(plan.amounts(terms.amount).amortizations[:count])
