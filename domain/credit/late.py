"""Charges on a late installment.

- Fine (multa): at most 2% of the installment, Código de Defesa do Consumidor (Lei 8.078/1990),
  art. 52 § 1 ("As multas de mora decorrentes do inadimplemento de obrigações no seu termo não
  poderão ser superiores a dois por cento do valor da prestação").
- Default interest (juros de mora): 1% a month, pro rata die (simple interest, days / 30); STJ
  Súmula 379 caps it at 1% a month in bank contracts not ruled by specific law.
- Contract interest for the days late (juros remuneratórios), at the contract's monthly effective
  rate pro rata die, ``(1 + i) ** (days / 30) − 1``; STJ Súmula 296 admits them during default,
  limited to the contract rate.

Each charge is rounded half-even to the centavo. Nothing is due when the installment is paid on or
before its due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.credit.money import ZERO, credit_context, to_centavo

MAX_LATE_FINE_RATE = Decimal("0.02")
MAX_DEFAULT_INTEREST_MONTHLY = Decimal("0.01")
DAYS_PER_MONTH = Decimal(30)


@dataclass(frozen=True)
class LateCharges:
    installment_amount: Decimal
    days_late: int
    fine: Decimal
    default_interest: Decimal
    contract_interest: Decimal

    @property
    def charges(self) -> Decimal:
        return self.fine + self.default_interest + self.contract_interest

    @property
    def amount_due(self) -> Decimal:
        return self.installment_amount + self.charges


def late_charges(
    installment_amount: Decimal,
    due_date: date,
    paid_on: date,
    monthly_rate: Decimal,
    fine_rate: Decimal = MAX_LATE_FINE_RATE,
    default_interest_monthly: Decimal = MAX_DEFAULT_INTEREST_MONTHLY,
) -> LateCharges:
    """What a customer owes for paying an installment of `installment_amount` on `paid_on`."""
    if not ZERO <= fine_rate <= MAX_LATE_FINE_RATE:
        raise ValueError(f"the fine may not exceed 2% of the installment (CDC art. 52 § 1), got {fine_rate}")
    if not ZERO <= default_interest_monthly <= MAX_DEFAULT_INTEREST_MONTHLY:
        raise ValueError(f"default interest may not exceed 1% a month (STJ Súmula 379), got {default_interest_monthly}")
    if monthly_rate < 0 or installment_amount < 0:
        raise ValueError("the installment and the contract rate must not be negative")

    days_late = (paid_on - due_date).days
    if days_late <= 0:
        return LateCharges(installment_amount, 0, ZERO, ZERO, ZERO)
    with credit_context():
        months = Decimal(days_late) / DAYS_PER_MONTH
        return LateCharges(
            installment_amount=installment_amount,
            days_late=days_late,
            fine=to_centavo(installment_amount * fine_rate),
            default_interest=to_centavo(installment_amount * default_interest_monthly * months),
            contract_interest=to_centavo(installment_amount * ((1 + monthly_rate) ** months - 1)),
        )
