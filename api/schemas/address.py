"""The customer's postal address in the API: given at registration, shown in the profile, replaced
with ``PUT /v1/me/address``. The CEP is accepted as ``01310-100`` or ``01310100`` and stored as its
8 digits; the UF must be one of the 27; a bad field answers 422 naming it (``address.postal_code``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from api.fields import TEXT
from domain.postal_address import PostalAddress, format_postal_code, postal_code_digits

FederativeUnit = Literal[
    "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
]  # fmt: skip


def _text(value: object) -> object:
    """Runs of white space made one, ends trimmed (before the length and pattern checks)."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _optional_text(value: object) -> object:
    """An empty complement is no complement."""
    value = _text(value)
    return value or None


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Line = BeforeValidator(_text)


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    postal_code: Annotated[
        StrictStr,
        Field(
            pattern=r"^\s*\d{5}-?\d{3}\s*$", description="CEP: 8 digits, bare or as 00000-000", examples=["01310-100"]
        ),
    ]
    street: Annotated[
        StrictStr,
        Line,
        Field(min_length=2, max_length=200, pattern=TEXT, description="Logradouro", examples=["Avenida Paulista"]),
    ]
    number: Annotated[
        StrictStr,
        Line,
        Field(min_length=1, max_length=20, pattern=TEXT, description='Número ("s/n" when none)', examples=["1578"]),
    ]
    complement: Annotated[StrictStr, Field(max_length=100, pattern=TEXT)] | None = Field(
        default=None, description="Complemento, optional", examples=["conjunto 12"]
    )
    district: Annotated[
        StrictStr,
        Line,
        Field(min_length=2, max_length=100, pattern=TEXT, description="Bairro", examples=["Bela Vista"]),
    ]
    city: Annotated[
        StrictStr, Line, Field(min_length=2, max_length=100, pattern=TEXT, description="Cidade", examples=["São Paulo"])
    ]
    state: Annotated[
        FederativeUnit,
        BeforeValidator(_upper),
        Field(description="UF: one of the 27 federative units", examples=["SP"]),
    ]

    @field_validator("complement", mode="before")
    @classmethod
    def _complement(cls, value: object) -> object:
        """An empty complement is no complement; anything but a string is left for the type check."""
        return _optional_text(value) if isinstance(value, str) else value

    @field_validator("postal_code")
    @classmethod
    def _postal_code(cls, value: str) -> str:
        digits = postal_code_digits(value)
        if digits is None:
            raise PydanticCustomError("postal_code", "must be a CEP of 8 digits, e.g. 01310-100")
        return digits

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
    def of(cls, address: PostalAddress | None) -> AddressView | None:
        if address is None:
            return None
        return cls(
            postal_code=format_postal_code(address.postal_code),
            street=address.street,
            number=address.number,
            complement=address.complement,
            district=address.district,
            city=address.city,
            state=address.state,
        )
