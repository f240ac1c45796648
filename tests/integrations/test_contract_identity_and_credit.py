"""Federal Revenue Office and credit bureau clients against the live simulator."""

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from integrations.credit_bureau import CreditBureauClient
from integrations.errors import (
    BusinessRefusal,
    CpfDataProtected,
    CpfNotFound,
    CreditFileNotFound,
    PermanentProviderError,
    ProviderUnavailable,
)
from integrations.factory import ProviderClients, provider_http_client
from integrations.federal_revenue import CpfStatus, FederalRevenueClient
from lendflow.settings import Settings

NewCpf = Callable[..., str]


async def test_an_ordinary_cpf_is_regular_and_always_gets_the_same_answer(
    providers: ProviderClients, new_cpf: NewCpf
) -> None:
    cpf = new_cpf()
    first = await providers.federal_revenue.lookup_cpf(cpf)
    second = await providers.federal_revenue.lookup_cpf(cpf)
    assert first.status is CpfStatus.REGULAR
    assert first.cpf == cpf
    assert first.holder_name and first.registered_on is not None
    assert (first.holder_name, first.birth_date) == (second.holder_name, second.birth_date)


@pytest.mark.parametrize(
    ("selector", "status"),
    [
        ("0", CpfStatus.REGULAR),
        ("2", CpfStatus.SUSPENDED),
        ("3", CpfStatus.HOLDER_DECEASED),
        ("4", CpfStatus.PENDING_REGULARISATION),
        ("5", CpfStatus.CANCELLED),
        ("8", CpfStatus.NULL),
        ("9", CpfStatus.CANCELLED),
    ],
)
async def test_documented_cpf_prefix_selects_the_status(
    providers: ProviderClients, new_cpf: NewCpf, selector: str, status: CpfStatus
) -> None:
    registration = await providers.federal_revenue.lookup_cpf(new_cpf("999" + selector))
    assert registration.status is status
    assert (registration.death_year is not None) is (status is CpfStatus.HOLDER_DECEASED)


@pytest.mark.parametrize(("selector", "error"), [("1", CpfNotFound), ("6", CpfDataProtected)])
async def test_documented_cpf_prefix_selects_a_refusal(
    providers: ProviderClients, new_cpf: NewCpf, selector: str, error: type[BusinessRefusal]
) -> None:
    with pytest.raises(error):
        await providers.federal_revenue.lookup_cpf(new_cpf("999" + selector))


async def test_partial_answer_comes_without_a_registration_date(providers: ProviderClients, new_cpf: NewCpf) -> None:
    registration = await providers.federal_revenue.lookup_cpf(new_cpf("9997"))
    assert registration.registered_on is None
    assert registration.status is CpfStatus.REGULAR


async def test_admin_override_fixes_the_answer_for_one_cpf(
    providers: ProviderClients, admin: httpx.AsyncClient, new_cpf: NewCpf
) -> None:
    cpf = new_cpf()
    response = await admin.put(
        f"federal-revenue/cpf/{cpf}",
        json={"status": "suspended", "name": "MARIA DE TESTE", "birth_date": "1990-05-17"},
    )
    assert response.status_code == 200
    registration = await providers.federal_revenue.lookup_cpf(cpf)
    assert registration.status is CpfStatus.SUSPENDED
    assert registration.holder_name == "MARIA DE TESTE"
    assert registration.birth_date.isoformat() == "1990-05-17"

    await admin.put(f"federal-revenue/cpf/{cpf}", json={"outcome": "not_found"})
    with pytest.raises(CpfNotFound):
        await providers.federal_revenue.lookup_cpf(cpf)

    await admin.delete(f"federal-revenue/cpf/{cpf}")
    assert (await providers.federal_revenue.lookup_cpf(cpf)).status is CpfStatus.REGULAR


async def test_wrong_credentials_are_a_permanent_error_not_a_refusal(
    simulator_settings: Settings, new_cpf: NewCpf
) -> None:
    wrong = simulator_settings.providers.federal_revenue.model_copy(update={"api_key": SecretStr("wrong")})
    async with provider_http_client(wrong) as http:
        with pytest.raises(PermanentProviderError) as caught:
            await FederalRevenueClient(http).lookup_cpf(new_cpf())
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_token"
    assert not isinstance(caught.value, BusinessRefusal)


async def test_credit_report_is_deterministic_per_cpf(providers: ProviderClients, new_cpf: NewCpf) -> None:
    cpf = new_cpf()
    first = await providers.credit_bureau.fetch_credit_report(cpf)
    second = await providers.credit_bureau.fetch_credit_report(cpf)
    assert 0 <= first.score <= 1000
    assert (first.score, first.negative_records, first.estimated_monthly_income) == (
        second.score,
        second.negative_records,
        second.estimated_monthly_income,
    )
    assert first.report_id != second.report_id


@pytest.mark.parametrize(("score", "has_records"), [("250", True), ("480", True), ("820", False)])
async def test_documented_prefix_sets_the_score(
    providers: ProviderClients, new_cpf: NewCpf, score: str, has_records: bool
) -> None:
    report = await providers.credit_bureau.fetch_credit_report(new_cpf("998" + score))
    assert report.score == int(score)
    assert bool(report.negative_records) is has_records


async def test_cpf_without_a_credit_file_is_refused(providers: ProviderClients, new_cpf: NewCpf) -> None:
    with pytest.raises(CreditFileNotFound):
        await providers.credit_bureau.fetch_credit_report(new_cpf("997"))


async def test_admin_override_fixes_the_credit_report(
    providers: ProviderClients, admin: httpx.AsyncClient, new_cpf: NewCpf
) -> None:
    cpf = new_cpf()
    response = await admin.put(
        f"credit-bureau/cpf/{cpf}",
        json={
            "score": 905,
            "negative_records": [
                {"kind": "lawsuit", "creditor": "BANCO X", "amount": "12000.50", "registered_on": "2025-02-01"}
            ],
            "estimated_monthly_income": "18250.00",
        },
    )
    assert response.status_code == 200
    report = await providers.credit_bureau.fetch_credit_report(cpf)
    assert report.score == 905
    assert str(report.negative_records[0].amount) == "12000.50"
    assert str(report.estimated_monthly_income) == "18250.00"


async def test_unreachable_provider_is_transient(
    unreachable_http: Callable[[], httpx.AsyncClient], new_cpf: NewCpf
) -> None:
    async with unreachable_http() as http:
        with pytest.raises(ProviderUnavailable):
            await CreditBureauClient(http).fetch_credit_report(new_cpf())
