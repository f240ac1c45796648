"""The lender's business date: the calendar day in Brasília, not in UTC.

Due dates, payoff quotes and late days are counted in Brasília time, where the customer lives.
Brazil has kept UTC-3 all year since daylight saving ended in 2019 (Decreto 9.772/2019), so a fixed
offset is exact and keeps workflows deterministic (no time-zone database inside the sandbox).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BRASILIA = timezone(timedelta(hours=-3), "BRT")


def business_date(moment: datetime) -> date:
    """The date in Brasília at `moment` (an aware datetime, e.g. `workflow.now()`)."""
    return moment.astimezone(BRASILIA).date()


def business_today() -> date:
    """Today in Brasília, for code outside workflows (the API, the CLI); workflows use `workflow.now()`."""
    return business_date(datetime.now(UTC))
