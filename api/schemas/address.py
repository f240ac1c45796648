"""The customer's postal address in the API: given at registration, shown in the profile, replaced
with ``PUT /v1/me/address``. The CEP is accepted as ``01310-100`` or ``01310100`` and stored as its
8 digits; the UF must be one of the 27; a bad field answers 422 naming it (``address.postal_code``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr
from pydantic_core import PydanticCustomError

from api.fields import TEXT
from domain.postal_address import PostalAddress, format_postal_code, postal_code_digits

FederativeUnit = Literal[
    "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
]  # fmt: skip


# What the schema says is what is accepted: the constraints apply to the text as sent, and only
# then is it tidied (runs of white space made one, ends trimmed). A line that is only white space is
# refused after that; an empty or blank complement is no complement.
_PRINTABLE_OR_EMPTY = r"^[^\x00-\x1f\x7f]*$"


def _line(value: str) -> str:
    tidy = " ".join(value.split())
    if not tidy:
        raise PydanticCustomError("blank", "must not be blank")
    return tidy


def _blank_is_none(value: str) -> str | None:
    return " ".join(value.split()) or None


def _cep_digits(value: str) -> str:
    digits = postal_code_digits(value)
    if digits is None:  # the pattern already holds; kept for the type
        raise PydanticCustomError("postal_code", "must be a CEP of 8 digits, e.g. 01310-100")
    return digits


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    postal_code: Annotated[
        StrictStr,
        Field(
            pattern=r"^[0-9]{5}-?[0-9]{3}$", description="CEP: 8 digits, bare or as 00000-000", examples=["01310-100"]
        ),
        AfterValidator(_cep_digits),
    ]
    street: Annotated[
        StrictStr,
        Field(min_length=2, max_length=200, pattern=TEXT, description="Logradouro", examples=["Avenida Paulista"]),
        AfterValidator(_line),
    ]
    number: Annotated[
        StrictStr,
        Field(min_length=1, max_length=20, pattern=TEXT, description='Número ("s/n" when none)', examples=["1578"]),
        AfterValidator(_line),
    ]
    complement: (
        Annotated[StrictStr, Field(max_length=100, pattern=_PRINTABLE_OR_EMPTY), AfterValidator(_blank_is_none)] | None
    ) = Field(default=None, description="Complemento, optional (empty is none)", examples=["conjunto 12"])
    district: Annotated[
        StrictStr,
        Field(min_length=2, max_length=100, pattern=TEXT, description="Bairro", examples=["Bela Vista"]),
        AfterValidator(_line),
    ]
    city: Annotated[
        StrictStr,
        Field(min_length=2, max_length=100, pattern=TEXT, description="Cidade", examples=["São Paulo"]),
        AfterValidator(_line),
    ]
    state: Annotated[
        FederativeUnit, Field(description="UF: one of the 27 federative units, in capitals", examples=["SP"])
    ]

    def to_domain(self) -> PostalAddress:
        return PostalAddress(
            postal_code=self.postal_code,
            street=self.street,
            number=self.number,
            complement=self.complement,
            district=self.district,
            city=self.city,
            state=self.state,
        )


class AddressView(BaseModel):
    postal_code: str = Field(description="CEP as 00000-000")
    street: str
    number: str
    complement: str | None = None
    district: str
    city: str
    state: str = Field(description="UF")

    @classmethod
    def of(cls, address: PostalAddress) -> AddressView:
        return cls(
            postal_code=format_postal_code(address.postal_code),
            street=address.street,
            number=address.number,
            complement=address.complement,
            district=address.district,
            city=address.city,
            state=address.state,
        )
