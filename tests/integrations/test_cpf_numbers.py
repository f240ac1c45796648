import pytest

from integrations.cpf import cpf_check_digits, format_cpf, is_valid_cpf, mask_cpf, normalize_cpf


@pytest.mark.parametrize("cpf", ["52998224725", "529.982.247-25", "11144477735", "111.444.777-35"])
def test_cpf_with_correct_check_digits_is_valid(cpf: str) -> None:
    assert is_valid_cpf(cpf)


@pytest.mark.parametrize(
    "cpf",
    [
        "52998224724",  # last check digit wrong
        "52998224715",  # first check digit wrong
        "11111111111",  # repeated digits pass the arithmetic but are never issued
        "00000000000",
        "5299822472",  # ten digits
        "529982247250",  # twelve digits
        "529.982.247/25",
        "abc.def.ghi-jk",
        "",
    ],
)
def test_malformed_or_miscomputed_cpf_is_invalid(cpf: str) -> None:
    assert not is_valid_cpf(cpf)


def test_check_digits_follow_the_modulo_eleven_rule() -> None:
    # 111.444.777: weights 10..2 give 162, and 1620 % 11 = 3; with that 3 appended,
    # weights 11..2 give 204, and 2040 % 11 = 5.
    assert cpf_check_digits("111444777") == "35"


def test_mask_shows_only_the_middle_six_digits() -> None:
    assert mask_cpf("52998224725") == "***.982.247-**"
    assert mask_cpf("529.982.247-25") == "***.982.247-**"


def test_mask_hides_everything_when_the_input_is_not_a_cpf() -> None:
    assert mask_cpf("5299822") == "***.***.***-**"


def test_format_and_normalize_are_inverse() -> None:
    assert format_cpf("52998224725") == "529.982.247-25"
    assert normalize_cpf(format_cpf("52998224725")) == "52998224725"
