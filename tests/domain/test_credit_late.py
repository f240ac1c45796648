"""Charges on a late installment: fine, default interest and contract interest for the days late."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.credit.late import late_charges

INSTALLMENT = Decimal("945.60")
DUE = date(2025, 8, 1)


def test_fifteen_days_late_adds_a_2_percent_fine_half_a_month_of_mora_and_of_contract_interest() -> None:
    charges = late_charges(INSTALLMENT, DUE, date(2025, 8, 16), Decimal("0.02"))

    assert charges.days_late == 15
    assert charges.fine == Decimal("18.91")  # 945.60 × 2%
    assert charges.default_interest == Decimal("4.73")  # 945.60 × 1% × 15/30
    assert charges.contract_interest == Decimal("9.41")  # 945.60 × (1.02 ** (15/30) − 1)
    assert charges.amount_due == Decimal("978.65")


def test_paying_on_or_before_the_due_date_costs_nothing_more() -> None:
    for paid_on in (date(2025, 7, 25), DUE):
        charges = late_charges(INSTALLMENT, DUE, paid_on, Decimal("0.02"))
        assert (charges.days_late, charges.charges, charges.amount_due) == (0, Decimal("0.00"), INSTALLMENT)


def test_a_smaller_contractual_fine_is_honoured() -> None:
    charges = late_charges(INSTALLMENT, DUE, date(2025, 8, 2), Decimal("0.02"), fine_rate=Decimal("0.01"))

    assert charges.fine == Decimal("9.46")  # 9.456 rounded half-even
    assert charges.default_interest == Decimal("0.32")  # 945.60 × 1% / 30


@pytest.mark.parametrize(
    ("fine_rate", "default_interest"),
    [(Decimal("0.0201"), Decimal("0.01")), (Decimal("0.02"), Decimal("0.011")), (Decimal("-0.01"), Decimal("0.01"))],
)
def test_a_fine_above_2_percent_or_mora_above_1_percent_a_month_is_refused(
    fine_rate: Decimal, default_interest: Decimal
) -> None:
    with pytest.raises(ValueError):
        late_charges(INSTALLMENT, DUE, date(2025, 9, 1), Decimal("0.02"), fine_rate, default_interest)
