"""CPF numbers: normalising, check digits, masking.

A CPF is 11 digits: nine base digits and two check digits, each a weighted sum modulo 11. Numbers
of one repeated digit (``111.111.111-11``) pass the arithmetic but are not issued, so they are
invalid. A CPF never reaches a log unmasked: log :func:`mask_cpf` of it.
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D")
_FORMATTED = re.compile(r"^\d{3}\.?\d{3}\.?\d{3}-?\d{2}$")


def normalize_cpf(value: str) -> str:
    """Digits only: ``"123.456.789-09"`` → ``"12345678909"``. Does not validate."""
    return _NON_DIGITS.sub("", value)


def cpf_check_digits(base: str) -> str:
    """The two check digits for nine base digits."""
    if len(base) != 9 or not base.isdigit():
        raise ValueError("a CPF base is nine digits")
    digits = [int(d) for d in base]
    first = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) * 10 % 11 % 10
    digits.append(first)
    second = sum(d * w for d, w in zip(digits, range(11, 1, -1), strict=True)) * 10 % 11 % 10
    return f"{first}{second}"


def is_valid_cpf(value: str) -> bool:
    """True for a well-formed CPF (bare digits or ``000.000.000-00``) with correct check digits."""
    if not _FORMATTED.match(value.strip()):
        return False
    digits = normalize_cpf(value)
    if len(set(digits)) == 1:
        return False
    return cpf_check_digits(digits[:9]) == digits[9:]


def format_cpf(value: str) -> str:
    """``"12345678909"`` → ``"123.456.789-09"``."""
    digits = normalize_cpf(value)
    if len(digits) != 11:
        raise ValueError("a CPF has 11 digits")
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def mask_cpf(value: str) -> str:
    """``"12345678909"`` → ``"***.456.789-**"``: safe for logs and support screens.

    Anything that is not 11 digits is masked whole, so a typo never leaks a real number.
    """
    digits = normalize_cpf(value)
    if len(digits) != 11:
        return "***.***.***-**"
    return f"***.{digits[3:6]}.{digits[6:9]}-**"
