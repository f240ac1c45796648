"""Credit bureau: score, negative records and an income estimate for a CPF.

Wire format (the CPF goes in the body, never in a URL)::

    POST {base}/v1/reports  {"cpf": "12345678909"}
    200 {"report_id": "rep_…", "cpf": "12345678909", "score": 712,
         "negative_records": [{"kind": "protest", "creditor": "…", "amount": "1520.00",
                               "registered_on": "2024-03-01"}],
         "estimated_monthly_income": "5400.00", "generated_at": "2026-01-01T12:00:00Z"}
    400/422 invalid CPF · 404 the bureau has no file on the CPF
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import httpx
from pydantic import BaseModel, ConfigDict, Field

from integrations.cpf import is_valid_cpf, normalize_cpf
from integrations.errors import CreditFileNotFound, InvalidCpf, UnexpectedProviderAnswer
from integrations.http import RefusalMap, WireMoney, parse_body, send_request

PROVIDER = "credit_bureau"


class NegativeRecordKind(StrEnum):
    DEFAULT = "default"  # dívida vencida reported by a creditor
    PROTEST = "protest"  # protesto em cartório
    BOUNCED_CHEQUE = "bounced_cheque"  # cheque sem fundo (CCF)
    LAWSUIT = "lawsuit"  # ação judicial


class NegativeRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: NegativeRecordKind
    creditor: str
    amount: WireMoney
    registered_on: date


class CreditReport(BaseModel):
    """The bureau's view of a CPF at ``generated_at``."""

    model_config = ConfigDict(frozen=True)

    report_id: str
    cpf: str = Field(pattern=r"^[0-9]{11}$")
    score: int = Field(ge=0, le=1000)
    negative_records: list[NegativeRecord]
    estimated_monthly_income: WireMoney
    generated_at: datetime

    @property
    def total_negative_amount(self) -> Decimal:
        return sum((record.amount for record in self.negative_records), Decimal("0"))


_REFUSALS: RefusalMap = {"invalid_cpf": InvalidCpf, 400: InvalidCpf, 422: InvalidCpf, 404: CreditFileNotFound}


class CreditBureauClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def fetch_credit_report(self, cpf: str) -> CreditReport:
        operation = "credit_report"
        if not is_valid_cpf(cpf):
            raise InvalidCpf("the CPF's check digits are wrong", provider=PROVIDER, operation=operation)
        digits = normalize_cpf(cpf)
        response = await send_request(
            self._http,
            "POST",
            "v1/reports",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
            json={"cpf": digits},
        )
        report = parse_body(CreditReport, response, provider=PROVIDER, operation=operation)
        if report.cpf != digits:
            raise UnexpectedProviderAnswer("the report is about another CPF", provider=PROVIDER, operation=operation)
        if report.estimated_monthly_income < 0:
            raise UnexpectedProviderAnswer("negative income estimate", provider=PROVIDER, operation=operation)
        return report
