"""Field types shared by the API's request and response models.

Money travels as decimal strings both ways ("1500.00", never 1500.0); dates as "YYYY-MM-DD". Input
types are strict about JSON types (no "12" for 12, no 1 for true), so what the OpenAPI document
says is exactly what is accepted.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from domain.credit.money import as_percent

# Printable text only: no control characters (NUL among them) reach the database or a log.
TEXT = r"^[^\x00-\x1f\x7f]+$"

_MONEY_TEXT = re.compile(r"\d{1,13}(\.\d{1,2})?")
_ISO_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def _money_from_string(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _MONEY_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "money_string", 'must be an amount in reais as a string with up to two decimals, e.g. "1500.00"'
        )
    return Decimal(value).quantize(Decimal("0.01"))


def _date_from_string(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE_TEXT.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("iso_date", 'must be an existing date written as "YYYY-MM-DD"')


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_money_from_string),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,13}(\.\d{1,2})?$", "examples": ["1500.00"]}),
]
DateIn = Annotated[
    date,
    BeforeValidator(_date_from_string),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
]
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{Decimal(value):.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}, mode="serialization"),
]
# Rates (interest rates, CET) as percentages with two decimals, rounded half-even as the CET is
# disclosed (Resolução CMN 4.881/2020, `domain.credit.money.as_percent`): the monthly rate 0.0199 is
# "1.99" (1,99 % a month), the annual CET 0.318787… is "31.88". The one representation of a rate in
# every answer of the API, the contract and the app.
RatePercentOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{as_percent(Decimal(value)):.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}, mode="serialization"),
]
# Other exact decimals, as strings.
DecimalOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(Decimal(value), "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, mode="serialization"),
]
