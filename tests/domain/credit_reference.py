"""The credit kernel's previous exact algorithm, kept only as a reference for tests and `bench/kernel.py`.

This is the kernel as it was before it was made fast (commit c7cf959): Newton's method with
bisection for the CET, all in 34-digit `Decimal`, with ``discount ** periods`` per payment at each
step; the financed-IOF gross-up walking by centavos and rebuilding the whole schedule at every
look; due dates through `add_months` one by one. It is slow and plainly right, and the fast kernel
must publish exactly what it publishes. It uses the product's frozen result types and the parts
of the kernel the rewrite did not touch (rules, rate table, `add_months`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from domain.credit.cet import DAYS_PER_YEAR, CetRate, annual_to_monthly
from domain.credit.due_dates import add_months
from domain.credit.iof import (
    IOF_CREDIT_RATES,
    IOF_DAY_CAP,
    IofCharge,
    IofRates,
    IofRatesUnknown,
    IofRateVersion,
    iof_rate_version_on,
)
from domain.credit.money import CENTAVO, credit_context, is_centavo_amount, to_centavo
from domain.credit.schedule import (
    MAX_TERM_MONTHS,
    AccrualPeriod,
    Amortization,
    Installment,
    Schedule,
    first_period_growth,
)
from domain.credit.simulation import DAY_COUNT, ROUNDING, LoanSimulation, SimulationAssumptions
from domain.credit.terms import InvalidLoanTerms, LoanTerms, TermProblem, problems_with

_TOLERANCE = Decimal("1e-25")
_MAX_ITERATIONS = 500
_MAX_LOG_GROWTH = Decimal(10_000)


def monthly_due_dates(first_due_date: date, count: int) -> tuple[date, ...]:
    return tuple(add_months(first_due_date, k) for k in range(count))


def build_schedule(
    amortization: Amortization,
    principal: Decimal,
    monthly_rate: Decimal,
    release_date: date,
    first_due_date: date,
    term_months: int,
    grace_months: int = 0,
) -> Schedule:
    if not (is_centavo_amount(principal) and principal > 0):
        raise ValueError(f"principal must be a positive amount in centavos, got {principal}")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValueError(f"term_months must be between 1 and {MAX_TERM_MONTHS}, got {term_months}")
    with credit_context():
        monthly_growth = 1 + monthly_rate
        first_growth = first_period_growth(monthly_rate, release_date, first_due_date)
        capitalisation: list[AccrualPeriod] = []
        if grace_months == 0:
            opening = principal
            due_dates = monthly_due_dates(first_due_date, term_months)
            growths = (first_growth,) + (monthly_growth,) * (term_months - 1)
            period_start = release_date
        else:
            exact = principal
            start, end, growth = release_date, first_due_date, first_growth
            for month in range(grace_months):
                capitalisation.append(AccrualPeriod(start, end, growth, exact))
                exact *= growth
                start, end, growth = end, add_months(first_due_date, month + 1), monthly_growth
            opening = to_centavo(exact)
            due_dates = tuple(add_months(first_due_date, grace_months + k) for k in range(term_months))
            growths = (monthly_growth,) * term_months
            period_start = add_months(first_due_date, grace_months - 1)
        installments = amortize(amortization, opening, due_dates, growths)
    openings = (opening,) + tuple(i.balance for i in installments[:-1])
    starts = (period_start,) + due_dates[:-1]
    accrual = tuple(capitalisation) + tuple(
        AccrualPeriod(start, due, growth, balance)
        for start, due, growth, balance in zip(starts, due_dates, growths, openings, strict=True)
    )
    return Schedule(
        amortization=amortization,
        principal=principal,
        monthly_rate=monthly_rate,
        release_date=release_date,
        grace_months=grace_months,
        capitalized_interest=opening - principal,
        installments=installments,
        accrual=accrual,
    )


def amortize(
    amortization: Amortization,
    opening_balance: Decimal,
    due_dates: Sequence[date],
    growths: Sequence[Decimal],
    first_number: int = 1,
) -> tuple[Installment, ...]:
    with credit_context():
        if amortization is Amortization.SAC:
            return _sac(opening_balance, due_dates, growths, first_number)
        return _price(opening_balance, due_dates, growths, first_number)


def _price(
    opening: Decimal, due_dates: Sequence[date], growths: Sequence[Decimal], first_number: int
) -> tuple[Installment, ...]:
    accumulated, discount = Decimal(1), Decimal(0)
    for growth in growths:
        accumulated *= growth
        discount += 1 / accumulated
    payment = to_centavo(opening / discount)
    while payment > 0:
        rows = _rows_with_fixed_payment(opening, payment, due_dates, growths, first_number)
        repaid_early = len(rows) < len(due_dates) or rows[-1].payment <= 0
        if not repaid_early:
            return rows
        payment -= CENTAVO
    raise ValueError(f"{opening} is too small to be repaid in {len(due_dates)} positive installments")


def _rows_with_fixed_payment(
    opening: Decimal, payment: Decimal, due_dates: Sequence[date], growths: Sequence[Decimal], first_number: int
) -> tuple[Installment, ...]:
    rows: list[Installment] = []
    balance = opening
    last = len(due_dates) - 1
    for k, (due, growth) in enumerate(zip(due_dates, growths, strict=True)):
        interest = to_centavo(balance * (growth - 1))
        amortization = balance if k == last else payment - interest
        balance -= amortization
        rows.append(Installment(first_number + k, due, amortization + interest, interest, amortization, balance))
        if k < last and balance <= 0:
            break
    return tuple(rows)


def _sac(
    opening: Decimal, due_dates: Sequence[date], growths: Sequence[Decimal], first_number: int
) -> tuple[Installment, ...]:
    count = len(due_dates)
    rows: list[Installment] = []
    balance = opening
    for k, (due, growth) in enumerate(zip(due_dates, growths, strict=True)):
        interest = to_centavo(balance * (growth - 1))
        balance_after = to_centavo(opening * (count - k - 1) / count)
        amortization = balance - balance_after
        balance = balance_after
        rows.append(Installment(first_number + k, due, amortization + interest, interest, amortization, balance))
    return tuple(rows)


def iof_on_loan(
    release_date: date,
    principal: Decimal,
    repayments: Sequence[tuple[date, Decimal]],
    rates: IofRates,
    version: str = "",
) -> IofCharge:
    with credit_context():
        daily = sum(
            (rates.daily * min((due - release_date).days, IOF_DAY_CAP) * amount for due, amount in repayments),
            Decimal(0),
        )
        return IofCharge(daily=to_centavo(daily), flat=to_centavo(rates.flat * principal), rates=rates, version=version)


def gross_up_for_financed_iof(net_amount: Decimal, iof_for: Callable[[Decimal], Decimal]) -> Decimal:
    def net_of(principal: Decimal) -> Decimal:
        return principal - iof_for(principal)

    with credit_context():
        share = iof_for(net_amount) / net_amount
        principal = max(to_centavo(net_amount / (1 - share)), net_amount)
        for _ in range(10_000):
            if net_of(principal) < net_amount:
                principal += CENTAVO
            elif principal > CENTAVO and net_of(principal - CENTAVO) >= net_amount:
                principal -= CENTAVO
            else:
                return principal
    raise ArithmeticError(f"no financed principal found for {net_amount}")


def solve_annual_rate(
    amount_received: Decimal, flows: Sequence[tuple[int, Decimal]], periods_per_year: int = DAYS_PER_YEAR
) -> Decimal:
    if amount_received <= 0:
        raise ValueError("the amount received must be positive")
    if not flows or any(amount <= 0 or periods < 0 for periods, amount in flows) or all(p == 0 for p, _ in flows):
        raise ValueError("payments must be positive and fall after the release")

    with credit_context():

        def excess(log_growth: Decimal) -> tuple[Decimal, Decimal]:
            discount_per_period = (-log_growth / periods_per_year).exp()
            value, slope = Decimal(0), Decimal(0)
            for periods, amount in flows:
                discounted = amount * discount_per_period**periods
                value += discounted
                slope -= periods * discounted
            return value - amount_received, slope / periods_per_year

        low, high = Decimal("1e-6").ln(), Decimal(2).ln()
        if excess(low)[0] < 0:
            raise ValueError("the payments are worth less than the amount received at any rate")
        while excess(high)[0] > 0:
            high *= 2
            if high > _MAX_LOG_GROWTH:
                raise ValueError("the CET is beyond any representable rate")

        log_growth = (low + high) / 2 if high > 1 else Decimal("0.1")
        for _ in range(_MAX_ITERATIONS):
            value, slope = excess(log_growth)
            if value == 0:
                return log_growth.exp() - 1
            if value > 0:
                low = log_growth
            else:
                high = log_growth
            candidate = log_growth - value / slope
            if not low < candidate < high:
                candidate = (low + high) / 2
            if abs(candidate - log_growth) < _TOLERANCE:
                return candidate.exp() - 1
            log_growth = candidate
    raise ArithmeticError("the CET did not converge")


def cet_for_dates(release_date: date, amount_received: Decimal, payments: Sequence[tuple[date, Decimal]]) -> CetRate:
    flows = [((due - release_date).days, amount) for due, amount in payments]
    annual = solve_annual_rate(amount_received, flows, periods_per_year=DAYS_PER_YEAR)
    return CetRate(annual=annual, monthly=annual_to_monthly(annual))


def principal_repayments(schedule: Schedule) -> list[tuple[date, Decimal]]:
    with credit_context():
        share = schedule.principal / schedule.opening_balance
        return [(i.due_date, i.amortization * share) for i in schedule.installments]


def simulate(terms: LoanTerms, iof_table: Sequence[IofRateVersion] = IOF_CREDIT_RATES) -> LoanSimulation:
    problems = problems_with(terms)
    if problems:
        raise InvalidLoanTerms(problems)
    try:
        version = iof_rate_version_on(terms.release_date, iof_table)
    except IofRatesUnknown as exc:
        raise InvalidLoanTerms([TermProblem("release_date", "iof_rates_unknown", str(exc))]) from exc
    rates = version.rates_for(terms.customer_type)

    def schedule_for(principal: Decimal) -> Schedule:
        return build_schedule(
            terms.amortization,
            principal,
            terms.monthly_rate,
            terms.release_date,
            terms.first_due_date,
            terms.term_months,
            terms.grace_months,
        )

    def iof_for(schedule: Schedule) -> IofCharge:
        return iof_on_loan(
            terms.release_date, schedule.principal, principal_repayments(schedule), rates, version.version
        )

    with credit_context():
        if terms.finance_iof:
            principal = gross_up_for_financed_iof(terms.amount, lambda p: iof_for(schedule_for(p)).total)
            schedule = schedule_for(principal)
            iof = iof_for(schedule)
            amount_released = principal - iof.total - terms.fees_total
        else:
            schedule = schedule_for(terms.amount)
            iof = iof_for(schedule)
            amount_released = terms.amount - iof.total - terms.fees_total
        if amount_released <= 0:
            raise InvalidLoanTerms([TermProblem("fees", "too_large", "the fees and the IOF leave nothing to release")])
        cet = cet_for_dates(
            terms.release_date, amount_released, [(i.due_date, i.payment) for i in schedule.installments]
        )
    return LoanSimulation(
        terms=terms,
        schedule=schedule,
        iof=iof,
        fees_total=terms.fees_total,
        amount_financed=schedule.principal,
        amount_released=amount_released,
        total_payable=schedule.total_payment,
        total_interest=schedule.total_interest,
        cet=cet,
        assumptions=SimulationAssumptions(
            day_count=DAY_COUNT,
            rounding=ROUNDING,
            iof_table_version=version.version,
            iof_legal_basis=version.legal_basis,
            iof_rates=rates,
        ),
    )
