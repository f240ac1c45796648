"""EndToEndId, txid and BR Code formats, checked against rules written out here independently."""

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.pix_codes import (
    InvalidPixCode,
    build_br_code,
    crc16_ccitt_false,
    is_valid_br_code,
    is_valid_end_to_end_id,
    is_valid_return_id,
    is_valid_txid,
    new_end_to_end_id,
    new_return_id,
    new_txid,
    parse_br_code,
    parse_spi_id,
    txid_for,
)

# The example payload printed in the BCB's Manual do BR Code (static key, no amount).
MANUAL_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        value = byte << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x1021) if value & 0x8000 else value << 1
        table.append(value & 0xFFFF)
    return table


_TABLE = _crc_table()


def independent_crc16(data: bytes) -> str:
    """CRC-16/CCITT-FALSE, table-driven (the module under test computes it bit by bit)."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return f"{crc:04X}"


def tlv(payload: str) -> dict[str, str]:
    fields, i = {}, 0
    while i < len(payload):
        tag, length = payload[i : i + 2], int(payload[i + 2 : i + 4])
        fields[tag] = payload[i + 4 : i + 4 + length]
        i += 4 + length
    return fields


E2E_PATTERN = re.compile(r"^E\d{8}\d{12}[A-Za-z0-9]{11}$")


# CRC


def test_both_crc_implementations_give_the_standard_check_value() -> None:
    assert independent_crc16(b"123456789") == "29B1"
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_builder_reproduces_the_manuals_example_byte_for_byte() -> None:
    payload = build_br_code(
        merchant_name="Fulano de Tal",
        merchant_city="BRASILIA",
        pix_key="123e4567-e12b-12d1-a456-426655440000",
    )
    assert payload == MANUAL_EXAMPLE
    assert independent_crc16(MANUAL_EXAMPLE[:-4].encode()) == "1D3D"


def test_dynamic_charge_code_has_every_field_of_the_manual_and_a_crc_that_recomputes() -> None:
    payload = build_br_code(
        merchant_name="Lendflow SCD",
        merchant_city="São Paulo",
        location="pix.lendflow.test/qr/9d36b84fc70b478fb95c12729b90ca25",
        amount=Decimal("1234.50"),
        single_use=True,
    )
    assert payload[-8:-4] == "6304"
    assert payload[-4:] == independent_crc16(payload[:-4].encode())
    fields = tlv(payload)
    assert list(fields) == ["00", "01", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert fields["00"] == "01"
    assert fields["01"] == "12"
    account = tlv(fields["26"])
    assert account == {"00": "br.gov.bcb.pix", "25": "pix.lendflow.test/qr/9d36b84fc70b478fb95c12729b90ca25"}
    assert (fields["52"], fields["53"], fields["54"], fields["58"]) == ("0000", "986", "1234.50", "BR")
    assert fields["59"] == "Lendflow SCD"
    assert fields["60"] == "Sao Paulo"  # accents removed
    assert tlv(fields["62"]) == {"05": "***"}


def test_parser_returns_the_fields_the_builder_wrote() -> None:
    payload = build_br_code(
        merchant_name="LENDFLOW SCD",
        merchant_city="SAO PAULO",
        pix_key="cobranca@lendflow.dev",
        amount=Decimal("99.90"),
        reference_label="PARCELA0003",
        description="Parcela 3",
    )
    code = parse_br_code(payload)
    assert code.pix_key == "cobranca@lendflow.dev"
    assert code.amount == Decimal("99.90")
    assert code.reference_label == "PARCELA0003"
    assert code.description == "Parcela 3"
    assert not code.is_dynamic


def test_a_changed_amount_breaks_the_crc() -> None:
    payload = build_br_code(
        merchant_name="LENDFLOW", merchant_city="SAO PAULO", pix_key="k@x.dev", amount=Decimal("10.00")
    )
    tampered = payload.replace("540510.00", "540590.00")
    assert tampered != payload
    with pytest.raises(InvalidPixCode):
        parse_br_code(tampered)


def _with_crc(body: str) -> str:
    return body + "6304" + independent_crc16((body + "6304").encode())


@pytest.mark.parametrize(
    "body",
    [
        # no merchant name (59)
        "00020126250014br.gov.bcb.pix0103abc5204000053039865802BR6008BRASILIA62070503***",
        # currency is not the real
        "00020126250014br.gov.bcb.pix0103abc5204000053038405802BR5901X6008BRASILIA62070503***",
        # not a PIX merchant account
        "00020126240013br.gov.bcb.xx0103abc5204000053039865802BR5901X6008BRASILIA62070503***",
        # neither key nor location
        "00020126180014br.gov.bcb.pix5204000053039865802BR5901X6008BRASILIA62070503***",
        # a length that runs past the end
        "00020126990014br.gov.bcb.pix",
    ],
)
def test_payload_with_a_correct_crc_but_a_broken_structure_is_rejected(body: str) -> None:
    with pytest.raises(InvalidPixCode):
        parse_br_code(_with_crc(body))
    assert not is_valid_br_code(_with_crc(body))


def test_long_names_are_cut_to_the_manuals_limits() -> None:
    payload = build_br_code(
        merchant_name="Sociedade de Crédito Direto Lendflow", merchant_city="São José dos Campos", pix_key="k"
    )
    fields = tlv(payload)
    assert len(fields["59"]) == 25 and len(fields["60"]) == 15


def test_static_code_refuses_a_txid_longer_than_25_characters() -> None:
    with pytest.raises(ValueError):
        build_br_code(merchant_name="X", merchant_city="Y", pix_key="k", reference_label="A" * 26)


# EndToEndId


def test_end_to_end_id_is_e_ispb_utc_minute_and_eleven_alphanumerics() -> None:
    moment = datetime(2026, 3, 9, 21, 45, 30, tzinfo=timezone(timedelta(hours=-3)))
    e2e = new_end_to_end_id("12345678", moment)
    assert len(e2e) == 32
    assert E2E_PATTERN.match(e2e)
    assert e2e[:9] == "E12345678"
    assert e2e[9:21] == "202603100045"  # 21:45 in São Paulo is 00:45 UTC the next day
    parts = parse_spi_id(e2e)
    assert parts.created_at == datetime(2026, 3, 10, 0, 45, tzinfo=UTC)


# Hypothesis takes naive bounds and attaches the time zone itself.
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))  # noqa: DTZ001
def test_every_generated_end_to_end_id_is_valid(moment: datetime) -> None:
    e2e = new_end_to_end_id("00000208", moment)
    assert E2E_PATTERN.match(e2e) and is_valid_end_to_end_id(e2e)


def test_a_well_formed_end_to_end_id_is_accepted() -> None:
    assert is_valid_end_to_end_id("E1234567820260310004512345678901")


@pytest.mark.parametrize(
    "value",
    [
        "E123456782026031000451234567890",  # 31 characters
        "E12345678202603100045123456789012",  # 33 characters
        "X1234567820260310004512345678901",  # wrong letter
        "D1234567820260310004512345678901",  # a return id, not an EndToEndId
        "E1234567820261310004512345678901",  # month 13
        "E1234567820260231004512345678901",  # 31 February
        "E1234567820260310244512345678901",  # hour 24
        "E12345678202603100045123456789-1",  # not alphanumeric
        "E1234A67820260310004512345678901",  # ISPB with a letter
    ],
)
def test_a_malformed_end_to_end_id_is_rejected(value: str) -> None:
    assert not is_valid_end_to_end_id(value)


def test_return_id_has_the_same_shape_with_a_d() -> None:
    rtr = new_return_id("12345678")
    assert rtr.startswith("D12345678") and len(rtr) == 32
    assert is_valid_return_id(rtr)
    assert not is_valid_end_to_end_id(rtr)


# txid


@pytest.mark.parametrize(("length", "valid"), [(25, False), (26, True), (35, True), (36, False)])
def test_txid_is_26_to_35_characters(length: int, valid: bool) -> None:
    assert is_valid_txid("A" * length) is valid


def test_txid_with_a_symbol_is_rejected() -> None:
    assert not is_valid_txid("A" * 25 + "-")
    assert not is_valid_txid("A" * 30 + "ç")


@given(st.integers(min_value=26, max_value=35))
def test_every_generated_txid_matches_the_bcb_pattern(length: int) -> None:
    txid = new_txid(length)
    assert re.fullmatch(r"[a-zA-Z0-9]{26,35}", txid) and len(txid) == length


def test_txid_for_a_reference_is_stable_and_valid() -> None:
    assert txid_for("loan-42/installment-3") == txid_for("loan-42/installment-3")
    assert txid_for("loan-42/installment-3") != txid_for("loan-42/installment-4")
    assert is_valid_txid(txid_for("loan-42/installment-3"))
