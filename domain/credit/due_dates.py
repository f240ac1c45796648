"""Due dates of monthly installments.

Installments fall on the same day of each month as the first due date; a month without that day
(the 29th to 31st) takes its last day instead, and the following months return to the original day
(31 Jan, 29 Feb, 31 Mar, 30 Apr, ...).
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` later, rolled back to the month's last day where it has none."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last_day))


def monthly_due_dates(first_due_date: date, count: int) -> tuple[date, ...]:
    """`count` monthly due dates, all anchored on the day of `first_due_date`."""
    return tuple(add_months(first_due_date, k) for k in range(count))
