"""A Brazilian postal address, as a customer gives it and as the CCB prints it.

Pure: the 27 federative units, the CEP as its 8 digits, and the one line the contract writes. An
address is personal data (LGPD): it lives in PostgreSQL and in the contract kept in the ECM, never
in a log line or a Temporal payload (activities load it by customer id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The 26 states and the Federal District, by their IBGE abbreviations (UF).
FEDERATIVE_UNITS: tuple[str, ...] = (
    "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
)  # fmt: skip

_POSTAL_CODE = re.compile(r"([0-9]{5})-?([0-9]{3})")  # ASCII digits only, not any Unicode digit


def postal_code_digits(text: str) -> str | None:
    """A CEP written ``01310-100`` or ``01310100`` → ``01310100``; anything else → None."""
    match = _POSTAL_CODE.fullmatch(text.strip())
    return match[1] + match[2] if match else None


def format_postal_code(digits: str) -> str:
    """``01310100`` → ``01310-100``."""
    return f"{digits[:5]}-{digits[5:]}" if len(digits) == 8 and digits.isdigit() else digits


@dataclass(frozen=True)
class PostalAddress:
    """Logradouro, número, complemento, bairro, cidade, UF and CEP (8 digits)."""

    postal_code: str
    street: str
    number: str
    district: str
    city: str
    state: str
    complement: str | None = None

    def __post_init__(self) -> None:
        if self.state not in FEDERATIVE_UNITS:
            raise ValueError("state must be one of the 27 federative units (UF)")
        if not re.fullmatch(r"[0-9]{8}", self.postal_code):
            raise ValueError("postal_code must be the CEP's 8 digits")

    def one_line(self) -> str:
        """``Avenida Paulista, 1578, conjunto 12, Bela Vista, São Paulo/SP, CEP 01310-100``."""
        parts = [self.street, self.number, self.complement, self.district, f"{self.city}/{self.state}"]
        return ", ".join(part for part in parts if part) + f", CEP {format_postal_code(self.postal_code)}"
