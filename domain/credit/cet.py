"""Custo Efetivo Total (CET): Resolução CMN 4.881/2020 (which replaced Resolução CMN 3.517/2007).

The CET is the annual rate that solves the formula of the resolution's annex:

    FC0 = Σ FCj / (1 + CET) ** ((dj − d0) / 365)

with FC0 what the customer really receives on the release date d0 (the principal less the fees and
the IOF paid upfront), FCj each installment and dj its due date, in calendar days. It is reported as
an annual rate and as the equivalent monthly rate, ``(1 + CET) ** (1 / 12) − 1``, in percent with
two decimals.

The solver finds ``x = ln(1 + CET)`` in two stages. Binary floating point first: Newton's method on
the present value, which is convex and decreasing in x, started left of the root (at x = 0, or at
the lowest rate the solver accepts) so that every step stays left of it and no bracket is needed;
a dozen cheap steps give x to about 1e-15. Then Newton's method in 34-digit `Decimal` from that x,
until a step moves x by less than 1e-25: two steps in practice, each quadratic, so the result is
the same 34-digit root the all-`Decimal` bracketed solver found, far below the 0.005 percentage
point the two-decimal report shows. Where the float stage cannot answer (rates beyond what a float
holds, or a root near the solver's bounds) the `Decimal` stage runs alone inside a bracket that
bisection shrinks, as the kernel always did. A present value needs ``discount ** days`` for each
payment; payments come in date order, so each is the previous one times ``discount ** gap``, with
one power per distinct gap (28 to 31 days) instead of one per payment.
"""

from __future__ import annotations

import math
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
    log_growth = _solve_log_growth(amount_received, flows, DAYS_PER_YEAR)
    with credit_context():
        # The monthly rate from ln(1 + CET) itself: annual_to_monthly would take its logarithm again.
        return CetRate(annual=log_growth.exp() - 1, monthly=(log_growth / 12).exp() - 1)


def solve_annual_rate(
    amount_received: Decimal, flows: Sequence[tuple[int, Decimal]], periods_per_year: int = DAYS_PER_YEAR
) -> Decimal:
    """The rate r with ``amount_received = Σ amount / (1 + r) ** (periods / periods_per_year)``.

    `flows` are (periods after the release, amount): calendar days with the default 365 periods a
    year, or months with 12. Every amount must be positive and some payment fall after the release;
    then the right-hand side falls strictly as r grows and the root is unique.
    """
    log_growth = _solve_log_growth(amount_received, flows, periods_per_year)
    with credit_context():
        return log_growth.exp() - 1


def _solve_log_growth(amount_received: Decimal, flows: Sequence[tuple[int, Decimal]], periods_per_year: int) -> Decimal:
    """``ln(1 + rate)`` for `solve_annual_rate`, after the same checks."""
    if amount_received <= 0:
        raise ValueError("the amount received must be positive")
    if not flows or any(amount <= 0 or periods < 0 for periods, amount in flows) or all(p == 0 for p, _ in flows):
        raise ValueError("payments must be positive and fall after the release")
    ordered = sorted(flows, key=_periods)
    with credit_context():
        guess = _float_root(float(amount_received), ordered, periods_per_year)
        if guess is not None:
            root = _polish(*guess, amount_received, ordered, periods_per_year)
            if root is not None:
                return root
        return _bracketed_root(amount_received, ordered, periods_per_year)


def _periods(flow: tuple[int, Decimal]) -> int:
    return flow[0]


# The float stage answers only well inside the bounds the Decimal stage checks (ln(1e-6) ≈ −13.8
# and the doubling limit of 10,000), so the two agree on which flows have no rate.
_FLOAT_LOW, _FLOAT_HIGH = -13.0, 5_000.0
_FLOAT_ITERATIONS = 100


def _float_root(
    amount_received: float, flows: Sequence[tuple[int, Decimal]], periods_per_year: int
) -> tuple[float, float] | None:
    """``ln(1 + rate)`` to about 1e-15 and the slope of the present value there, in binary floating point.

    Halley's method on ``g(x) = ln(present value) − ln(amount received)``, which is convex,
    decreasing and nearly straight (g′ is minus the payments' mean time weighted by their present
    values, g″ the variance of that time), from x = 0: three or four steps for a 30-year schedule.
    Where Halley's correction would more than double Newton's step, Newton's step is taken.
    None where floats cannot tell.
    """
    years = [periods / periods_per_year for periods, _ in flows]
    decimals = [amount for _, amount in flows]
    as_float = {amount: float(amount) for amount in set(decimals)}  # float(Decimal) is slow; few distinct
    amounts = list(map(as_float.__getitem__, decimals))
    gaps = [periods for periods, _ in flows]
    gaps[1:] = [later - earlier for earlier, later in zip(gaps, gaps[1:], strict=False)]
    distinct_gaps = set(gaps)
    target = math.log(amount_received)

    def moments(log_growth: float) -> tuple[float, float, float]:
        """Σ d, Σ t × d and Σ t² × d, with d = amount × e^(−x t) the present value of each payment."""
        per_period = -log_growth / periods_per_year
        factors = {gap: math.exp(per_period * gap) for gap in distinct_gaps}
        value = first = second = 0.0
        discount = 1.0
        for gap, t, amount in zip(gaps, years, amounts, strict=True):
            discount *= factors[gap]
            discounted = amount * discount
            value += discounted
            weighted = t * discounted
            first += weighted
            second += t * weighted
        return value, first, second

    try:
        log_growth = 0.0
        for _ in range(_FLOAT_ITERATIONS):
            value, first, second = moments(log_growth)
            g = math.log(value) - target
            slope = -first / value
            curvature = second / value - slope * slope
            newton = -g / slope
            halley = g * curvature / (2 * slope * slope)
            step = newton / (1 - halley) if abs(halley) <= 0.5 else newton
            log_growth += step
            if not _FLOAT_LOW < log_growth < _FLOAT_HIGH:
                return None
            scale = max(1.0, abs(log_growth))
            if (abs(halley) <= 0.5 and abs(step) < 1e-7 * scale) or abs(step) < 1e-12 * scale:
                # Halley's error after a step is near its cube: the root is known to the noise of
                # the sums. The present value's slope, moved to the new point to first order:
                return log_growth, -first + second * step
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return None


