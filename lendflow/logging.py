"""structlog set-up: JSON lines in production, readable console lines in development.

Context such as the request id, workflow id and customer id is bound with
``structlog.contextvars.bind_contextvars`` and merged into every line.

Personal data (LGPD) never reaches a line in clear. ``mask_personal_data`` runs after the
exception is formatted and before any renderer, in both modes and for the standard library's
records too (uvicorn, temporalio's "Completing activity as failed"). It masks:

- CPFs that stand as numbers of their own (``12345678901``, ``123.456.789-01``), not digits inside
  a longer token such as a hex document id or a uuid;
- every value of a field that holds a CPF, a person's name, an e-mail, a postal address, a phone
  number, a birth date or a person's income (by the field's name; see :func:`personal_field_kind`);
- e-mail addresses anywhere;
- the personal values of the work at hand (the customer's name, e-mail and CPF that an activity
  received), wherever they appear, registered with :func:`remember_personal_values`.

Names cannot be recognised in free text, so they never go there: code logs a dotted event name
with keyword fields, and a person's data only in a field whose name says what it is (``full_name=``,
``email=``), which is masked whatever its value. ``tests/foundation/test_log_free_text.py`` reads
every log call in the tree and fails on one that formats a personal field into its message or into
a field of another name.

Tracebacks are Python's plain ones: no Rich traceback, never local variables.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from functools import lru_cache
from types import TracebackType
from typing import Any

import structlog

from lendflow.settings import Settings

# A CPF written as a number of its own: 11 digits not touching another letter or digit, or the
# formatted 000.000.000-00 not touching another digit. Digits inside hex ids and uuids stay as they are.
_CPF_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(\d{3})(\d{3})(\d{3})(\d{2})(?![0-9A-Za-z])"
    r"|(?<!\d)(\d{3})\.(\d{3})\.(\d{3})-(\d{2})(?!\d)"
)
_EMAIL_PATTERN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")

# Fields whose whole value is personal data, whatever it looks like.
_CPF_FIELD = re.compile(r"cpf", re.IGNORECASE)
_EMAIL_FIELD = re.compile(r"(^|_)e?-?mail$", re.IGNORECASE)
_NAME_FIELDS = frozenset(
    {
        "name",
        "full_name",
        "social_name",
        "declared_name",
        "holder_name",
        "borrower_name",
        "customer_name",
        "payer_name",
        "debtor_name",
        "signer_name",
        "mother_name",
        "recipient_name",
    }
)

# A postal address, by its parts or whole. A bare ``address`` is masked unless its value is a
# network endpoint (``services.ready address=127.0.0.1:5432``), which is not personal.
_ADDRESS_FIELD = re.compile(
    r"^(address|address_.+|.+_address|street|address_line|postal_code|zip_code|cep|complement|district)$",
    re.IGNORECASE,
)
_NETWORK_ENDPOINT = re.compile(
    r"[a-z][a-z0-9+.-]*://\S+"  # a URL
    r"|\d{1,3}(\.\d{1,3}){3}(:\d+)?"  # IPv4, with its port
    r"|\[?[0-9a-f]*:[0-9a-f:.]*\]?(:\d+)?"  # IPv6
    r"|[a-z0-9.-]*[a-z][a-z0-9.-]*:\d+|localhost",  # host:port
    re.IGNORECASE,
)
_NETWORK_ADDRESS_FIELDS = frozenset({"client_address", "remote_address", "ip_address", "bind_address", "peer_address"})
_PHONE_FIELD = re.compile(r"(^|_)(phone|phone_number|mobile|telefone|celular)$", re.IGNORECASE)
_BIRTH_DATE_FIELD = re.compile(r"(^|_)(birth_date|date_of_birth|birthday)$", re.IGNORECASE)
# A person's income; not the lender's (``interest_income``, ``fee_income`` are the books').
_INCOME_FIELDS = frozenset(
    {
        "income",
        "incomes",
        "monthly_income",
        "declared_income",
        "declared_monthly_income",
        "income_estimate",
        "salary",
        "monthly_salary",
    }
)

MASK = "***"

_personal_values: ContextVar[tuple[str, ...]] = ContextVar("lendflow_personal_values", default=())


def _masked_cpf(middle: str, end: str) -> str:
    return f"***.{middle}.{end}-**"


def mask_cpfs(text: str) -> str:
    """Hide every CPF in a text but its middle six digits: ``***.456.789-**``."""

    def replace(match: re.Match[str]) -> str:
        groups = match.groups()
        digits = groups[:4] if groups[0] is not None else groups[4:]
        return _masked_cpf(digits[1], digits[2])

    return _CPF_PATTERN.sub(replace, text)


def mask_text(text: str) -> str:
    """Mask CPFs, e-mail addresses and the personal values of the work at hand in free text."""
    known = _personal_values.get()
    if known:
        text = _known_values_pattern(known).sub(_mask_known_value, text)
    text = mask_cpfs(text)
    if "@" in text:
        text = _EMAIL_PATTERN.sub(lambda m: f"***@{m.group(1)}", text)
    return text


def _mask_known_value(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return _masked_cpf(digits[3:6], digits[6:9]) if len(digits) == 11 else MASK


@lru_cache(maxsize=256)
def _known_values_pattern(values: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so a full name is masked whole before a part of it could be.
    ordered = sorted(values, key=len, reverse=True)
    return re.compile("|".join(re.escape(value) for value in ordered), re.IGNORECASE)


def remember_personal_values(values: Iterable[object]) -> None:
    """Mask these values (a customer's name, e-mail, CPF) in every line logged from the current
    context on: the rest of this task, or of this request. Values shorter than three characters
    are ignored (they would mask ordinary words)."""
    current = _personal_values.get()
    added: list[str] = []
    for value in values:
        if not isinstance(value, str) or len(value.strip()) < 3:
            continue
        text = value.strip()
        variants = [text]
        digits = re.sub(r"\D", "", text)
        if len(digits) == 11 and len(text) <= 14:
            variants += [digits, f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"]
        added += [variant for variant in variants if variant not in current and variant not in added]
    if added:
        _personal_values.set(current + tuple(added))


@lru_cache(maxsize=1024)
def personal_field_kind(key: str) -> str | None:
    """What personal datum a field of this name holds (``cpf``, ``email``, ``name``, ``address``,
    ``phone``, ``birth_date``, ``income``), or None."""
    lowered = key.lower()
    if _CPF_FIELD.search(key):
        return "cpf"
    if _EMAIL_FIELD.search(key):
        return "email"
    if lowered in _NAME_FIELDS:
        return "name"
    if _ADDRESS_FIELD.search(key) and lowered not in _NETWORK_ADDRESS_FIELDS:
        return "address"
    if _PHONE_FIELD.search(key):
        return "phone"
    if _BIRTH_DATE_FIELD.search(key):
        return "birth_date"
    if lowered in _INCOME_FIELDS:
        return "income"
    return None


def is_personal_field(key: str) -> bool:
    """Whether a field of this name holds a CPF, a person's name, e-mail, address, phone number,
    birth date or income."""
    return personal_field_kind(key) is not None


def _mask_field(key: str, value: Any) -> Any:
    kind = personal_field_kind(key)
    if kind is None or value is None or isinstance(value, bool):
        return _mask(value)
    if kind == "address" and isinstance(value, str) and _NETWORK_ENDPOINT.fullmatch(value.strip()):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_mask_field(key, item) for item in value)
    if kind == "cpf" and isinstance(value, (str, int)):
        digits = re.sub(r"\D", "", str(value))
        return _masked_cpf(digits[3:6], digits[6:9]) if len(digits) == 11 else MASK
    if kind == "email" and isinstance(value, str):
        address = _EMAIL_PATTERN.fullmatch(value.strip())
        return f"***@{address.group(1)}" if address else MASK
    if isinstance(value, str) or kind in ("address", "phone", "birth_date", "income"):
        return MASK  # whatever its type: a PostalAddress, a date, a Decimal
    return _mask(value)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_field(k, v) if isinstance(k, str) else _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask(v) for v in value)
    return value


def mask_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {key: _mask_field(key, value) for key, value in event_dict.items()}


def _log_uncaught(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    """A crash's traceback goes through the same masking as every other line (not Python's own
    print, nor a Rich traceback with local variables)."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, traceback)
        return
    logging.getLogger("lendflow").critical("process.crashed", exc_info=(kind, error, traceback))


def configure_logging(settings: Settings) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # The traceback becomes plain text here, so the masking below sees it like any other field.
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]
    renderer: Any
    if settings.logs_as_json:
        renderer = structlog.processors.JSONRenderer()
    else:
        # Never the default Rich traceback: it prints every frame's local variables.
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Route the standard library's records (uvicorn, temporalio, alembic) through the same renderer.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.excepthook = _log_uncaught
