"""`lendflow quote`: the loan simulation of `POST /v1/loan-simulations`, as a table in the terminal.

    lendflow quote 10000.00 12 0.02
    lendflow quote 10000.00 12 0.02 --amortization sac --release-date 2025-07-01 --fee cadastro=50.00

The same kernel (`domain.credit.simulate`) and the same limits from settings as the API.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.business_calendar import business_today
from domain.credit import (
    Amortization,
    CustomerType,
    Fee,
    InvalidLoanTerms,
    LoanSimulation,
    LoanTerms,
    OfferLimits,
    problems_with,
    problems_with_limits,
    simulate,
)
from domain.credit.due_dates import add_months
from lendflow.settings import get_settings


def quote(
    amount: Annotated[str, typer.Argument(help='Amount asked, in reais, e.g. "10000.00".')],
    term_months: Annotated[int, typer.Argument(help="Number of monthly installments, 1 to 420.")],
    monthly_rate_percent: Annotated[
        str, typer.Argument(help='Monthly effective rate in percent, as the API takes it: "1.99" for 1,99 % a month.')
    ],
    amortization: Annotated[Amortization, typer.Option(help="price (fixed installment) or sac.")] = Amortization.PRICE,
    release_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD; defaults to today in Brasília.")] = None,
    first_due_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD; defaults to one month later.")] = None,
    customer_type: Annotated[CustomerType, typer.Option(help="PF or PJ.")] = CustomerType.INDIVIDUAL,
    finance_iof: Annotated[bool, typer.Option(help="Add the IOF to the principal instead of withholding it.")] = False,
    grace_months: Annotated[int, typer.Option(help="Months of grace, interest capitalised.")] = 0,
    fee: Annotated[list[str] | None, typer.Option(help="An upfront fee as name=amount; repeatable.")] = None,
) -> None:
    """Print the installments, IOF, fees, amounts and CET of a loan."""
    release = _date(release_date, "--release-date") if release_date else business_today()
    terms = LoanTerms(
        amount=_decimal(amount, "AMOUNT"),
        term_months=term_months,
        monthly_rate=_decimal(monthly_rate_percent, "MONTHLY_RATE_PERCENT") / 100,
        amortization=amortization,
        release_date=release,
        first_due_date=_date(first_due_date, "--first-due-date") if first_due_date else add_months(release, 1),
        customer_type=customer_type,
        finance_iof=finance_iof,
        grace_months=grace_months,
        fees=tuple(_fee(text) for text in fee or []),
    )
    problems = problems_with(terms)
    already_bad = {p.field for p in problems}
    limits = OfferLimits(**get_settings().credit.model_dump())
    problems += [p for p in problems_with_limits(terms, limits) if p.field not in already_bad]
    try:
        if problems:
            raise InvalidLoanTerms(problems)
        simulation = simulate(terms)
    except InvalidLoanTerms as exc:
        for problem in exc.problems:
            typer.secho(f"{problem.field}: {problem.message}", fg="red", err=True)
        raise typer.Exit(2) from exc
    _print(simulation, Console())


def _print(simulation: LoanSimulation, console: Console) -> None:
    terms = simulation.terms
    title = f"{terms.amortization.value.upper()} · {terms.term_months} × at {terms.monthly_rate * 100:f} % a month"
    table = Table(title=title)
    for column in ("#", "due date", "payment", "interest", "amortization", "balance"):
        table.add_column(column, justify="left" if column == "due date" else "right")
    for i in simulation.installments:
        table.add_row(
            str(i.number),
            i.due_date.isoformat(),
            *(_brl(amount) for amount in (i.payment, i.interest, i.amortization, i.balance)),
        )
    console.print(table)

    iof = simulation.iof
    summary = Table(show_header=False, box=None)
    summary.add_column(justify="left")
    summary.add_column(justify="right")
    rows = [
        ("amount financed", _brl(simulation.amount_financed)),
        ("IOF daily + flat", f"{_brl(iof.daily)} + {_brl(iof.flat)} = {_brl(iof.total)}"),
        ("fees", _brl(simulation.fees_total)),
        ("amount released", _brl(simulation.amount_released)),
        ("capitalised interest", _brl(simulation.schedule.capitalized_interest)),
        ("total payable", _brl(simulation.total_payable)),
        ("total interest", _brl(simulation.total_interest)),
        ("CET", f"{simulation.cet.monthly_percent}% a month, {simulation.cet.annual_percent}% a year"),
        ("IOF table", simulation.assumptions.iof_table_version),
    ]
    for label, value in rows:
        summary.add_row(label, value)
    console.print(summary)


def _brl(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise typer.BadParameter(f'{text!r} is not a decimal number such as "1500.00"', param_hint=name) from None
    if not value.is_finite():
        raise typer.BadParameter(f"{text!r} is not a finite number", param_hint=name)
    return value


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date written as YYYY-MM-DD", param_hint=name) from None


def _fee(text: str) -> Fee:
    name, separator, amount = text.partition("=")
    if not separator or not name.strip():
        raise typer.BadParameter(f"{text!r} is not name=amount", param_hint="--fee")
    return Fee(name=name.strip(), amount=_decimal(amount, "--fee"))
