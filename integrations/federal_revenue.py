"""Federal Revenue Office (Receita Federal): CPF registration lookup.

The provider answers in the shape of SERPRO's Consulta CPF (v2)::

    GET {base}/v2/cpf/{ni}
    200 {"ni": "40442820135", "nome": "PESSOA FISICA DA SILVA",
         "situacao": {"codigo": "0", "descricao": "REGULAR"},
         "nascimento": "14111970", "dataInscricao": "20091985",
         "obito": "2023", "nomeSocial": "…"}          (the last two only when they exist)
    206 the same without dataInscricao
    400 invalid CPF · 404 no such CPF · 422 a minor's data, withheld under the LGPD

Situation codes: 0 regular, 2 suspended, 3 holder deceased, 4 pending regularisation,
5 cancelled (multiplicity), 8 null, 9 cancelled ex officio.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from integrations.cpf import is_valid_cpf, normalize_cpf
from integrations.errors import CpfDataProtected, CpfNotFound, InvalidCpf, UnexpectedProviderAnswer
from integrations.http import RefusalMap, parse_body, path_segment, send_request

PROVIDER = "federal_revenue"


class CpfStatus(StrEnum):
    REGULAR = "regular"
    SUSPENDED = "suspended"
    HOLDER_DECEASED = "holder_deceased"
    PENDING_REGULARISATION = "pending_regularisation"
    CANCELLED = "cancelled"
    NULL = "null"


STATUS_BY_CODE: dict[str, CpfStatus] = {
    "0": CpfStatus.REGULAR,
    "2": CpfStatus.SUSPENDED,
    "3": CpfStatus.HOLDER_DECEASED,
    "4": CpfStatus.PENDING_REGULARISATION,
    "5": CpfStatus.CANCELLED,  # cancelada por multiplicidade
    "8": CpfStatus.NULL,
    "9": CpfStatus.CANCELLED,  # cancelada de ofício
}


class CpfRegistration(BaseModel):
    """What the Federal Revenue Office holds about a CPF."""

    model_config = ConfigDict(frozen=True)

    cpf: str
    holder_name: str
    social_name: str | None
    birth_date: date
    status: CpfStatus
    status_code: str
    status_description: str
    registered_on: date | None  # absent in a partial (206) answer
    death_year: int | None

    @property
    def is_regular(self) -> bool:
        return self.status is CpfStatus.REGULAR


# The provider's wire format.


def _ddmmyyyy(value: str) -> date:
    return datetime.strptime(value, "%d%m%Y").date()  # noqa: DTZ007 - a calendar date, no time of day


class _Situacao(BaseModel):
    codigo: str
    descricao: str


class _ConsultaCpf(BaseModel):
    ni: str = Field(pattern=r"^[0-9]{11}$")
    nome: str = Field(min_length=1)
    situacao: _Situacao
    nascimento: date
    data_inscricao: date | None = Field(default=None, alias="dataInscricao")
    obito: int | None = None
    nome_social: str | None = Field(default=None, alias="nomeSocial")

    @field_validator("nascimento", "data_inscricao", mode="before")
    @classmethod
    def _parse_date(cls, value: object) -> object:
        return _ddmmyyyy(value) if isinstance(value, str) else value

    @field_validator("obito", mode="before")
    @classmethod
    def _parse_year(cls, value: object) -> object:
        return int(value) if isinstance(value, str) and value.isdigit() else value


_REFUSALS: RefusalMap = {400: InvalidCpf, 404: CpfNotFound, 422: CpfDataProtected}


class FederalRevenueClient:
    """Looks up CPF registrations. Give it the ``httpx.AsyncClient`` built by the factory."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def lookup_cpf(self, cpf: str) -> CpfRegistration:
        """The registration of ``cpf`` (digits or ``000.000.000-00``).

        Raises :class:`InvalidCpf` without calling out when the check digits are wrong,
        :class:`CpfNotFound`, :class:`CpfDataProtected`, or a transient/permanent provider error.
        """
        operation = "lookup_cpf"
        if not is_valid_cpf(cpf):
            raise InvalidCpf("the CPF's check digits are wrong", provider=PROVIDER, operation=operation)
        digits = normalize_cpf(cpf)
        response = await send_request(
            self._http,
            "GET",
            f"v2/cpf/{path_segment(digits)}",
            provider=PROVIDER,
            operation=operation,
            refusals=_REFUSALS,
        )
        answer = parse_body(_ConsultaCpf, response, provider=PROVIDER, operation=operation)
        status = STATUS_BY_CODE.get(answer.situacao.codigo)
        if status is None:
            raise UnexpectedProviderAnswer(
                f"unknown situation code {answer.situacao.codigo!r}",
                provider=PROVIDER,
                operation=operation,
                status_code=response.status_code,
            )
        if answer.ni != digits:
            raise UnexpectedProviderAnswer("the answer is about another CPF", provider=PROVIDER, operation=operation)
        return CpfRegistration(
            cpf=answer.ni,
            holder_name=answer.nome,
            social_name=answer.nome_social,
            birth_date=answer.nascimento,
            status=status,
            status_code=answer.situacao.codigo,
            status_description=answer.situacao.descricao,
            registered_on=answer.data_inscricao,
            death_year=answer.obito,
        )
