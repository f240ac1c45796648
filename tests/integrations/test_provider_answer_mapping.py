"""Every provider answer each client can get, mapped to its typed result or error (MockTransport)."""

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from integrations.credit_bureau import CreditBureauClient, NegativeRecordKind
from integrations.ecm import EcmClient
from integrations.errors import (
    BusinessRefusal,
    ChargeNotCancellable,
    ChargeNotFound,
    CpfDataProtected,
    CpfNotFound,
    CreditFileNotFound,
    DocumentIntegrityError,
    DocumentNotFound,
    EnvelopeNotFound,
    EnvelopeNotVoidable,
    IdempotencyConflict,
    InvalidCpf,
    PayoutNotFound,
    PayoutRefused,
    PermanentProviderError,
    PixKeyNotFound,
    RefundNotFound,
    RefundRefused,
    TransientProviderError,
    UnexpectedProviderAnswer,
)
from integrations.esignature import EnvelopeStatus, ESignatureClient, SignerRequest, SignerStatus
from integrations.factory import provider_http_client
from integrations.federal_revenue import CpfStatus, FederalRevenueClient
from integrations.pix import (
    BankAccountDestination,
    ChargeStatus,
    PayoutStatus,
    PixClient,
    PixKeyDestination,
    RefundStatus,
)
from integrations.pix_codes import build_br_code, new_end_to_end_id, new_return_id, new_txid
from lendflow.settings import ProviderSettings

CPF = "52998224725"
Handler = Callable[[httpx.Request], httpx.Response]


