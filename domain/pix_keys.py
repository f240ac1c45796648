"""Which PIX keys a loan may be paid out to.

A loan is released to its borrower. By default the payout goes to the customer's CPF as a PIX key;
when the directory (DICT) does not know that key, ops may retry the payout with another key, but
only with one of the customer's own identifiers as registered with us: the CPF, the e-mail or the
mobile phone. Those are checked here, with no directory lookup; a random key (EVP) or somebody
else's e-mail cannot be told apart from a stranger's and is refused.

Keys are compared in the directory's own formats: CPF as 11 digits, e-mail in lower case, phone in
E.164 (``+5511987654321``).
"""

from __future__ import annotations

import re

_CPF = re.compile(r"^\d{3}\.?\d{3}\.?\d{3}-?\d{2}$")
_NON_DIGITS = re.compile(r"\D")
_PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
MAX_KEY_LENGTH = 77  # the directory's limit (an e-mail key)


def normalize_pix_key(key: str) -> str:
    """A key in the directory's format: CPF digits, e-mail lower-cased, phone without punctuation."""
    key = key.strip()
    if "@" in key:
        return key.lower()
    if key.startswith("+"):
        return _PHONE_PUNCTUATION.sub("", key)
    if _CPF.match(key):
        return _NON_DIGITS.sub("", key)
    return key


def customers_own_pix_key(key: str, *, cpf: str, email: str, phone: str) -> str | None:
    """The key, normalised, when it is the customer's CPF, e-mail or phone; otherwise None."""
    if len(key) > MAX_KEY_LENGTH * 2:
        return None
    normalized = normalize_pix_key(key)
    own = {_NON_DIGITS.sub("", cpf), email.strip().lower(), _PHONE_PUNCTUATION.sub("", phone.strip())}
    if normalized not in own or len(normalized) > MAX_KEY_LENGTH:
        return None
    if normalized.startswith("+") and not _PHONE.match(normalized):
        return None
    return normalized


def pix_key_kind(key: str) -> str:
    """cpf, email or phone for a normalised key of one of those kinds; other otherwise."""
    if "@" in key:
        return "email"
    if key.startswith("+"):
        return "phone"
    return "cpf" if len(key) == 11 and key.isdigit() else "other"
