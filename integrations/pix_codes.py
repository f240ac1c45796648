"""PIX identifiers and the BR Code, built and checked without any network.

- **EndToEndId** (SPI): 32 characters, ``E`` + the payer institution's 8-digit ISPB +
  ``yyyyMMddHHmm`` in UTC + 11 alphanumerics. A refund's return id (``rtrId``) has the same
  shape with a ``D``.
- **txid** of a charge (cob): 26 to 35 characters of ``[a-zA-Z0-9]``, chosen by the receiver.
- **BR Code** ("PIX copia e cola"): the EMV merchant-presented payload of the BCB's Manual do
  BR Code: ID-length-value fields, ``00`` payload format ``01``, optional ``01`` point of
  initiation (``12`` = single use), ``26`` merchant account (GUI ``br.gov.bcb.pix`` and either
  ``01`` the PIX key or ``25`` the location URL of a dynamic charge, optional ``02``
  description), ``52`` category, ``53`` currency ``986``, optional ``54`` amount, ``58`` ``BR``,
  ``59`` merchant name, ``60`` city, ``62``/``05`` reference label (the txid of a static code, at
  most 25 characters, or ``***`` for a dynamic one, whose txid is read from the location), and
  ``63`` the CRC16-CCITT-FALSE (polynomial 0x1021, initial 0xFFFF) of everything before its
  value, in four upper-case hex digits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

ALPHANUMERIC = string.ascii_letters + string.digits

_SPI_ID = re.compile(
    r"^(?P<kind>[ED])(?P<ispb>[0-9]{8})"
    r"(?P<stamp>[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?:[01][0-9]|2[0-3])[0-5][0-9])"
    r"(?P<sequence>[a-zA-Z0-9]{11})$"
)
_TXID = re.compile(r"^[a-zA-Z0-9]{26,35}$")
_ISPB = re.compile(r"^[0-9]{8}$")

PIX_GUI = "br.gov.bcb.pix"
DYNAMIC_REFERENCE_LABEL = "***"
MAX_MERCHANT_NAME = 25
MAX_MERCHANT_CITY = 15


class InvalidPixCode(ValueError):
    """An EndToEndId, txid or BR Code that does not have the BCB's format."""


# EndToEndId and rtrId


@dataclass(frozen=True)
class SpiId:
    """An EndToEndId (``E``) or return id (``D``), taken apart."""

    kind: str
    ispb: str
    created_at: datetime  # to the minute, UTC
    sequence: str


def _new_spi_id(kind: str, ispb: str, at: datetime | None) -> str:
    if not _ISPB.match(ispb):
        raise ValueError("an ISPB is 8 digits")
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    sequence = "".join(secrets.choice(ALPHANUMERIC) for _ in range(11))
    return f"{kind}{ispb}{moment:%Y%m%d%H%M}{sequence}"


def new_end_to_end_id(ispb: str, at: datetime | None = None) -> str:
    """A fresh EndToEndId for a PIX sent by the institution ``ispb`` at ``at`` (default now)."""
    return _new_spi_id("E", ispb, at)


def end_to_end_id_for(ispb: str, at: datetime, reference: str) -> str:
    """The EndToEndId of the PIX that ``reference`` (an idempotency key) sends: the same inputs give
    the same id, so a payer that lost the answer can ask the PSP for that payout by its id."""
    digest = int.from_bytes(hashlib.sha256(reference.encode()).digest(), "big")
    sequence = ""
    for _ in range(11):
        digest, index = divmod(digest, len(ALPHANUMERIC))
        sequence += ALPHANUMERIC[index]
    if not _ISPB.match(ispb):
        raise ValueError("an ISPB is 8 digits")
    return f"E{ispb}{at.astimezone(UTC):%Y%m%d%H%M}{sequence}"


def new_return_id(ispb: str, at: datetime | None = None) -> str:
    """A fresh return id (``rtrId``) for a refund (devolução) sent by ``ispb``."""
    return _new_spi_id("D", ispb, at)