class Provider:
    """A scripted provider: answers with ``handler`` and keeps every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def http(self) -> httpx.AsyncClient:
        settings = ProviderSettings(base_url="https://provider.test/base", api_key=SecretStr("k-123"))
        return provider_http_client(settings, transport=httpx.MockTransport(self))


def answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    return lambda request: httpx.Response(status, json=body, **kwargs)


def bcb_problem(status: int, code: str) -> Handler:
    body = {"type": f"https://pix.bcb.gov.br/api/v2/error/{code}", "title": code, "status": status}
    return answer(status, body)


# Federal Revenue Office


def consulta(code: str = "0", **extra: Any) -> dict[str, Any]:
    body = {
        "ni": CPF,
        "nome": "ANA SILVA",
        "situacao": {"codigo": code, "descricao": "X"},
        "nascimento": "14111970",
        "dataInscricao": "20091988",
    }
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("code", "status"),
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
async def test_each_serpro_situation_code_maps_to_a_cpf_status(code: str, status: CpfStatus) -> None:
    provider = Provider(answer(200, consulta(code)))
    async with provider.http() as http:
        registration = await FederalRevenueClient(http).lookup_cpf(CPF)
    assert registration.status is status
    assert registration.status_code == code
    assert registration.birth_date == date(1970, 11, 14)
    assert registration.registered_on == date(1988, 9, 20)


async def test_cpf_lookup_calls_the_consulta_path_with_the_bearer_credential() -> None:
    provider = Provider(answer(200, consulta()))
    async with provider.http() as http:
        await FederalRevenueClient(http).lookup_cpf("529.982.247-25")
    request = provider.requests[0]
    assert request.method == "GET"
    assert request.url.path == f"/base/v2/cpf/{CPF}"
    assert request.headers["Authorization"] == "Bearer k-123"


async def test_deceased_holder_carries_the_death_year_and_social_name() -> None:
    provider = Provider(answer(200, consulta("3", obito="2021", nomeSocial="ANA S")))
    async with provider.http() as http:
        registration = await FederalRevenueClient(http).lookup_cpf(CPF)
    assert registration.death_year == 2021
    assert registration.social_name == "ANA S"
    assert not registration.is_regular


async def test_partial_answer_206_without_registration_date_is_accepted() -> None:
    body = consulta()
    del body["dataInscricao"]
    provider = Provider(answer(206, body))
    async with provider.http() as http:
        registration = await FederalRevenueClient(http).lookup_cpf(CPF)
    assert registration.registered_on is None
    assert registration.is_regular


@pytest.mark.parametrize(("status", "error"), [(400, InvalidCpf), (404, CpfNotFound), (422, CpfDataProtected)])
async def test_serpro_refusals_map_to_business_refusals(status: int, error: type[BusinessRefusal]) -> None:
    provider = Provider(answer(status, {"error": "x", "error_description": "y"}))
    async with provider.http() as http:
        with pytest.raises(error):
            await FederalRevenueClient(http).lookup_cpf(CPF)


async def test_serpro_401_is_permanent_but_not_a_business_refusal() -> None:
    provider = Provider(answer(401, {"error": "invalid_token"}))
    async with provider.http() as http:
        with pytest.raises(PermanentProviderError) as caught:
            await FederalRevenueClient(http).lookup_cpf(CPF)
    assert not isinstance(caught.value, BusinessRefusal)


@pytest.mark.parametrize("status", [500, 504])
async def test_serpro_server_errors_are_transient(status: int) -> None:
    provider = Provider(answer(status, {"error": "internal_server_error"}))
    async with provider.http() as http:
        with pytest.raises(TransientProviderError):
            await FederalRevenueClient(http).lookup_cpf(CPF)


@pytest.mark.parametrize(
    "body",
    [
        consulta("7"),  # a situation code SERPRO does not define
        consulta(nascimento="31022000"),  # a date that does not exist
        consulta(ni="11144477735"),  # an answer about another CPF
        {"ni": CPF},
    ],
)
async def test_cpf_answer_that_makes_no_sense_is_unexpected(body: dict[str, Any]) -> None:
    provider = Provider(answer(200, body))
    async with provider.http() as http:
        with pytest.raises(UnexpectedProviderAnswer):
            await FederalRevenueClient(http).lookup_cpf(CPF)


async def test_cpf_with_wrong_check_digits_is_refused_without_calling_out() -> None:
    provider = Provider(answer(200, consulta()))
    async with provider.http() as http:
        with pytest.raises(InvalidCpf):
            await FederalRevenueClient(http).lookup_cpf("52998224724")
    assert provider.requests == []


# Credit bureau


def report(**extra: Any) -> dict[str, Any]:
    body = {
        "report_id": "rep_1",
        "cpf": CPF,
        "score": 640,
        "negative_records": [
            {"kind": "protest", "creditor": "LOJA", "amount": "1520.35", "registered_on": "2024-03-01"}
        ],
        "estimated_monthly_income": "5400.00",
        "generated_at": "2026-01-01T12:00:00Z",
    }
    body.update(extra)
    return body


async def test_credit_report_maps_score_records_and_income_as_decimals() -> None:
    provider = Provider(answer(200, report()))
    async with provider.http() as http:
        result = await CreditBureauClient(http).fetch_credit_report(CPF)
    assert result.score == 640
    assert result.negative_records[0].kind is NegativeRecordKind.PROTEST
    assert result.negative_records[0].amount == Decimal("1520.35")
    assert result.total_negative_amount == Decimal("1520.35")
    assert result.estimated_monthly_income == Decimal("5400.00")
    request = provider.requests[0]
    assert CPF not in str(request.url)  # the CPF travels in the body
    assert json.loads(request.content) == {"cpf": CPF}


@pytest.mark.parametrize(
    "body",
    [report(score=1001), report(score=-1), report(estimated_monthly_income=5400.0), report(cpf="11144477735")],
)
async def test_credit_report_out_of_range_or_with_float_money_is_unexpected(body: dict[str, Any]) -> None:
    provider = Provider(answer(200, body))
    async with provider.http() as http:
        with pytest.raises(UnexpectedProviderAnswer):
            await CreditBureauClient(http).fetch_credit_report(CPF)


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(404, "credit_file_not_found", CreditFileNotFound), (422, "invalid_cpf", InvalidCpf), (400, "x", InvalidCpf)],
)
async def test_credit_bureau_refusals(status: int, code: str, error: type[BusinessRefusal]) -> None:
    provider = Provider(answer(status, {"error": code}))
    async with provider.http() as http:
        with pytest.raises(error):
            await CreditBureauClient(http).fetch_credit_report(CPF)


# ECM


def document(content: bytes, **extra: Any) -> dict[str, Any]:
    body = {
        "document_id": "doc_1",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size_bytes": len(content),
        "content_type": "application/pdf",
        "filename": "ccb.pdf",
        "metadata": {"application_id": "app-1"},
        "stored_at": "2026-01-01T12:00:00Z",
    }
    body.update(extra)
    return body


async def test_store_document_sends_multipart_with_idempotency_key_and_checks_the_hash() -> None:
    content = b"%PDF-1.7 contract"
    provider = Provider(answer(201, document(content)))
    async with provider.http() as http:
        stored = await EcmClient(http).store_document(
            content,
            filename="ccb.pdf",
            content_type="application/pdf",
            metadata={"application_id": "app-1"},
            idempotency_key="app-1/contract",
        )
    assert stored.document_id == "doc_1"
    request = provider.requests[0]
    assert request.headers["Idempotency-Key"] == "app-1/contract"
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert content in request.content


async def test_stored_document_with_another_hash_is_an_integrity_error() -> None:
    provider = Provider(answer(201, document(b"other bytes")))
    async with provider.http() as http:
        with pytest.raises(DocumentIntegrityError):
            await EcmClient(http).store_document(b"my bytes", filename="a", content_type="text/plain")


async def test_fetched_bytes_that_do_not_match_the_record_are_an_integrity_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/content"):
            return httpx.Response(200, content=b"corrupted")
        return httpx.Response(200, json=document(b"original"))

    async with Provider(handler).http() as http:
        with pytest.raises(DocumentIntegrityError):
            await EcmClient(http).fetch_document("doc_1")


async def test_fetched_document_returns_record_and_bytes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/content"):
            return httpx.Response(200, content=b"original")
        return httpx.Response(200, json=document(b"original"))

    async with Provider(handler).http() as http:
        fetched = await EcmClient(http).fetch_document("doc_1")
    assert fetched.content == b"original"
    assert fetched.document.metadata == {"application_id": "app-1"}


async def test_document_not_found_and_reused_key_are_refusals() -> None:
    async with Provider(answer(404, {"error": "document_not_found"})).http() as http:
        with pytest.raises(DocumentNotFound):
            await EcmClient(http).get_document("doc_x")
    async with Provider(answer(409, {"error": "idempotency_key_reused"})).http() as http:
        with pytest.raises(IdempotencyConflict):
            await EcmClient(http).store_document(b"x", filename="a", content_type="text/plain", idempotency_key="k")


async def test_deleting_an_absent_document_reports_false_instead_of_failing() -> None:
    async with Provider(answer(404, {"error": "document_not_found"})).http() as http:
        assert await EcmClient(http).delete_document("doc_gone") is False
    async with Provider(lambda r: httpx.Response(204)).http() as http:
        assert await EcmClient(http).delete_document("doc_1") is True


# eSignature


def envelope(status: str = "sent", signer_status: str = "pending", **extra: Any) -> dict[str, Any]:
    body = {
        "envelope_id": "env_1",
        "external_reference": "loan-1",
        "status": status,
        "document": {"name": "ccb.pdf", "sha256": "a" * 64, "size_bytes": 10},
        "signers": [
            {
                "signer_id": "sgn_1",
                "name": "Ana",
                "email": "ana@example.com",
                "status": signer_status,
                "signing_url": "https://esign.test/sign/tok",
            }
        ],
        "created_at": "2026-01-01T12:00:00Z",
        "expires_at": "2026-01-08T12:00:00Z",
    }
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("sent", EnvelopeStatus.SENT),
        ("signed", EnvelopeStatus.SIGNED),
        ("declined", EnvelopeStatus.DECLINED),
        ("expired", EnvelopeStatus.EXPIRED),
        ("voided", EnvelopeStatus.VOIDED),
    ],
)
async def test_each_envelope_status_is_mapped(status: str, expected: EnvelopeStatus) -> None:
    async with Provider(answer(200, envelope(status))).http() as http:
        result = await ESignatureClient(http).get_envelope("env_1")
    assert result.status is expected
    assert result.signers[0].status is SignerStatus.PENDING


async def test_create_envelope_sends_the_document_in_base64_with_the_idempotency_key() -> None:
    provider = Provider(answer(201, envelope()))
    async with provider.http() as http:
        created = await ESignatureClient(http).create_envelope(
            document=b"%PDF contract",
            document_name="ccb.pdf",
            signers=[SignerRequest(name="Ana", email="ana@example.com", cpf=CPF)],
            external_reference="loan-1",
            idempotency_key="loan-1/envelope",
            expires_in_seconds=3600,
        )
    assert created.signers[0].signing_url == "https://esign.test/sign/tok"
    request = provider.requests[0]
    body = json.loads(request.content)
    assert base64.b64decode(body["document"]["content_base64"]) == b"%PDF contract"
    assert body["signers"] == [{"name": "Ana", "email": "ana@example.com", "cpf": CPF}]
    assert body["expires_in_seconds"] == 3600
    assert request.headers["Idempotency-Key"] == "loan-1/envelope"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (409, "envelope_completed", EnvelopeNotVoidable),
        (404, "envelope_not_found", EnvelopeNotFound),
        (409, "idempotency_key_reused", IdempotencyConflict),
    ],
)
async def test_esignature_refusals(status: int, code: str, error: type[PermanentProviderError]) -> None:
    async with Provider(answer(status, {"error": code})).http() as http:
        with pytest.raises(error):
            await ESignatureClient(http).void_envelope("env_1", reason="offer withdrawn")


async def test_envelope_with_an_unknown_status_is_unexpected() -> None:
    async with Provider(answer(200, envelope("archived"))).http() as http:
        with pytest.raises(UnexpectedProviderAnswer):
            await ESignatureClient(http).get_envelope("env_1")


# PIX payouts


def payout(status: str = "processing", **extra: Any) -> dict[str, Any]:
    body = {
        "end_to_end_id": new_end_to_end_id("12345678"),
        "idempotency_key": "loan-1/disbursement",
        "external_reference": "loan-1",
        "amount": "1500.00",
        "destination": {"type": "pix_key", "pix_key": "ana@example.com"},
        "status": status,
        "created_at": "2026-01-01T12:00:00Z",
    }
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("status", "expected"),
    [("processing", PayoutStatus.PROCESSING), ("settled", PayoutStatus.SETTLED), ("failed", PayoutStatus.FAILED)],
)
async def test_each_payout_status_is_mapped(status: str, expected: PayoutStatus) -> None:
    async with Provider(answer(200, payout(status))).http() as http:
        result = await PixClient(http, receiver_pix_key="k").get_payout(new_end_to_end_id("12345678"))
    assert result.status is expected
    assert result.amount == Decimal("1500.00")


async def test_payout_sends_amount_as_a_string_with_its_idempotency_key() -> None:
    provider = Provider(answer(201, payout()))
    async with provider.http() as http:
        await PixClient(http, receiver_pix_key="k").create_payout(
            amount=Decimal("1500"),
            destination=BankAccountDestination(
                ispb="00000000",
                branch="1",
                account_number="12345",
                account_type="checking",
                holder_document=CPF,
                holder_name="Ana",
            ),
            idempotency_key="loan-1/disbursement",
            external_reference="loan-1",
        )
    request = provider.requests[0]
    body = json.loads(request.content)
    assert body["amount"] == "1500.00"
    assert body["destination"]["type"] == "bank_account"
    assert request.headers["Idempotency-Key"] == "loan-1/disbursement"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (422, "pix_key_not_found", PixKeyNotFound),
        (422, "insufficient_funds", PayoutRefused),
        (422, "invalid_account", PayoutRefused),
        (409, "idempotency_key_reused", IdempotencyConflict),
    ],
)
async def test_payout_refusals(status: int, code: str, error: type[PermanentProviderError]) -> None:
    async with Provider(answer(status, {"error": code})).http() as http:
        with pytest.raises(error):
            await PixClient(http, receiver_pix_key="k").create_payout(
                amount=Decimal("10.00"),
                destination=PixKeyDestination(pix_key="ana@example.com"),
                idempotency_key="k1",
                external_reference="loan-1",
            )


async def test_unknown_payout_is_not_found() -> None:
    async with Provider(answer(404, {"error": "payout_not_found"})).http() as http:
        with pytest.raises(PayoutNotFound):
            await PixClient(http, receiver_pix_key="k").get_payout(new_end_to_end_id("12345678"))


@pytest.mark.parametrize("body", [payout(end_to_end_id="E123"), payout(status="pending"), payout(amount=1500.0)])
async def test_payout_answer_with_a_bad_id_status_or_amount_is_unexpected(body: dict[str, Any]) -> None:
    async with Provider(answer(200, body)).http() as http:
        with pytest.raises(UnexpectedProviderAnswer):
            await PixClient(http, receiver_pix_key="k").get_payout(new_end_to_end_id("12345678"))


# PIX charges


def cob(status: str = "ATIVA", *, txid: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {
        "txid": txid or new_txid(),
        "revisao": 0,
        "calendario": {"criacao": "2026-01-01T12:00:00Z", "expiracao": 3600},
        "status": status,
        "devedor": {"cpf": CPF, "nome": "Ana"},
        "valor": {"original": "250.00"},
        "chave": "cobranca@lendflow.dev",
        "location": "pix.test/qr/abc",
        "pixCopiaECola": build_br_code(
            merchant_name="LENDFLOW", merchant_city="SAO PAULO", location="pix.test/qr/abc", amount=Decimal("250.00")
        ),
    }
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ATIVA", ChargeStatus.ACTIVE),
        ("CONCLUIDA", ChargeStatus.PAID),
        ("REMOVIDA_PELO_USUARIO_RECEBEDOR", ChargeStatus.REMOVED_BY_RECEIVER),
        ("REMOVIDA_PELO_PSP", ChargeStatus.REMOVED_BY_PSP),
    ],
)
async def test_each_bcb_charge_status_is_mapped(status: str, expected: ChargeStatus) -> None:
    txid = new_txid()
    async with Provider(answer(200, cob(status, txid=txid))).http() as http:
        charge = await PixClient(http, receiver_pix_key="k").get_charge(txid)
    assert charge.status is expected
    assert charge.amount == Decimal("250.00")
    assert charge.expires_in_seconds == 3600


async def test_paid_charge_lists_the_received_pix() -> None:
    e2e = new_end_to_end_id("87654321")
    body = cob(
        "CONCLUIDA", pix=[{"endToEndId": e2e, "txid": "x", "valor": "250.00", "horario": "2026-01-01T13:00:00Z"}]
    )
    async with Provider(answer(200, body)).http() as http:
        charge = await PixClient(http, receiver_pix_key="k").get_charge(body["txid"])
    assert [p.end_to_end_id for p in charge.payments] == [e2e]
    assert charge.payments[0].amount == Decimal("250.00")


async def test_create_charge_puts_the_bcb_body_under_its_txid() -> None:
    txid = new_txid()
    provider = Provider(answer(201, cob(txid=txid)))
    async with provider.http() as http:
        await PixClient(http, receiver_pix_key="cobranca@lendflow.dev").create_charge(
            txid=txid, amount=Decimal("250"), debtor_cpf=CPF, debtor_name="Ana", expires_in_seconds=3600
        )
    request = provider.requests[0]
    assert request.method == "PUT" and request.url.path == f"/base/v2/cob/{txid}"
    assert json.loads(request.content) == {
        "calendario": {"expiracao": 3600},
        "devedor": {"cpf": CPF, "nome": "Ana"},
        "valor": {"original": "250.00"},
        "chave": "cobranca@lendflow.dev",
    }


async def test_charge_whose_br_code_fails_its_crc_is_unexpected() -> None:
    body = cob()
    body["pixCopiaECola"] = body["pixCopiaECola"][:-4] + "0000"
    async with Provider(answer(200, body)).http() as http:
        with pytest.raises(UnexpectedProviderAnswer):
            await PixClient(http, receiver_pix_key="k").get_charge(body["txid"])


async def test_charge_errors_map_by_operation() -> None:
    txid = new_txid()
    async with Provider(bcb_problem(404, "CobNaoEncontrado")).http() as http:
        with pytest.raises(ChargeNotFound):
            await PixClient(http, receiver_pix_key="k").get_charge(txid)
    async with Provider(bcb_problem(400, "CobOperacaoInvalida")).http() as http:
        with pytest.raises(IdempotencyConflict):
            await PixClient(http, receiver_pix_key="k").create_charge(
                txid=txid, amount=Decimal("1.00"), debtor_cpf=CPF, debtor_name="Ana"
            )
        with pytest.raises(ChargeNotCancellable):
            await PixClient(http, receiver_pix_key="k").cancel_charge(txid)


async def test_invalid_txid_is_refused_without_calling_out() -> None:
    provider = Provider(answer(201, cob()))
    async with provider.http() as http:
        with pytest.raises(ValueError):
            await PixClient(http, receiver_pix_key="k").create_charge(
                txid="short", amount=Decimal("1.00"), debtor_cpf=CPF, debtor_name="Ana"
            )
    assert provider.requests == []


# PIX refunds (devolução)


def devolucao(status: str = "EM_PROCESSAMENTO", **extra: Any) -> dict[str, Any]:
    body = {
        "id": "refund1",
        "rtrId": new_return_id("12345678"),
        "valor": "25.00",
        "horario": {"solicitacao": "2026-01-01T12:00:00Z"},
        "status": status,
    }
    body.update(extra)
    return body


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("EM_PROCESSAMENTO", RefundStatus.PROCESSING),
        ("DEVOLVIDO", RefundStatus.RETURNED),
        ("NAO_REALIZADO", RefundStatus.FAILED),
    ],
)
async def test_each_bcb_refund_status_is_mapped(status: str, expected: RefundStatus) -> None:
    e2e = new_end_to_end_id("87654321")
    provider = Provider(answer(201, devolucao(status)))
    async with provider.http() as http:
        refund = await PixClient(http, receiver_pix_key="k").refund(
            end_to_end_id=e2e, refund_id="refund1", amount=Decimal("25")
        )
    assert refund.status is expected
    assert refund.end_to_end_id == e2e
    assert provider.requests[0].url.path == f"/base/v2/pix/{e2e}/devolucao/refund1"
    assert json.loads(provider.requests[0].content) == {"valor": "25.00"}


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "DevolucaoOperacaoInvalida", RefundRefused),
        (404, "PixNaoEncontrado", RefundRefused),
    ],
)
async def test_refund_refusals(status: int, code: str, error: type[PermanentProviderError]) -> None:
    async with Provider(bcb_problem(status, code)).http() as http:
        with pytest.raises(error):
            await PixClient(http, receiver_pix_key="k").refund(
                end_to_end_id=new_end_to_end_id("87654321"), refund_id="r1", amount=Decimal("1.00")
            )


async def test_unknown_refund_is_not_found() -> None:
    async with Provider(bcb_problem(404, "DevolucaoNaoEncontrada")).http() as http:
        with pytest.raises(RefundNotFound):
            await PixClient(http, receiver_pix_key="k").get_refund(new_end_to_end_id("87654321"), "r1")


async def test_refund_with_a_malformed_return_id_is_unexpected() -> None:
    async with Provider(answer(200, devolucao(rtrId="D123"))).http() as http:
        with pytest.raises(UnexpectedProviderAnswer):
            await PixClient(http, receiver_pix_key="k").get_refund(new_end_to_end_id("87654321"), "refund1")