_POLISH_STEPS = 6
_POLISH_REACH = Decimal("1e-6")


def _polish(
    guess: float,
    slope: float,
    amount_received: Decimal,
    flows: Sequence[tuple[int, Decimal]],
    periods_per_year: int,
) -> Decimal | None:
    """Newton's method in `Decimal` from a close `guess`, to a step under 1e-25; None if it strays.

    The value is exact to 34 digits; the slope is the float one at the guess. Within 1e-6 of the
    root it is right to a relative 1e-6 or better, so each step still multiplies the error by less
    than 1e-6 (the error after a 1e-15 step is below 1e-21, and after the next below 1e-27) and the
    test on the step is the same as the bracketed solver's. After a step of δ the discount per
    period is the previous one times ``e^(δ/periods)``, whose series stops at the square for the
    tiny steps here, instead of a new exponential.
    """
    start = Decimal(guess)
    derivative = Decimal(slope)
    log_growth = start
    discount_per_period = (-log_growth / periods_per_year).exp()
    for _ in range(_POLISH_STEPS):
        value = _present_value(discount_per_period, flows) - amount_received
        if value == 0:
            return log_growth
        candidate = log_growth - value / derivative
        if abs(candidate - log_growth) < _TOLERANCE:
            return candidate
        if abs(candidate - start) > _POLISH_REACH:
            return None
        moved = (log_growth - candidate) / periods_per_year
        if abs(moved) < _SERIES_LIMIT:
            discount_per_period *= 1 + moved + moved * moved / 2  # the next term is below 1e-36
        else:
            discount_per_period = (-candidate / periods_per_year).exp()
        log_growth = candidate
    return None


_SERIES_LIMIT = Decimal("1e-12")


def _present_value(discount_per_period: Decimal, flows: Sequence[tuple[int, Decimal]]) -> Decimal:
    """Σ amount × discount ** periods (flows in period order), runs of equal amounts summed first."""
    gap_discount: dict[int, Decimal] = {}
    value, run_discounts, run_amount = Decimal(0), Decimal(0), flows[0][1]
    discount, previous = Decimal(1), 0
    for periods, amount in flows:
        gap = periods - previous
        if gap:
            factor = gap_discount.get(gap)
            if factor is None:
                factor = gap_discount[gap] = discount_per_period**gap
            discount *= factor
            previous = periods
        if amount != run_amount:
            value += run_amount * run_discounts
            run_amount, run_discounts = amount, Decimal(0)
        run_discounts += discount
    return value + run_amount * run_discounts


def _excess(
    log_growth: Decimal, amount_received: Decimal, flows: Sequence[tuple[int, Decimal]], periods_per_year: int
) -> tuple[Decimal, Decimal]:
    """Present value minus the amount received at ``ln(1 + rate)``, and its derivative (flows in period order)."""
    discount_per_period = (-log_growth / periods_per_year).exp()
    gap_discount: dict[int, Decimal] = {}
    value, slope = Decimal(0), Decimal(0)
    discount, previous = Decimal(1), 0
    for periods, amount in flows:
        gap = periods - previous
        if gap:
            factor = gap_discount.get(gap)
            if factor is None:
                factor = gap_discount[gap] = discount_per_period**gap
            discount *= factor
            previous = periods
        discounted = amount * discount
        value += discounted
        slope -= periods * discounted
    return value - amount_received, slope / periods_per_year


def _bracketed_root(amount_received: Decimal, flows: Sequence[tuple[int, Decimal]], periods_per_year: int) -> Decimal:
    """``ln(1 + rate)`` by Newton's method kept inside a bracket that bisection shrinks, all in `Decimal`."""

    def excess(log_growth: Decimal) -> tuple[Decimal, Decimal]:
        return _excess(log_growth, amount_received, flows, periods_per_year)

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
            return log_growth
        if value > 0:
            low = log_growth
        else:
            high = log_growth
        candidate = log_growth - value / slope
        if not low < candidate < high:
            candidate = (low + high) / 2
        if abs(candidate - log_growth) < _TOLERANCE:
            return candidate
        log_growth = candidate
    raise ArithmeticError("the CET did not converge")  # pragma: no cover