def parse_spi_id(value: str, *, kind: str = "E") -> SpiId:
    match = _SPI_ID.match(value)
    if match is None or match["kind"] != kind:
        raise InvalidPixCode(f"not a valid {'EndToEndId' if kind == 'E' else 'return id'}")
    try:
        created_at = datetime.strptime(match["stamp"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError as exc:  # 31 February and friends
        raise InvalidPixCode("the EndToEndId's date does not exist") from exc
    return SpiId(kind=kind, ispb=match["ispb"], created_at=created_at, sequence=match["sequence"])


def is_valid_end_to_end_id(value: str) -> bool:
    try:
        parse_spi_id(value, kind="E")
    except InvalidPixCode:
        return False
    return True


def is_valid_return_id(value: str) -> bool:
    try:
        parse_spi_id(value, kind="D")
    except InvalidPixCode:
        return False
    return True


# txid


def new_txid(length: int = 32) -> str:
    """A random txid of ``length`` (26 to 35) alphanumerics."""
    if not 26 <= length <= 35:
        raise ValueError("a txid has 26 to 35 characters")
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def txid_for(reference: str) -> str:
    """A txid derived from a business reference (``"loan-42/installment-3"``), 32 characters.

    The same reference always gives the same txid, so creating the charge again after a crash
    finds the first one instead of making a second.
    """
    return hashlib.sha256(reference.encode()).hexdigest()[:32]


def is_valid_txid(value: str) -> bool:
    return bool(_TXID.match(value))


# BR Code


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _field(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"BR Code field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _emv_text(value: str, limit: int) -> str:
    # Names and cities go without accents or control characters, cut to the manual's limits.
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    printable = "".join(ch for ch in ascii_only if ch.isprintable()).strip()
    if not printable:
        raise ValueError("BR Code merchant name and city must not be empty")
    return printable[:limit]


@dataclass(frozen=True)
class BrCode:
    """The fields of a PIX BR Code that Lendflow reads or writes."""

    merchant_name: str
    merchant_city: str
    reference_label: str  # the txid of a static code, "***" for a dynamic one
    pix_key: str | None = None
    location: str | None = None  # URL without scheme of a dynamic charge's payload
    amount: Decimal | None = None
    description: str | None = None
    single_use: bool = False
    merchant_category_code: str = "0000"

    @property
    def is_dynamic(self) -> bool:
        return self.location is not None


def build_br_code(
    *,
    merchant_name: str,
    merchant_city: str,
    pix_key: str | None = None,
    location: str | None = None,
    amount: Decimal | None = None,
    reference_label: str | None = None,
    description: str | None = None,
    single_use: bool = False,
) -> str:
    """The copy-and-paste payload, CRC included.

    Give ``pix_key`` for a static code (``reference_label`` is then its txid, up to 25
    characters, or ``***``) or ``location`` for a dynamic one (``reference_label`` is ``***``).
    """
    if (pix_key is None) == (location is None):
        raise ValueError("a BR Code has either a PIX key (static) or a location (dynamic)")
    if location is not None and "://" in location:
        raise ValueError("the location goes without its scheme")
    label = reference_label or DYNAMIC_REFERENCE_LABEL
    if location is not None and label != DYNAMIC_REFERENCE_LABEL:
        raise ValueError("a dynamic BR Code's reference label is ***")
    if label != DYNAMIC_REFERENCE_LABEL and not re.fullmatch(r"[a-zA-Z0-9]{1,25}", label):
        raise ValueError("a BR Code txid is 1 to 25 alphanumerics")
    account = _field("00", PIX_GUI)
    if pix_key is not None:
        account += _field("01", pix_key)
    if description:
        account += _field("02", description)
    if location is not None:
        account += _field("25", location)
    payload = _field("00", "01")
    if single_use:
        payload += _field("01", "12")
    payload += _field("26", account)
    payload += _field("52", "0000")
    payload += _field("53", "986")
    if amount is not None:
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError("a BR Code amount is positive, in centavos")
        payload += _field("54", format(amount.quantize(Decimal("0.01")), "f"))
    payload += _field("58", "BR")
    payload += _field("59", _emv_text(merchant_name, MAX_MERCHANT_NAME))
    payload += _field("60", _emv_text(merchant_city, MAX_MERCHANT_CITY))
    payload += _field("62", _field("05", label))
    payload += "6304"
    return payload + f"{crc16_ccitt_false(payload.encode()):04X}"


def _read_fields(data: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    while position < len(data):
        header = data[position : position + 4]
        if len(header) < 4 or not header.isdigit():
            raise InvalidPixCode(f"malformed field header in {where} at {position}")
        tag, length = header[:2], int(header[2:])
        value = data[position + 4 : position + 4 + length]
        if len(value) != length:
            raise InvalidPixCode(f"field {tag} in {where} is shorter than its length")
        if tag in fields:
            raise InvalidPixCode(f"field {tag} appears twice in {where}")
        fields[tag] = value
        position += 4 + length
    return fields


def parse_br_code(payload: str) -> BrCode:
    """Check a BR Code (structure, mandatory fields, CRC) and return its fields.

    Raises :class:`InvalidPixCode` naming the first problem found.
    """
    payload = payload.strip()
    if not payload.startswith("000201"):
        raise InvalidPixCode("a BR Code starts with payload format indicator 01")
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise InvalidPixCode("a BR Code ends with its CRC field 63")
    expected = f"{crc16_ccitt_false(payload[:-4].encode()):04X}"
    if payload[-4:].upper() != expected:
        raise InvalidPixCode("the CRC does not match the payload")
    fields = _read_fields(payload, "payload")
    for tag in ("26", "52", "53", "58", "59", "60", "62"):
        if tag not in fields:
            raise InvalidPixCode(f"mandatory field {tag} is missing")
    if fields["53"] != "986":
        raise InvalidPixCode("the currency is not the real (986)")
    if fields["58"] != "BR":
        raise InvalidPixCode("the country is not BR")
    if fields.get("01") not in (None, "11", "12"):
        raise InvalidPixCode("the point of initiation is neither 11 nor 12")
    account = _read_fields(fields["26"], "merchant account information")
    if account.get("00", "").lower() != PIX_GUI:
        raise InvalidPixCode("the merchant account is not a PIX account (br.gov.bcb.pix)")
    pix_key, location = account.get("01"), account.get("25")
    if (pix_key is None) == (location is None):
        raise InvalidPixCode("the merchant account has neither or both of a key and a location")
    additional = _read_fields(fields["62"], "additional data")
    label = additional.get("05")
    if label is None:
        raise InvalidPixCode("the reference label (62-05) is missing")
    amount: Decimal | None = None
    if "54" in fields:
        try:
            amount = Decimal(fields["54"])
        except InvalidOperation as exc:
            raise InvalidPixCode("the amount is not a decimal number") from exc
        if not amount.is_finite() or amount <= 0:
            raise InvalidPixCode("the amount is not a positive number")
    return BrCode(
        merchant_name=fields["59"],
        merchant_city=fields["60"],
        reference_label=label,
        pix_key=pix_key,
        location=location,
        amount=amount,
        description=account.get("02"),
        single_use=fields.get("01") == "12",
        merchant_category_code=fields["52"],
    )


def is_valid_br_code(payload: str) -> bool:
    try:
        parse_br_code(payload)
    except InvalidPixCode:
        return False
    return True
