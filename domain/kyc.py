"""Know-your-customer rules: what the Federal Revenue's answer and the documents must show.

Pure: the onboarding workflow decides with these once the provider answers are in.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

REQUIRED_DOCUMENTS: tuple[str, ...] = ("id_front", "id_back", "selfie")


def normalize_name(name: str) -> str:
    """Case, accents and spacing do not make two names different: 'JOSÉ  da Silva' == 'Jose da silva'."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(without_accents.casefold().split())


@dataclass(frozen=True)
class CpfFinding:
    """Whether the CPF lets the customer in, and why not."""

    accepted: bool
    reason: str | None = None


def assess_cpf(
    *, status: str, holder_name: str, holder_birth_date: date | None, declared_name: str, declared_birth_date: date
) -> CpfFinding:
    """The CPF must be regular and its holder's name and birth date must match what was declared."""
    if status != "regular":
        return CpfFinding(False, f"cpf_status_{status}")
    if normalize_name(holder_name) != normalize_name(declared_name):
        return CpfFinding(False, "name_mismatch")
    if holder_birth_date is not None and holder_birth_date != declared_birth_date:
        return CpfFinding(False, "birth_date_mismatch")
    return CpfFinding(True)


def missing_documents(validated: set[str]) -> list[str]:
    return [d for d in REQUIRED_DOCUMENTS if d not in validated]
