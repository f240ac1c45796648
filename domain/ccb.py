"""The Cédula de Crédito Bancário (Lei 10.931/2004, arts. 26-29) of an accepted offer, as data.

Pure: what the contract says, not how it is drawn (``activities.contract_document`` lays it out as
a PDF/A). Every figure is the credit kernel's, to the centavo; nothing is recomputed here except the
CET worksheet of Resolução CMN 4.881/2020, which splits what the borrower pays into the amount
released and the cost of the credit (interest, IOF, fees), each as an amount and as a share of the
total payable, the shares rounded so that they add up to exactly 100 %.

Rates travel as fractions (``Decimal("0.0199")``) and are shown, here and in the API, as percentages
with two decimals rounded half-even (``1,99 %``), the way the kernel reports the CET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from domain.credit.money import CENTAVO, as_percent

HUNDRED = Decimal("100.00")
_MONTHS = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
)  # fmt: skip


@dataclass(frozen=True)
class CcbParty:
    """A party of the contract, fully identified: the document lives in the ECM, never in a log."""

    name: str
    document: str  # the borrower's CPF (11 digits) or the lender's CNPJ (14 digits)
    # The postal address as one line (``domain.postal_address.PostalAddress.one_line``): the borrower's
    # is required to issue the contract (``activities.contract_document.borrower_of`` refuses without it).
    address: str | None


@dataclass(frozen=True)
class CcbInstallment:
    number: int
    due_date: date
    payment: Decimal
    interest: Decimal
    amortization: Decimal
    balance: Decimal


@dataclass(frozen=True)
class CcbTerms:
    contract_number: str
    lender: CcbParty
    borrower: CcbParty
    issue_date: date
    place: str
    amount: Decimal
    amount_financed: Decimal
    amount_released: Decimal
    iof_total: Decimal
    fees_total: Decimal
    monthly_rate: Decimal
    cet_monthly: Decimal
    cet_annual: Decimal
    total_payable: Decimal
    amortization: str
    installments: tuple[CcbInstallment, ...]
    # Days to withdraw from the contract (CDC art. 49), when the product offers it.
    withdrawal_days: int | None = 7

    @property
    def total_interest(self) -> Decimal:
        return self.total_payable - self.amount_financed

    @property
    def first_due_date(self) -> date:
        return self.installments[0].due_date

    @property
    def last_due_date(self) -> date:
        return self.installments[-1].due_date


@dataclass(frozen=True)
class WorksheetLine:
    label: str
    amount: Decimal
    percent: Decimal  # of the total payable, two decimals


@dataclass(frozen=True)
class CetWorksheet:
    """Planilha de cálculo do CET: what the borrower pays, split into what they got and what it cost."""

    lines: tuple[WorksheetLine, ...]
    total_payable: Decimal
    cet_monthly_percent: Decimal
    cet_annual_percent: Decimal


def shares_of_hundred(amounts: list[Decimal], total: Decimal) -> list[Decimal]:
    """Each amount as a percentage of ``total`` with two decimals, adding up to exactly 100.00.

    Largest remainder: every share is first rounded down to the hundredth; the hundredths still
    missing go, one each, to the shares that lost the most in rounding (ties to the first listed).
    """
    if total <= 0:
        raise ValueError("the total must be positive")
    exact = [amount * 100 / total for amount in amounts]
    floors = [share.quantize(CENTAVO, rounding=ROUND_FLOOR) for share in exact]
    missing = int(((HUNDRED - sum(floors, Decimal(0))) / CENTAVO).to_integral_value())
    by_loss = sorted(range(len(amounts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_loss[:missing]:
        floors[i] += CENTAVO
    return floors


def cet_worksheet(terms: CcbTerms) -> CetWorksheet:
    """The CET worksheet: amount released, interest, IOF and fees, which add up to the total payable."""
    parts = [
        ("Valor liberado ao Emitente", terms.amount_released),
        ("Juros remuneratórios", terms.total_interest),
        ("IOF", terms.iof_total),
        ("Tarifas", terms.fees_total),
    ]
    amounts = [amount for _, amount in parts]
    if sum(amounts, Decimal(0)) != terms.total_payable:
        raise ValueError("the worksheet's parts do not add up to the total payable")
    shares = shares_of_hundred(amounts, terms.total_payable)
    return CetWorksheet(
        lines=tuple(WorksheetLine(label, amount, share) for (label, amount), share in zip(parts, shares, strict=True)),
        total_payable=terms.total_payable,
        cet_monthly_percent=as_percent(terms.cet_monthly),
        cet_annual_percent=as_percent(terms.cet_annual),
    )


# How the contract writes numbers, dates and documents (pt-BR).


def brl(amount: Decimal) -> str:
    """``Decimal("12345.6")`` → ``R$ 12.345,60``."""
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    return f"{sign}R$ {_thousands(int(whole))},{cents}"


def _thousands(whole: int) -> str:
    return f"{whole:,}".replace(",", ".")


def percent(value: Decimal) -> str:
    """A percentage already in percent (``Decimal("2.33")``) → ``2,33 %``."""
    return f"{value:.2f} %".replace(".", ",")


def rate_percent(rate: Decimal) -> str:
    """A rate as a fraction (``Decimal("0.0233")``) → ``2,33 %``, rounded as the CET is disclosed."""
    return percent(as_percent(rate))


def date_br(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def date_in_words(day: date) -> str:
    """``2026-12-01`` → ``1º de dezembro de 2026``."""
    first = "1º" if day.day == 1 else str(day.day)
    return f"{first} de {_MONTHS[day.month - 1]} de {day.year}"


def format_cpf(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}" if len(cpf) == 11 and cpf.isdigit() else cpf


def format_cnpj(cnpj: str) -> str:
    if len(cnpj) == 14 and cnpj.isdigit():
        return f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}"
    return cnpj


AMORTIZATION_NAMES = {"price": "Tabela Price (parcelas fixas)", "sac": "SAC (amortização constante)"}
