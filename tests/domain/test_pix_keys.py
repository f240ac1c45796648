"""A corrected payout key must be one of the borrower's own identifiers, in the directory's format."""

from __future__ import annotations

import pytest

from domain.pix_keys import customers_own_pix_key, pix_key_kind

CUSTOMER = {"cpf": "12345678909", "email": "maria.souza@example.com", "phone": "+5511987654321"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12345678909", "12345678909"),
        ("123.456.789-09", "12345678909"),
        ("maria.souza@example.com", "maria.souza@example.com"),
        ("  Maria.Souza@EXAMPLE.com ", "maria.souza@example.com"),
        ("+5511987654321", "+5511987654321"),
        ("+55 (11) 98765-4321", "+5511987654321"),
    ],
)
def test_the_customers_own_keys_are_accepted_in_the_directorys_format(given: str, expected: str) -> None:
    assert customers_own_pix_key(given, **CUSTOMER) == expected


@pytest.mark.parametrize(
    "given",
    [
        "98765432100",  # somebody else's CPF
        "joao@example.com",
        "+5511912345678",
        "c4249323-b4ca-43f2-8139-8232aab09b93",  # a random key: whose, nobody here can tell
        "5511987654321",  # the phone without "+": the directory would read it as another key
        "",
        "maria.souza@example.com" + " " * 200,
    ],
)
def test_any_other_key_is_refused(given: str) -> None:
    assert customers_own_pix_key(given, **CUSTOMER) is None


def test_kinds_for_the_audit_log() -> None:
    assert [pix_key_kind(k) for k in ("12345678909", "a@b.co", "+5511987654321", "x")] == [
        "cpf",
        "email",
        "phone",
        "other",
    ]
