"""The contract of a real offer through the activity path: PostgreSQL, the simulator's ECM and eSignature
over real HTTP, the signing page that shows the PDF, and the signature certificate stored beside it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx
import pytest
import structlog
from contract_support import kernel_offer, pdf_text, schedule_row, sha256
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import ServerThread, free_port, new_cpf
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from activities.contract_document import BorrowerAddressMissing
from activities.origination import OriginationActivities
from domain.ccb import brl
from domain.postal_address import PostalAddress
from integrations.factory import ProviderClients
from lendflow.settings import (
    CreditBureauSettings,
    EcmSettings,
    ESignatureSettings,
    FederalRevenueSettings,
    LenderSettings,
    PixSettings,
    ProvidersSettings,
    Settings,
    SimulatorSettings,
)
from simulator.app import create_app
from storage.models import Customer, Document, LoanApplication, SignatureEnvelope
from workflows.contracts.origination import ContractRequest, SignatureCertificateRequest

pytestmark = pytest.mark.services

LENDER = LenderSettings(
    name="Crédito Ipê Sociedade de Crédito Direto S.A.",
    cnpj="11222333000181",
    address="Rua das Acácias, 45, Centro, Curitiba/PR, CEP 80010-000",
    city="Curitiba/PR",
)


# The contract names the borrower with the address on file (activities.contract_document.borrower_of).
BORROWER_ADDRESS = PostalAddress(
    postal_code="80010000",
    street="Rua XV de Novembro",
    number="700",
    complement=None,
    district="Centro",
    city="Curitiba",
    state="PR",
)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A simulator of this module's own, on a free port; its webhooks go to a port nobody listens on."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = SecretStr("contract-test-key")
    settings = Settings(
        environment="test",
        run_dir=tmp_path_factory.mktemp("run"),
        simulator=SimulatorSettings(port=port, webhook_max_attempts=1),
        providers=ProvidersSettings(
            federal_revenue=FederalRevenueSettings(base_url=f"{base}/federal-revenue", api_key=key),
            credit_bureau=CreditBureauSettings(base_url=f"{base}/credit-bureau", api_key=key),
            ecm=EcmSettings(base_url=f"{base}/ecm", api_key=key),
            esignature=ESignatureSettings(base_url=f"{base}/esignature", api_key=key),
            pix=PixSettings(base_url=f"{base}/pix", api_key=key),
            webhook_target_base_url=f"http://127.0.0.1:{free_port()}/v1/webhooks/",
        ),
    )
    server = ServerThread(create_app(settings), port)
    server.start()
    yield settings
    server.stop()


@pytest.fixture
async def contract_providers(simulator: Settings) -> AsyncIterator[ProviderClients]:
    async with ProviderClients.from_settings(simulator) as clients:
        yield clients


@dataclass(frozen=True)
class Borrower:
    customer_id: str
    application_id: str
    name: str
    cpf: str
    email: str


async def accepted_application(session_maker: async_sessionmaker[AsyncSession], amount: Decimal) -> Borrower:
    cpf, suffix = new_cpf(), uuid.uuid4().hex[:8]
    name = f"João da Conceição Araújo {suffix}"
    customer = Customer(
        id=uuid.uuid4(), cpf=cpf, name=name, email=f"joao.{suffix}@example.com", password_hash="x",
        birth_date=date(1985, 3, 14), phone=f"+55419{suffix[:8].translate(str.maketrans('abcdef', '123456'))}",
        monthly_income=Decimal("12000.00"), status="active", address=BORROWER_ADDRESS,
    )  # fmt: skip
    application = LoanApplication(
        id=uuid.uuid4(),
        customer_id=customer.id,
        status="offer_accepted",
        amount=amount,
        term_months=12,
        amortization="price",
    )
    async with session_maker() as session, session.begin():
        session.add(customer)
        await session.flush()
        session.add(application)
    return Borrower(str(customer.id), str(application.id), name, cpf, customer.email)


def activities_for(
    session_maker: async_sessionmaker[AsyncSession], providers: ProviderClients
) -> OriginationActivities:
    return OriginationActivities(
        session_maker, providers.credit_bureau, providers.ecm, providers.esignature, providers.pix, lender=LENDER
    )


async def test_contract_of_an_offer_is_signed_on_a_page_that_shows_it_and_certified_beside_it(
    session_maker: async_sessionmaker[AsyncSession], contract_providers: ProviderClients
) -> None:
    offer, simulation = kernel_offer(amount="8400.00", term_months=12, monthly_rate="0.0249")
    borrower = await accepted_application(session_maker, offer.amount)
    activities = activities_for(session_maker, contract_providers)
    request = ContractRequest(borrower.application_id, borrower.customer_id, offer, steps=[])

    with structlog.testing.capture_logs() as logs:
        sent = await activities.prepare_contract(request)
        again = await activities.prepare_contract(request)  # activities run at least once
    assert (again.ecm_document_id, again.sha256, again.envelope_id) == (
        sent.ecm_document_id,
        sent.sha256,
        sent.envelope_id,
    )

    # The document in the ECM is the contract of this offer, to the centavo.
    stored = await contract_providers.ecm.fetch_document(sent.ecm_document_id)
    assert sha256(stored.content) == sent.sha256
    assert stored.document.metadata["kind"] == "ccb"
    text = pdf_text(stored.content)
    formatted_cpf = f"{borrower.cpf[:3]}.{borrower.cpf[3:6]}.{borrower.cpf[6:9]}-{borrower.cpf[9:]}"
    assert borrower.name in text and formatted_cpf in text and "11.222.333/0001-81" in text
    assert "Rua XV de Novembro, 700, Centro, Curitiba/PR, CEP 80010-000" in " ".join(text.split())
    for figure in (
        offer.amount_released,
        offer.iof_total,
        offer.fees_total,
        offer.total_payable,
        offer.installments[0].payment,
    ):
        assert brl(figure) in text
    assert (
        f"CET: {simulation.cet.monthly_percent:.2f} % ao mês · {simulation.cet.annual_percent:.2f} % ao ano".replace(
            ".", ","
        )
        in text
    )
    for i in offer.installments:
        assert schedule_row(i.number, i.due_date, i.payment, i.interest, i.amortization, i.balance) in text

    # The person who signs sees that very document on the signing page.
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(sent.signing_url)
        assert page.status_code == 200
        source = re.search(r'<iframe id="document"[^>]*src="([^"]+)"', page.text)
        link = re.search(r'<a id="document-link" href="([^"]+)"', page.text)
        assert source is not None and link is not None
        shown = await browser.get(httpx.URL(sent.signing_url).join(source[1]))
        assert shown.status_code == 200 and shown.headers["content-type"] == "application/pdf"
        assert sha256(shown.content) == sent.sha256
        assert (await browser.get(sent.signing_url.rsplit("/", 1)[0] + "/not-a-token/document")).status_code == 404
        signed = await browser.post(sent.signing_url, data={"decision": "sign"})
        assert signed.status_code == 200

    certificate_request = SignatureCertificateRequest(borrower.application_id, borrower.customer_id, sent.envelope_id)
    with structlog.testing.capture_logs() as more_logs:
        issued = await activities.issue_signature_certificate(certificate_request)
        reissued = await activities.issue_signature_certificate(certificate_request)
    assert reissued == issued
    assert issued.contract_sha256 == sent.sha256
    certificate = await contract_providers.ecm.fetch_document(issued.ecm_document_id)
    assert certificate.document.metadata["kind"] == "signature_certificate"
    certificate_text = pdf_text(certificate.content)
    assert (
        sent.sha256 in certificate_text and sent.envelope_id in certificate_text and borrower.name in certificate_text
    )
    async with session_maker() as session:
        kinds = (
            await session.scalars(
                select(Document.document_type).where(Document.application_id == uuid.UUID(borrower.application_id))
            )
        ).all()
        envelope = await session.get(SignatureEnvelope, sent.envelope_id)
    assert sorted(kinds) == ["contract", "signature_certificate"]
    assert envelope is not None

    # The full CPF lives in the document only: not in a log line, not in a Temporal payload (even
    # before the codec encrypts it).
    assert borrower.cpf not in repr(logs + more_logs) and formatted_cpf not in repr(logs + more_logs)
    for message in (request, sent, certificate_request, issued):
        payload = pydantic_data_converter.payload_converter.to_payloads([message])[0].data
        assert borrower.cpf.encode() not in payload and formatted_cpf.encode() not in payload


async def test_certificate_is_refused_for_an_envelope_not_signed(
    session_maker: async_sessionmaker[AsyncSession], contract_providers: ProviderClients
) -> None:
    offer, _ = kernel_offer(amount="3000.00", term_months=6)
    borrower = await accepted_application(session_maker, offer.amount)
    activities = activities_for(session_maker, contract_providers)
    sent = await activities.prepare_contract(ContractRequest(borrower.application_id, borrower.customer_id, offer, []))
    with pytest.raises(ApplicationError) as refused:
        await activities.issue_signature_certificate(
            SignatureCertificateRequest(borrower.application_id, borrower.customer_id, sent.envelope_id)
        )
    assert refused.value.type == "EnvelopeNotSigned" and refused.value.non_retryable


async def test_no_contract_for_a_borrower_without_an_address(
    session_maker: async_sessionmaker[AsyncSession], contract_providers: ProviderClients
) -> None:
    offer, _ = kernel_offer(amount="3000.00", term_months=6)
    borrower = await accepted_application(session_maker, offer.amount)
    none = {
        f"address_{n}": None for n in ("postal_code", "street", "number", "complement", "district", "city", "state")
    }
    async with session_maker() as session, session.begin():
        await session.execute(update(Customer).where(Customer.id == uuid.UUID(borrower.customer_id)).values(**none))
    with pytest.raises(BorrowerAddressMissing):
        await activities_for(session_maker, contract_providers).prepare_contract(
            ContractRequest(borrower.application_id, borrower.customer_id, offer, [])
        )
