"""The Cédula de Crédito Bancário (Lei 10.931/2004, arts. 26-29) of an accepted offer, as text.

Pure: the contract activity renders these lines into the document it stores in the ECM and sends
for signature. The CET and the IOF are printed because Resolução CMN 4.881/2020 requires the CET
to be disclosed in the contract, and the IOF is part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class CcbInstallment:
    number: int
    due_date: date
    payment: Decimal


@dataclass(frozen=True)
class CcbTerms:
    contract_number: str
    borrower_name: str
    borrower_cpf_masked: str
    lender_name: str
    issue_date: date
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


def _brl(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"R$ {groups},{cents}"


def _pct(rate: Decimal) -> str:
    return f"{rate:.2f}%".replace(".", ",")


def ccb_lines(terms: CcbTerms) -> list[str]:
    lines = [
        "CEDULA DE CREDITO BANCARIO - EMPRESTIMO PESSOAL",
        f"No. {terms.contract_number}    Emissao: {terms.issue_date.strftime('%d/%m/%Y')}",
        "",
        f"Credor: {terms.lender_name}",
        f"Emitente: {terms.borrower_name}  CPF: {terms.borrower_cpf_masked}",
        "",
        f"Valor solicitado: {_brl(terms.amount)}",
        f"Valor financiado: {_brl(terms.amount_financed)}",
        f"IOF: {_brl(terms.iof_total)}    Tarifas: {_brl(terms.fees_total)}",
        f"Valor liberado: {_brl(terms.amount_released)}",
        f"Taxa de juros: {_pct(terms.monthly_rate * 100)} ao mes ({terms.amortization.upper()})",
        f"CET: {_pct(terms.cet_monthly)} ao mes / {_pct(terms.cet_annual)} ao ano",
        f"Total a pagar: {_brl(terms.total_payable)} em {len(terms.installments)} parcelas",
        "",
        "Parcela  Vencimento  Valor",
    ]
    lines += [f"{i.number:>7}  {i.due_date.strftime('%d/%m/%Y')}  {_brl(i.payment)}" for i in terms.installments]
    lines += [
        "",
        "Encargos por atraso: multa de 2% (CDC art. 52, par. 1), juros de mora de 1% ao mes pro rata die",
        "e juros remuneratorios pelos dias de atraso. Liquidacao antecipada com reducao proporcional",
        "dos juros (CDC art. 52, par. 2).",
    ]
    return lines
