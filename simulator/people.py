"""Deterministic people: the same CPF always gets the same name, birth date and credit profile.

Everything is derived from SHA-256 of the CPF's digits. Most CPFs are ordinary: regular status,
an adult birth date, a score between 300 and 950. Documented prefixes give the other answers
without any admin call (the check digits must still be right; see ``tests`` for a generator):

Federal Revenue Office, CPFs ``999`` + S + five digits + check digits, by S:
    0 regular · 2 suspended · 3 holder deceased · 4 pending regularisation
    5 cancelled (multiplicity) · 8 null · 9 cancelled ex officio
    1 → 404 not found · 6 → 422 minor (LGPD) · 7 → 206 regular without ``dataInscricao``

Credit bureau:
    ``998`` + SSS + three digits + check digits → score SSS (000–999), with negative records
    below 600; ``997`` + six digits + check digits → 404, no credit file.

An admin override (``PUT /_admin/federal-revenue/cpf/{cpf}``, ``PUT /_admin/credit-bureau/cpf/{cpf}``)
wins over both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

FIRST_NAMES = (
    "ANA",
    "BEATRIZ",
    "BRUNO",
    "CAMILA",
    "CARLOS",
    "DANIELA",
    "EDUARDO",
    "FERNANDA",
    "GABRIEL",
    "HELENA",
    "IGOR",
    "JULIANA",
    "LUCAS",
    "MARIANA",
    "MATEUS",
    "NATALIA",
    "PAULO",
    "RAFAELA",
    "RODRIGO",
    "SOFIA",
    "TIAGO",
    "VANESSA",
    "VITOR",
    "LARISSA",
)
SURNAMES = (
    "SILVA",
    "SANTOS",
    "OLIVEIRA",
    "SOUZA",
    "RODRIGUES",
    "FERREIRA",
    "ALVES",
    "PEREIRA",
    "LIMA",
    "GOMES",
    "COSTA",
    "RIBEIRO",
    "MARTINS",
    "CARVALHO",
    "ALMEIDA",
    "LOPES",
    "SOARES",
    "FERNANDES",
    "VIEIRA",
    "BARBOSA",
    "ROCHA",
    "DIAS",
    "NASCIMENTO",
    "ARAUJO",
)
CREDITORS = ("BANCO AURORA S.A.", "LOJAS HORIZONTE LTDA", "TELEFONICA SUL S.A.", "FINANCEIRA ATLAS S.A.")
NEGATIVE_KINDS = ("default", "protest", "bounced_cheque", "lawsuit")

SITUATION_DESCRIPTIONS = {
    "0": "REGULAR",
    "2": "SUSPENSA",
    "3": "TITULAR FALECIDO",
    "4": "PENDENTE DE REGULARIZAÇÃO",
    "5": "CANCELADA POR MULTIPLICIDADE",
    "8": "NULA",
    "9": "CANCELADA DE OFÍCIO",
}


def _seed(cpf: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}:{cpf}".encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Registration:
    """What the simulated Federal Revenue Office answers for a CPF."""

    outcome: str  # found | partial | not_found | minor
    name: str
    birth_date: date
    registered_on: date
    situation_code: str
    death_year: int | None


def registration_for(cpf: str) -> Registration:
    seed = _seed(cpf, "identity")
    first = FIRST_NAMES[seed % len(FIRST_NAMES)]
    middle = SURNAMES[(seed >> 8) % len(SURNAMES)]
    last = SURNAMES[(seed >> 16) % len(SURNAMES)]
    birth_date = date(1955, 1, 1) + timedelta(days=(seed >> 24) % (365 * 48))
    registered_on = birth_date + timedelta(days=365 * 18 + (seed >> 40) % 3000)
    outcome, code = "found", "0"
    if cpf.startswith("999"):
        selector = cpf[3]
        if selector in SITUATION_DESCRIPTIONS:
            code = selector
        elif selector == "1":
            outcome = "not_found"
        elif selector == "6":
            outcome = "minor"
        elif selector == "7":
            outcome = "partial"
    death_year = min(registered_on.year + 20, 2024) if code == "3" else None
    return Registration(
        outcome=outcome,
        name=f"{first} {middle} {last}",
        birth_date=birth_date,
        registered_on=registered_on,
        situation_code=code,
        death_year=death_year,
    )


@dataclass(frozen=True)
class NegativeRecordProfile:
    kind: str
    creditor: str
    amount: Decimal
    registered_on: date


@dataclass(frozen=True)
class CreditProfile:
    has_file: bool
    score: int
    negative_records: tuple[NegativeRecordProfile, ...]
    estimated_monthly_income: Decimal


def credit_profile_for(cpf: str) -> CreditProfile:
    seed = _seed(cpf, "credit")
    score = int(cpf[3:6]) if cpf.startswith("998") else 300 + seed % 651
    income = Decimal(1500 + (seed >> 12) % 470 * 50).quantize(Decimal("0.01"))
    count = 0 if score >= 600 else (1 if score >= 400 else 2)
    records = tuple(
        NegativeRecordProfile(
            kind=NEGATIVE_KINDS[(seed >> (20 + i * 4)) % len(NEGATIVE_KINDS)],
            creditor=CREDITORS[(seed >> (28 + i * 4)) % len(CREDITORS)],
            amount=Decimal(100 + (seed >> (36 + i * 4)) % 9000).quantize(Decimal("0.01")),
            registered_on=date(2020, 1, 1) + timedelta(days=(seed >> (44 + i)) % 1800),
        )
        for i in range(count)
    )
    return CreditProfile(
        has_file=not cpf.startswith("997"),
        score=score,
        negative_records=records,
        estimated_monthly_income=income,
    )
