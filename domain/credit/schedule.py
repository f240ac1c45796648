"""Repayment schedules: Price (fixed installment) and SAC (constant amortization).

The rules, from issue 3 ("credit math kernel"):

- Monthly installments, interest at the monthly effective rate ``i`` per monthly period. A first
  period of exactly one calendar month grows the balance by ``(1 + i)``; a first period of any other
  length accrues pro rata, ``(1 + i) ** (days / 30)``, and Price installments stay equal because the
  payment is solved for that first period.
- Grace (carência) of ``g`` months moves the first installment ``g`` months later. The interest of
  the time between the release and one month before the first installment is capitalised (added to
  the balance); the first installment then pays one month of interest on that balance, like the rest.
- Interest and amortization are rounded half-even to the centavo per installment, and the last
  installment takes the residue, so the amortizations add up exactly to the balance and it ends at
  zero.

Price: the payment is the exact annuity payment rounded half-even to the centavo. Where a long term
at a high rate makes that rounded payment repay the loan before its last installment (the rounding
error compounds at the contract rate), the payment is lowered by whole centavos until the last
installment is the one that repays it, so every payment stays positive.

SAC: the balance after installment ``k`` is the exact constant-amortization balance rounded to the
centavo, ``round(B0 * (n - k) / n)``; each amortization is the difference between two such balances.
With R$10,000.00 at 2% in 12 installments this gives the textbook figures (first payment 1,033.33,
last 850.00, total interest 1,300.00), where a rounded constant amortization of 833.33 with an
833.37 residue would make the last payment 850.04.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.credit.due_dates import add_months, monthly_due_dates
from domain.credit.money import CENTAVO, ZERO, credit_context, is_centavo_amount, to_centavo

MAX_TERM_MONTHS = 420
DAYS_PER_MONTH = Decimal(30)


class Amortization(StrEnum):
    PRICE = "price"
    SAC = "sac"


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    payment: Decimal
    interest: Decimal
    amortization: Decimal
    balance: Decimal


@dataclass(frozen=True)
class AccrualPeriod:
    """A stretch of time with no payment inside it, over which the balance grows by `growth`.

    `opening_balance` is the balance at `start`: in centavos once installments run, exact (unrounded)
    while grace interest is being capitalised.
    """

    start: date
    end: date
    growth: Decimal
    opening_balance: Decimal

    def balance_on(self, day: date) -> Decimal:
        """The unrounded balance on `day` (``start <= day <= end``), growing exponentially by days."""
        with credit_context():
            elapsed = Decimal((day - self.start).days) / Decimal((self.end - self.start).days)
            return self.opening_balance * self.growth**elapsed

    def growth_until(self, day: date) -> Decimal:
        """The growth factor from `day` to the end of the period."""
        with credit_context():
            remaining = Decimal((self.end - day).days) / Decimal((self.end - self.start).days)
            return self.growth**remaining


@dataclass(frozen=True)
class Schedule:
    amortization: Amortization
    principal: Decimal
    monthly_rate: Decimal
    release_date: date
    grace_months: int
    capitalized_interest: Decimal
    installments: tuple[Installment, ...]
    accrual: tuple[AccrualPeriod, ...]

    @property
    def opening_balance(self) -> Decimal:
        """The balance the installments repay: the principal plus the capitalised grace interest."""
        return self.principal + self.capitalized_interest

    @property
    def total_payment(self) -> Decimal:
        return sum((i.payment for i in self.installments), ZERO)

    @property
    def total_interest(self) -> Decimal:
        """All interest the customer pays: the installments' interest plus the capitalised interest."""
        return sum((i.interest for i in self.installments), ZERO) + self.capitalized_interest

    @property
    def total_amortization(self) -> Decimal:
        return sum((i.amortization for i in self.installments), ZERO)


def first_period_growth(monthly_rate: Decimal, release_date: date, first_due_date: date) -> Decimal:
    """Growth of the balance from the release to the first due date.

    Exactly one calendar month (same day, or the month's last day where it has none) is one monthly
    period, ``1 + i``; any other length accrues pro rata, ``(1 + i) ** (days / 30)``.
    """
    with credit_context():
        if first_due_date == add_months(release_date, 1):
            return 1 + monthly_rate
        days = Decimal((first_due_date - release_date).days)
        return (1 + monthly_rate) ** (days / DAYS_PER_MONTH)


def build_schedule(
    amortization: Amortization,
    principal: Decimal,
    monthly_rate: Decimal,
    release_date: date,
    first_due_date: date,
    term_months: int,
    grace_months: int = 0,
) -> Schedule:
    """The installments of a loan of `principal` released on `release_date`.

    Without grace the first installment is due on `first_due_date`; with `grace_months` = g it is
    due g months later, and interest until one month before it is capitalised.
    """
    if not (is_centavo_amount(principal) and principal > 0):
        raise ValueError(f"principal must be a positive amount in centavos, got {principal}")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValueError(f"term_months must be between 1 and {MAX_TERM_MONTHS}, got {term_months}")
    if monthly_rate < 0:
        raise ValueError(f"monthly_rate must not be negative, got {monthly_rate}")
    if first_due_date <= release_date:
        raise ValueError("first_due_date must be after release_date")
    if grace_months < 0:
        raise ValueError(f"grace_months must not be negative, got {grace_months}")

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
            # From the release to the first due date the caller chose, then g - 1 whole months.
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
    """Installments repaying `opening_balance` (in centavos) on `due_dates`.

    ``growths[k]`` is how much the balance grows from the previous due date (or the start) to
    ``due_dates[k]``; interest of each installment is the rounded growth of the balance before it.
    """
    if len(due_dates) != len(growths) or not due_dates:
        raise ValueError("one growth factor per due date, and at least one due date")
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
            break  # repaid early: the caller lowers the payment and tries again
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
