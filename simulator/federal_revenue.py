"""Simulated Federal Revenue Office: SERPRO's Consulta CPF (v2) in shape."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from integrations.cpf import is_valid_cpf, mask_cpf
from simulator.people import SITUATION_DESCRIPTIONS, registration_for
from simulator.state import CPF_STATUS_CODES, ProviderFailure, StateDep, bearer_guard

log = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/federal-revenue",
    tags=["federal revenue"],
    dependencies=[Depends(bearer_guard("federal_revenue"))],
)


@router.get("/v2/cpf/{ni}")
async def consult_cpf(ni: str, state: StateDep) -> JSONResponse:
    async with state.faults.gate("federal-revenue", "lookup_cpf"):
        if not (ni.isdigit() and len(ni) == 11 and is_valid_cpf(ni)):
            raise ProviderFailure(400, "invalid_request", "O número de CPF informado não é válido", style="serpro")
        registration = registration_for(ni)
        override = state.cpf_overrides.get(ni)
        outcome = override.outcome if override else registration.outcome
        if outcome == "not_found":
            raise ProviderFailure(
                404, "not_found", "Não existe CPF com o número de inscrição informado", style="serpro"
            )
        if outcome == "minor":
            raise ProviderFailure(
                422, "lgpd_protection", "Dados de menor de idade bloqueados em atendimento à LGPD", style="serpro"
            )
        code = registration.situation_code
        name, birth_date = registration.name, registration.birth_date
        death_year, social_name = registration.death_year, None
        if override is not None:
            if override.status is not None:
                code = CPF_STATUS_CODES[override.status]
            if override.situation_code is not None:
                code = override.situation_code
            name = override.name or name
            birth_date = override.birth_date or birth_date
            social_name = override.social_name
            if override.death_year is not None:
                death_year = override.death_year
        body: dict[str, object] = {
            "ni": ni,
            "nome": name,
            "situacao": {"codigo": code, "descricao": SITUATION_DESCRIPTIONS[code]},
            "nascimento": birth_date.strftime("%d%m%Y"),
        }
        if outcome != "partial":
            body["dataInscricao"] = registration.registered_on.strftime("%d%m%Y")
        if code == "3":
            body["obito"] = str(death_year or registration.registered_on.year + 20)
        if social_name:
            body["nomeSocial"] = social_name
    log.info("simulator.cpf.consulted", cpf=mask_cpf(ni), situation=code)
    return JSONResponse(body, status_code=206 if outcome == "partial" else 200)
