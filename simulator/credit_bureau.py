"""Simulated credit bureau: a deterministic report per CPF, overridable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import structlog
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from integrations.cpf import is_valid_cpf, mask_cpf
from simulator.people import credit_profile_for
from simulator.state import ProviderFailure, StateDep, bearer_guard

log = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/credit-bureau",
    tags=["credit bureau"],
    dependencies=[Depends(bearer_guard("credit_bureau"))],
)


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpf: str


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


@router.post("/v1/reports")
async def credit_report(request: ReportRequest, state: StateDep) -> dict[str, object]:
    async with state.faults.gate("credit-bureau", "credit_report"):
        cpf = request.cpf
        if not (cpf.isdigit() and len(cpf) == 11 and is_valid_cpf(cpf)):
            raise ProviderFailure(422, "invalid_cpf", "the CPF is not valid")
        profile = credit_profile_for(cpf)
        override = state.credit_overrides.get(cpf)
        has_file = profile.has_file if override is None else override.outcome == "found"
        if not has_file:
            raise ProviderFailure(404, "credit_file_not_found", "no credit file for this CPF")
        score = profile.score
        records = [
            {
                "kind": r.kind,
                "creditor": r.creditor,
                "amount": _money(r.amount),
                "registered_on": r.registered_on.isoformat(),
            }
            for r in profile.negative_records
        ]
        income = profile.estimated_monthly_income
        if override is not None:
            if override.score is not None:
                score = override.score
            if override.negative_records is not None:
                records = [
                    {
                        "kind": r.kind,
                        "creditor": r.creditor,
                        "amount": _money(r.amount),
                        "registered_on": r.registered_on.isoformat(),
                    }
                    for r in override.negative_records
                ]
            if override.estimated_monthly_income is not None:
                income = override.estimated_monthly_income
    log.info("simulator.credit.reported", cpf=mask_cpf(cpf), score=score)
    return {
        "report_id": f"rep_{uuid.uuid4().hex}",
        "cpf": cpf,
        "score": score,
        "negative_records": records,
        "estimated_monthly_income": _money(income),
        "generated_at": datetime.now(UTC).isoformat(),
    }
