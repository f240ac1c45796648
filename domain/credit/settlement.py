"""Early settlement, total or partial, with the proportional reduction of interest of CDC art. 52 § 2.

Código de Defesa do Consumidor (Lei 8.078/1990), art. 52 § 2: "É assegurada ao consumidor a
liquidação antecipada do débito, total ou parcialmente, mediante redução proporcional dos juros e
demais acréscimos."

The amount that settles a loan on a given day is the present value, at the contract rate, of the
installments still to fall due. The kernel computes it as the schedule's balance after the last
installment due on or before that day, grown by the contract rate for the days since, pro rata die
inside the current period. That balance is by construction the present value of the remaining
installments at the contract rate; taking it from the schedule, instead of discounting the rounded
installments again, keeps the centavos consistent: settling on the release date returns exactly
the principal, and settling on a due date (after paying it) returns exactly the balance printed for
that installment. Installments due on or before the settlement date are taken as paid.

A partial settlement lowers that balance and re-amortizes it over the same remaining due dates
(same system, Price or SAC), so the installments shrink and the term stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.credit.money import ZERO, credit_context, is_centavo_amount, to_centavo
from domain.credit.schedule import AccrualPeriod, Installment, Schedule, amortize


@dataclass(frozen=True)
class Settlement:
    settled_on: date
    amount: Decimal
    remaining_installments: tuple[Installment, ...]

    @property
    def interest_reduction(self) -> Decimal:
        """Interest the customer no longer pays: the remaining installments less the settlement."""
        return sum((i.payment for i in self.remaining_installments), ZERO) - self.amount


@dataclass(frozen=True)
class PartialSettlement:
    settled_on: date
    amount_paid: Decimal
    balance_before: Decimal
    balance_after: Decimal
    installments: tuple[Installment, ...]


def settlement_on(schedule: Schedule, day: date) -> Settlement:
    """What settles the whole loan on `day`."""
    period = _period_on(schedule, day)
    remaining = tuple(i for i in schedule.installments if i.due_date > day)
    amount = to_centavo(period.balance_on(day)) if period is not None else ZERO
    return Settlement(settled_on=day, amount=amount, remaining_installments=remaining)


def settle_partially(schedule: Schedule, day: date, amount: Decimal) -> PartialSettlement:
    """Pay `amount` on `day` towards the balance and re-amortize the rest over the remaining dates."""
    total = settlement_on(schedule, day)
    if not (is_centavo_amount(amount) and ZERO < amount < total.amount):
        raise ValueError(f"a partial settlement is more than zero and less than {total.amount}, got {amount}")
    remaining = total.remaining_installments
    balance_after = total.amount - amount
    with credit_context():
        growths = [_growth_to(schedule, day, remaining[0].due_date)]
        growths += [1 + schedule.monthly_rate] * (len(remaining) - 1)
        installments = amortize(
            schedule.amortization,
            balance_after,
            [i.due_date for i in remaining],
            growths,
            first_number=remaining[0].number,
        )
    return PartialSettlement(
        settled_on=day,
        amount_paid=amount,
        balance_before=total.amount,
        balance_after=balance_after,
        installments=installments,
    )


def _period_on(schedule: Schedule, day: date) -> AccrualPeriod | None:
    """The accrual period containing `day` (its start included), or None once everything fell due."""
    if day < schedule.release_date:
        raise ValueError("a loan cannot be settled before it is released")
    for period in schedule.accrual:
        if period.start <= day < period.end:
            return period
    return None


def _growth_to(schedule: Schedule, day: date, due_date: date) -> Decimal:
    """How much a balance grows from `day` to `due_date` along the schedule's periods."""
    growth = Decimal(1)
    for period in schedule.accrual:
        if period.end <= day or period.start >= due_date:
            continue
        growth *= period.growth_until(day) if period.start <= day else period.growth
    return growth
