"""Custo Efetivo Total (CET): Resolução CMN 4.881/2020 (which replaced Resolução CMN 3.517/2007).

The CET is the annual rate that solves the formula of the resolution's annex:

    FC0 = Σ FCj / (1 + CET) ** ((dj − d0) / 365)

with FC0 what the customer really receives on the release date d0 (the principal less the fees and
the IOF paid upfront), FCj each installment and dj its due date, in calendar days. It is reported as
an annual rate and as the equivalent monthly rate, ``(1 + CET) ** (1 / 12) − 1``, in percent with
two decimals.

The solver is Newton's method on ``ln(1 + CET)`` kept inside a bracket that bisection shrinks, all in
34-digit `Decimal`; it stops when a step moves ``ln(1 + CET)`` by less than 1e-25, so it is
deterministic and its error is far below the 0.005 percentage point the two-decimal report shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.credit.money import as_percent, credit_context

DAYS_PER_YEAR = 365
_TOLERANCE = Decimal("1e-25")
_MAX_ITERATIONS = 500
_MAX_LOG_GROWTH = Decimal(10_000)


@dataclass(frozen=True)
class CetRate:
    annual: Decimal
    monthly: Decimal

    @property
    def annual_percent(self) -> Decimal:
        return as_percent(self.annual)

    @property
    def monthly_percent(self) -> Decimal:
        return as_percent(self.monthly)


def annual_to_monthly(annual_rate: Decimal) -> Decimal:
    """The monthly rate equivalent to an annual effective rate."""
    with credit_context():
        return ((1 + annual_rate).ln() / 12).exp() - 1


def cet_for_dates(release_date: date, amount_received: Decimal, payments: Sequence[tuple[date, Decimal]]) -> CetRate:
    """The CET of receiving `amount_received` on `release_date` and paying `payments` (date, amount)."""
    flows = [((due - release_date).days, amount) for due, amount in payments]
    annual = solve_annual_rate(amount_received, flows, periods_per_year=DAYS_PER_YEAR)
    return CetRate(annual=annual, monthly=annual_to_monthly(annual))


def solve_annual_rate(
    amount_received: Decimal, flows: Sequence[tuple[int, Decimal]], periods_per_year: int = DAYS_PER_YEAR
) -> Decimal:
    """The rate r with ``amount_received = Σ amount / (1 + r) ** (periods / periods_per_year)``.

    `flows` are (periods after the release, amount): calendar days with the default 365 periods a
    year, or months with 12. Every amount must be positive and some payment fall after the release;
    then the right-hand side falls strictly as r grows and the root is unique.
    """
    if amount_received <= 0:
        raise ValueError("the amount received must be positive")
    if not flows or any(amount <= 0 or periods < 0 for periods, amount in flows) or all(p == 0 for p, _ in flows):
        raise ValueError("payments must be positive and fall after the release")

    with credit_context():

        def excess(log_growth: Decimal) -> tuple[Decimal, Decimal]:
            """Present value minus the amount received at ``ln(1 + rate)``, and its derivative."""
            discount_per_period = (-log_growth / periods_per_year).exp()
            value, slope = Decimal(0), Decimal(0)
            for periods, amount in flows:
                discounted = amount * discount_per_period**periods
                value += discounted
                slope -= periods * discounted
            return value - amount_received, slope / periods_per_year

        # Solving for x = ln(1 + rate) keeps the function convex and smooth even for very short
        # loans whose annual rate is astronomically high.
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
    raise ArithmeticError("the CET did not converge")  # pragma: no cover
