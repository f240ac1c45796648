"""What a customer asks for, and the rules it must meet before anything is priced.

`problems_with(terms)` holds the kernel's own rules; `problems_with_limits(terms, limits)`
holds the lender's commercial limits, which come from settings. Both answer a list of
`TermProblem`, each naming the field as the caller sent it, so the API, the CLI and a workflow can
all report every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.credit.iof import CustomerType
from domain.credit.money import CENTAVO, ZERO, is_centavo_amount
from domain.credit.schedule import MAX_TERM_MONTHS, Amortization

MIN_FIRST_PERIOD_DAYS = 1
MAX_FIRST_PERIOD_DAYS = 60


@dataclass(frozen=True)
class Fee:
    """A fee paid upfront, withheld from the amount released (for example the tarifa de cadastro)."""

    name: str
    amount: Decimal


@dataclass(frozen=True)
class LoanTerms:
    amount: Decimal
    term_months: int
    monthly_rate: Decimal
    amortization: Amortization
    release_date: date
    first_due_date: date
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    finance_iof: bool = False
    grace_months: int = 0
    fees: tuple[Fee, ...] = field(default_factory=tuple)

    @property
    def fees_total(self) -> Decimal:
        return sum((fee.amount for fee in self.fees), ZERO)


@dataclass(frozen=True)
class OfferLimits:
    """The lender's commercial limits, tighter than or equal to the kernel's rules."""

    max_monthly_rate: Decimal
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    max_grace_months: int


@dataclass(frozen=True)
class TermProblem:
    field: str
    code: str
    message: str


class InvalidLoanTerms(ValueError):
    """Terms that break the kernel's rules; `problems` names each bad field."""

    def __init__(self, problems: list[TermProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = tuple(problems)


def problems_with(terms: LoanTerms) -> list[TermProblem]:
    """Every way `terms` break the kernel's rules (an empty list when they are sound)."""
    problems: list[TermProblem] = []
    if not terms.amount.is_finite() or terms.amount <= 0:
        problems.append(TermProblem("amount", "greater_than", "must be greater than zero"))
    elif not is_centavo_amount(terms.amount):
        problems.append(TermProblem("amount", "decimal_places", "must have at most two decimal places"))
    if not 1 <= terms.term_months <= MAX_TERM_MONTHS:
        problems.append(TermProblem("term_months", "range", f"must be between 1 and {MAX_TERM_MONTHS}"))
    if not terms.monthly_rate.is_finite() or terms.monthly_rate < 0:
        problems.append(TermProblem("monthly_rate", "greater_than_equal", "must not be negative"))
    first_period = (terms.first_due_date - terms.release_date).days
    if not MIN_FIRST_PERIOD_DAYS <= first_period <= MAX_FIRST_PERIOD_DAYS:
        problems.append(
            TermProblem(
                "first_due_date",
                "range",
                f"must be {MIN_FIRST_PERIOD_DAYS} to {MAX_FIRST_PERIOD_DAYS} days after the release date",
            )
        )
    if terms.grace_months < 0:
        problems.append(TermProblem("grace_months", "greater_than_equal", "must not be negative"))
    elif terms.grace_months + terms.term_months > MAX_TERM_MONTHS and 1 <= terms.term_months <= MAX_TERM_MONTHS:
        problems.append(
            TermProblem("grace_months", "range", f"grace plus term must not exceed {MAX_TERM_MONTHS} months")
        )
    for index, fee in enumerate(terms.fees):
        if not fee.amount.is_finite() or fee.amount < 0:
            problems.append(TermProblem(f"fees.{index}.amount", "greater_than_equal", "must not be negative"))
        elif not is_centavo_amount(fee.amount):
            problems.append(
                TermProblem(f"fees.{index}.amount", "decimal_places", "must have at most two decimal places")
            )
    if not problems:
        if terms.fees_total >= terms.amount:
            problems.append(TermProblem("fees", "too_large", "the fees leave nothing to release"))
        if terms.amount < CENTAVO * terms.term_months:
            problems.append(TermProblem("amount", "too_small", "must be at least one centavo per installment"))
    return problems


def problems_with_limits(terms: LoanTerms, limits: OfferLimits) -> list[TermProblem]:
    """Every way `terms` fall outside the lender's commercial `limits`."""
    problems: list[TermProblem] = []
    if terms.amount.is_finite() and not limits.min_amount <= terms.amount <= limits.max_amount:
        problems.append(TermProblem("amount", "limit", f"must be between {limits.min_amount} and {limits.max_amount}"))
    if not limits.min_term_months <= terms.term_months <= limits.max_term_months:
        problems.append(
            TermProblem(
                "term_months", "limit", f"must be between {limits.min_term_months} and {limits.max_term_months}"
            )
        )
    if terms.monthly_rate.is_finite() and terms.monthly_rate > limits.max_monthly_rate:
        problems.append(TermProblem("monthly_rate", "limit", f"must not exceed {limits.max_monthly_rate}"))
    if terms.grace_months > limits.max_grace_months:
        problems.append(TermProblem("grace_months", "limit", f"must not exceed {limits.max_grace_months}"))
    return problems
