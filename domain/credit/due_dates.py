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


def monthly_due_dates(first_due_date: date, count: int, skip: int = 0) -> tuple[date, ...]:
    """`count` monthly due dates, all anchored on the day of `first_due_date`, after `skip` months.

    The same dates as `add_months(first_due_date, skip + k)` for each k, without looking up the
    length of a month when the day exists in every month (the 28th or earlier): a 360-installment
    schedule needs them on every simulation.
    """
    day, year, month_index = first_due_date.day, first_due_date.year, first_due_date.month - 1 + skip
    if day <= 28:
        return tuple(date(year + m // 12, m % 12 + 1, day) for m in range(month_index, month_index + count))
    return tuple(add_months(first_due_date, skip + k) for k in range(count))
