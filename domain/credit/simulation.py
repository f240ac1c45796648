"""A loan simulation: the schedule, the IOF, the fees, the amounts and the CET of a set of terms.

This is the one price every channel shows (the API, `lendflow quote`, the origination workflow), so
it is pure: standard library only, `Decimal` throughout, frozen dataclasses in and out.

- Upfront IOF: the principal is the amount asked; the IOF and the fees are withheld from it.
- Financed IOF: the principal is grossed up so that the IOF on it is exactly covered; the customer
  receives the amount asked less the fees.
- The CET discounts the installments back to the amount actually received (Resolução CMN 4.881/2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.credit.cet import CetRate, cet_for_dates
from domain.credit.iof import (
    IOF_CREDIT_RATES,
    IOF_DAY_CAP,
    IofCharge,
    IofRates,
    IofRatesUnknown,
    IofRateVersion,
    gross_up_for_financed_iof,
    iof_day_weights,
    iof_rate_version_on,
    iof_with_weights,
)
from domain.credit.money import credit_context, to_centavo
from domain.credit.schedule import Installment, Schedule, ScheduleAmounts, plan_schedule
from domain.credit.terms import InvalidLoanTerms, LoanTerms, TermProblem, problems_with

DAY_COUNT = (
    "CET: actual calendar days / 365 (Resolução CMN 4.881/2020); interest: monthly periods, "
    "a first period other than one calendar month pro rata (1 + i) ** (days / 30); "
    "IOF: actual days from release to each due date, capped at 365"
)
ROUNDING = "half-even to the centavo per installment; the residue goes to the last installment"


@dataclass(frozen=True)
class SimulationAssumptions:
    day_count: str
    rounding: str
    iof_table_version: str
    iof_legal_basis: str
    iof_rates: IofRates


@dataclass(frozen=True)
class LoanSimulation:
    terms: LoanTerms
    schedule: Schedule
    iof: IofCharge
    fees_total: Decimal
    amount_financed: Decimal
    amount_released: Decimal
    total_payable: Decimal
    total_interest: Decimal
    cet: CetRate
    assumptions: SimulationAssumptions

    @property
    def installments(self) -> tuple[Installment, ...]:
        return self.schedule.installments


def simulate(terms: LoanTerms, iof_table: Sequence[IofRateVersion] = IOF_CREDIT_RATES) -> LoanSimulation:
    """Price `terms`. Raises `InvalidLoanTerms` naming each field that breaks the kernel's rules."""
    problems = problems_with(terms)
    if problems:
        raise InvalidLoanTerms(problems)
    try:
        version = iof_rate_version_on(terms.release_date, iof_table)
    except IofRatesUnknown as exc:
        raise InvalidLoanTerms([TermProblem("release_date", "iof_rates_unknown", str(exc))]) from exc
    rates = version.rates_for(terms.customer_type)

    # The dates, growths and IOF day weights are the same for every principal the financed-IOF
    # gross-up tries; each principal's amounts and IOF are computed once.
    plan = plan_schedule(
        terms.amortization,
        terms.monthly_rate,
        terms.release_date,
        terms.first_due_date,
        terms.term_months,
        terms.grace_months,
    )
    weights = iof_day_weights(terms.release_date, plan.due_dates, rates)
    priced: dict[Decimal, tuple[ScheduleAmounts, IofCharge]] = {}

    def price(principal: Decimal) -> tuple[ScheduleAmounts, IofCharge]:
        if principal not in priced:
            amounts = plan.amounts(principal)
            repaid = _principal_repaid(principal, amounts)
            priced[principal] = amounts, iof_with_weights(weights, principal, repaid, rates, version.version)
        return priced[principal]

    # Without grace each amortization is principal repaid and every product and sum of the IOF is
    # exact, so the installments due a year or more after the release, all weighted by the same 365
    # days, add up to the principal less the earlier ones: the gross-up needs only those first rows.
    # (Exact while the daily rate and the principal are short enough that no product or sum reaches
    # 34 digits: the published rates have two to four.)
    within_a_year = sum(1 for due in plan.due_dates if (due - terms.release_date).days < IOF_DAY_CAP)
    year_weight = weights[-1]
    short_rate = len(rates.daily.as_tuple().digits) <= 12

    def iof_total(principal: Decimal) -> Decimal:
        exact = short_rate and principal not in priced and len(principal.as_tuple().digits) <= 15
        first = plan.first_amortizations(principal, within_a_year) if exact else None
        if first is None:
            return price(principal)[1].total
        daily = sum(map(Decimal.__mul__, weights, first), Decimal(0))
        daily += year_weight * (principal - sum(first, Decimal(0)))
        return to_centavo(daily) + to_centavo(rates.flat * principal)

    with credit_context():
        principal = gross_up_for_financed_iof(terms.amount, iof_total) if terms.finance_iof else terms.amount
        amounts, iof = price(principal)
        schedule = plan.schedule(principal, amounts)
        amount_released = principal - iof.total - terms.fees_total
        if amount_released <= 0:
            raise InvalidLoanTerms([TermProblem("fees", "too_large", "the fees and the IOF leave nothing to release")])

        cet = cet_for_dates(
            terms.release_date, amount_released, list(zip(plan.due_dates, amounts.payments, strict=False))
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


def _principal_repaid(principal: Decimal, amounts: ScheduleAmounts) -> list[Decimal]:
    """`principal_repayments` from the amounts alone (inside the credit context)."""
    if amounts.opening == principal:
        return amounts.amortizations
    share = principal / amounts.opening
    return [amortization * share for amortization in amounts.amortizations]


def principal_repayments(schedule: Schedule) -> list[tuple[date, Decimal]]:
    """The principal repaid at each due date, the base of the IOF (RIOF art. 7, I, "b").

    Without grace it is each installment's amortization. With grace the amortizations also repay
    the capitalised interest, which is not principal lent, so each is scaled by
    principal / (principal + capitalised interest); the scaled amounts add up to the principal.
    """
    with credit_context():
        share = schedule.principal / schedule.opening_balance
        return [(i.due_date, i.amortization * share) for i in schedule.installments]
