"""Repayment schedules: Price (fixed installment) and SAC (constant amortization).

The rules (the design of the credit kernel, docs/architecture.md):

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
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from itertools import accumulate

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
    plan = plan_schedule(amortization, monthly_rate, release_date, first_due_date, term_months, grace_months)
    return plan.schedule(principal)


def plan_schedule(
    amortization: Amortization,
    monthly_rate: Decimal,
    release_date: date,
    first_due_date: date,
    term_months: int,
    grace_months: int = 0,
) -> SchedulePlan:
    """Everything of a schedule that does not depend on the principal: dates, growths, the annuity factor."""
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
        capitalisation: list[tuple[date, date, Decimal]] = []
        if grace_months == 0:
            due_dates = monthly_due_dates(first_due_date, term_months)
            growths = (first_growth,) + (monthly_growth,) * (term_months - 1)
            period_start = release_date
        else:
            # From the release to the first due date the caller chose, then g - 1 whole months.
            start, end, growth = release_date, first_due_date, first_growth
            for month in range(grace_months):
                capitalisation.append((start, end, growth))
                start, end, growth = end, add_months(first_due_date, month + 1), monthly_growth
            due_dates = monthly_due_dates(first_due_date, term_months, skip=grace_months)
            growths = (monthly_growth,) * term_months
            period_start = add_months(first_due_date, grace_months - 1)
        return SchedulePlan(
            amortization=amortization,
            monthly_rate=monthly_rate,
            release_date=release_date,
            grace_months=grace_months,
            due_dates=due_dates,
            growths=growths,
            period_start=period_start,
            capitalisation=tuple(capitalisation),
            price_discount=_annuity_factor(growths) if amortization is Amortization.PRICE else None,
        )


@dataclass(frozen=True)
class ScheduleAmounts:
    """The rounded amounts of each installment of one principal, before they become `Installment`s."""

    opening: Decimal
    payments: list[Decimal]
    interests: list[Decimal]
    amortizations: list[Decimal]
    balances: list[Decimal]


@dataclass(frozen=True)
class SchedulePlan:
    """A schedule's shape, shared by every principal tried (the financed-IOF gross-up tries several)."""

    amortization: Amortization
    monthly_rate: Decimal
    release_date: date
    grace_months: int
    due_dates: tuple[date, ...]
    growths: tuple[Decimal, ...]
    period_start: date
    capitalisation: tuple[tuple[date, date, Decimal], ...]
    price_discount: Decimal | None

    def amounts(self, principal: Decimal) -> ScheduleAmounts:
        """Each installment's payment, interest, amortization and balance for `principal`."""
        if not (is_centavo_amount(principal) and principal > 0):
            raise ValueError(f"principal must be a positive amount in centavos, got {principal}")
        with credit_context():
            opening = principal
            if self.capitalisation:
                exact = principal
                for _, _, growth in self.capitalisation:
                    exact *= growth
                opening = to_centavo(exact)
            return _amounts(self.amortization, opening, self.growths, self.price_discount)

    def first_amortizations(self, principal: Decimal, count: int) -> list[Decimal] | None:
        """The amortizations of the first `count` installments of `principal` without a grace period.

        The same values `amounts` gives, from the first `count` rows only. A Price row depends on
        the payment, which `amounts` lowers when rounding would repay the loan early; that can
        only happen when the rounding errors, compounded over the term, could reach half the last
        balance, so where they provably cannot (checked with a wide margin) the first rows are
        final. None where this cannot be told cheaply (grace, or such a loan): ask `amounts`.
        """
        if self.capitalisation or count >= len(self.growths) or not (is_centavo_amount(principal) and principal > 0):
            return None
        with credit_context():
            rates = _interest_rates(self.growths)
            if self.amortization is Amortization.SAC:
                return _sac(principal, rates, rows=count).amortizations
            assert self.price_discount is not None
            payment = to_centavo(principal / self.price_discount)
            largest_growth = float(max(self.growths))
            # Each row's rounding (payment and interest, at most a centavo together) compounds.
            try:
                compounded = 0.01 * (
                    len(rates) if largest_growth == 1.0 else (largest_growth ** len(rates) - 1) / (largest_growth - 1)
                )
            except OverflowError:
                return None
            if not 8 * compounded < float(payment) / largest_growth:
                return None
            interests: list[Decimal] = []
            balance = principal
            for rate in rates[:count]:
                interest = (balance * rate).quantize(CENTAVO, ROUND_HALF_EVEN)
                interests.append(interest)
                balance -= payment - interest
            return list(map(payment.__sub__, interests))

    def schedule(self, principal: Decimal, amounts: ScheduleAmounts | None = None) -> Schedule:
        """The schedule of `principal`, from its `amounts` when the caller already has them."""
        if amounts is None:
            amounts = self.amounts(principal)
        opening = amounts.opening
        capitalisation: list[AccrualPeriod] = []
        if self.capitalisation:
            with credit_context():
                exact = principal
                for start, end, growth in self.capitalisation:
                    capitalisation.append(AccrualPeriod(start, end, growth, exact))
                    exact *= growth
        due_dates = self.due_dates
        installments = _installments(amounts, due_dates, 1)
        openings = [opening, *amounts.balances[:-1]]
        starts = (self.period_start,) + due_dates[:-1]
        accrual = tuple(capitalisation) + tuple(map(_accrual_period, starts, due_dates, self.growths, openings))
        return Schedule(
            amortization=self.amortization,
            principal=principal,
            monthly_rate=self.monthly_rate,
            release_date=self.release_date,
            grace_months=self.grace_months,
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
        discount = _annuity_factor(growths) if amortization is Amortization.PRICE else None
        amounts = _amounts(amortization, opening_balance, tuple(growths), discount)
    return _installments(amounts, tuple(due_dates), first_number)


# Frozen dataclasses set each field through object.__setattr__, which costs more than the
# arithmetic of a row; a schedule makes hundreds of rows and periods, so they are built directly.
_new = object.__new__


def _installment(
    number: int, due_date: date, payment: Decimal, interest: Decimal, amortization: Decimal, balance: Decimal
) -> Installment:
    row = _new(Installment)
    row.__dict__.update(
        number=number,
        due_date=due_date,
        payment=payment,
        interest=interest,
        amortization=amortization,
        balance=balance,
    )
    return row


def _accrual_period(start: date, end: date, growth: Decimal, opening_balance: Decimal) -> AccrualPeriod:
    period = _new(AccrualPeriod)
    period.__dict__.update(start=start, end=end, growth=growth, opening_balance=opening_balance)
    return period


def _installments(amounts: ScheduleAmounts, due_dates: tuple[date, ...], first_number: int) -> tuple[Installment, ...]:
    return tuple(
        map(
            _installment,
            range(first_number, first_number + len(amounts.payments)),
            due_dates,
            amounts.payments,
            amounts.interests,
            amounts.amortizations,
            amounts.balances,
        )
    )


def _annuity_factor(growths: Sequence[Decimal]) -> Decimal:
    """Σ 1 / (growth₁ × … × growthₖ): the present value of paying 1 at each due date."""
    accumulated, discount = Decimal(1), Decimal(0)
    for growth in growths:
        accumulated *= growth
        discount += 1 / accumulated
    return discount


def _amounts(
    amortization: Amortization, opening: Decimal, growths: tuple[Decimal, ...], price_discount: Decimal | None
) -> ScheduleAmounts:
    """Inside the credit context: the rounded amounts of each installment repaying `opening`."""
    rates = _interest_rates(growths)
    if amortization is Amortization.SAC:
        return _sac(opening, rates)
    assert price_discount is not None
    return _price(opening, rates, price_discount)


def _interest_rates(growths: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """``growth − 1`` of each period; the growths repeat, so each distinct one is subtracted once."""
    rates: dict[Decimal, Decimal] = {}
    for growth in set(growths):
        rates[growth] = growth - 1
    return tuple(map(rates.__getitem__, growths))


def _price(opening: Decimal, rates: tuple[Decimal, ...], discount: Decimal) -> ScheduleAmounts:
    payment = to_centavo(opening / discount)
    while payment > 0:
        amounts = _rows_with_fixed_payment(opening, payment, rates)
        if amounts is not None:
            return amounts
        payment -= CENTAVO  # repaid before the last installment: lower the payment and try again
    raise ValueError(f"{opening} is too small to be repaid in {len(rates)} positive installments")


def _rows_with_fixed_payment(opening: Decimal, payment: Decimal, rates: tuple[Decimal, ...]) -> ScheduleAmounts | None:
    """The rows paying `payment` and the residue last, or None when the loan is repaid early.

    The loop keeps only what it must (each interest, and the balance to know when the loan is
    repaid); the amortizations and balances are the same subtractions, redone in C by `map` and
    `accumulate`.
    """
    interests: list[Decimal] = []
    keep = interests.append
    balance = opening
    for rate in rates[:-1]:
        interest = (balance * rate).quantize(CENTAVO, ROUND_HALF_EVEN)
        keep(interest)
        balance -= payment - interest
        if balance <= 0:
            return None
    interest = (balance * rates[-1]).quantize(CENTAVO, ROUND_HALF_EVEN)
    last_payment = balance + interest
    if last_payment <= 0:
        return None
    amortizations = list(map(payment.__sub__, interests))
    amortizations.append(balance)
    interests.append(interest)
    balances = list(accumulate(amortizations, Decimal.__sub__, initial=opening))[1:]
    # amortization + interest is the payment itself, unless a balance beyond 34 digits was rounded.
    payments = list(map(Decimal.__add__, amortizations[:-1], interests[:-1]))
    payments.append(last_payment)
    return ScheduleAmounts(opening, payments, interests, amortizations, balances)


def _sac(opening: Decimal, rates: tuple[Decimal, ...], rows: int | None = None) -> ScheduleAmounts:
    """The SAC rows repaying `opening` (only the first `rows` when given)."""
    count = len(rates)
    payments: list[Decimal] = []
    interests: list[Decimal] = []
    amortizations: list[Decimal] = []
    balances: list[Decimal] = []
    balance = opening
    for k, rate in enumerate(rates if rows is None else rates[:rows]):
        interest = (balance * rate).quantize(CENTAVO, ROUND_HALF_EVEN)
        balance_after = (opening * (count - k - 1) / count).quantize(CENTAVO, ROUND_HALF_EVEN)
        amortization = balance - balance_after
        balance = balance_after
        payments.append(amortization + interest)
        interests.append(interest)
        amortizations.append(amortization)
        balances.append(balance)
    return ScheduleAmounts(opening, payments, interests, amortizations, balances)
