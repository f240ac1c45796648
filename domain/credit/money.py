"""Centavo rounding and the decimal context of every credit calculation.

Money is ``Decimal`` in reais, never a float. Intermediate values keep 34 significant digits (the
precision of IEEE 754 decimal128) and are rounded half-even to the centavo only where an amount is
shown, charged or signed: an installment's interest, amortization and payment, a tax, a fee.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, localcontext

CENTAVO = Decimal("0.01")
ZERO = Decimal("0.00")

# Every kernel function computes inside this context, whatever the caller's context is.
CREDIT_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)


def credit_context() -> AbstractContextManager[Context]:
    """A local copy of `CREDIT_CONTEXT` for the duration of a calculation."""
    return localcontext(CREDIT_CONTEXT)


def to_centavo(amount: Decimal) -> Decimal:
    """`amount` rounded half-even (banker's rounding) to the centavo."""
    return amount.quantize(CENTAVO, rounding=ROUND_HALF_EVEN)


def is_centavo_amount(amount: Decimal) -> bool:
    """Whether `amount` is a finite number with at most two decimal places."""
    return amount.is_finite() and amount == amount.quantize(CENTAVO, rounding=ROUND_DOWN)


def as_percent(rate: Decimal) -> Decimal:
    """A rate (``Decimal("0.0286")``) as a percentage with two decimals (``Decimal("2.86")``)."""
    return (rate * 100).quantize(CENTAVO, rounding=ROUND_HALF_EVEN)
