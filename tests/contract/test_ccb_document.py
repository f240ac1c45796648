"""The CCB as a borrower, a lawyer or an auditor reads it: the text of the PDF against the kernel's numbers.

No service needed (veraPDF aside, which Maven resolves from Maven Central into .run/verapdf once).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from contract_support import (
    kernel_offer,
    pdf_pages,
    pdf_text,
    pt_percent,
    schedule_row,
    sha256,
    verapdf_verdicts,
    worksheet_lines,
)
from fpdf import FPDF

from activities.contract_document import (
    SAMPLE_ADDRESS,
    SignatureEvidence,
    ccb_terms,
    render_ccb,
    render_signature_certificate,
)
from domain.ccb import CcbParty, brl, shares_of_hundred
from domain.credit import Fee
from lendflow.settings import LenderSettings, Settings

BORROWER = CcbParty(name="Maria da Conceição Araújo", document="52998224725", address=SAMPLE_ADDRESS.one_line())
LENDER = LenderSettings(
    name="Crédito Ipê Sociedade de Crédito Direto S.A.",
    cnpj="11222333000181",
    address="Rua das Acácias, 45, Centro, Curitiba/PR, CEP 80010-000",
    city="Curitiba/PR",
)
APPLICATION_ID = "3f6c2a91-5b7e-4c1d-9a0b-2e4f6a8c0d12"


def contract_text(**offer_terms: object) -> tuple[str, object]:
    offer, simulation = kernel_offer(**offer_terms)  # type: ignore[arg-type]
    return pdf_text(render_ccb(ccb_terms(APPLICATION_ID, offer, BORROWER, LENDER))), simulation


@pytest.mark.parametrize(
    "offer_terms",
    [
        pytest.param({}, id="price"),
        pytest.param({"amortization": "sac", "term_months": 24, "amount": "25000.00"}, id="sac"),
        pytest.param(
            {
                "fees": (Fee(name="Tarifa de cadastro", amount=Decimal("150.00")),),
                "finance_iof": True,
                "term_months": 36,
            },
            id="price-financed-iof-and-fees",
        ),
    ],
)
def test_contract_shows_every_figure_of_the_simulation_to_the_centavo(offer_terms: dict[str, object]) -> None:
    text, simulation = contract_text(**offer_terms)
    # The parties, fully identified.
    assert "Maria da Conceição Araújo" in text
    assert "529.982.247-25" in text
    assert "11.222.333/0001-81" in text
    assert "Rua das Acácias, 45, Centro, Curitiba/PR" in text
    # The borrower's full address, accents and all (the document lives in the ECM, not in logs).
    assert "Avenida Paulista, 1578, apartamento 42, Bela Vista, São Paulo/SP, CEP 01310-100" in " ".join(text.split())
    # Every figure of the simulation the offer was made from.
    assert f"IOF {brl(simulation.iof.total)}" in text
    assert f"Tarifas {brl(simulation.fees_total)}" in text
    assert f"Valor líquido liberado {brl(simulation.amount_released)}" in text
    assert f"Valor total financiado {brl(simulation.amount_financed)}" in text
    assert f"Valor total a pagar {brl(simulation.total_payable)}" in text
    assert brl(simulation.installments[0].payment) in text
    assert (
        f"CET: {pt_percent(simulation.cet.monthly_percent)} ao mês · {pt_percent(simulation.cet.annual_percent)} ao ano"
        in text
    )
    # The whole schedule: number, due date, payment, interest, amortisation, balance.
    for i in simulation.installments:
        assert schedule_row(i.number, i.due_date, i.payment, i.interest, i.amortization, i.balance) in text
    assert (
        f"Total {brl(simulation.total_payable)} {brl(simulation.total_interest)} {brl(simulation.amount_financed)}"
        in text
    )


def test_cet_is_printed_in_percent_not_as_the_fraction() -> None:
    """The defect this replaced: CET 2,33 % a month was printed "0,02%"."""
    text, simulation = contract_text()
    assert (simulation.cet.monthly_percent, simulation.cet.annual_percent) == (Decimal("2.33"), Decimal("31.88"))
    assert "CET: 2,33 % ao mês · 31,88 % ao ano" in text
    assert "0,02 %" not in text and "0,32 %" not in text
    assert "1,99 % ao mês" in text  # the interest rate of the offer


def test_cet_worksheet_parts_add_up_to_the_total_payable_and_to_one_hundred_percent() -> None:
    fee = Fee(name="Tarifa de cadastro", amount=Decimal("150.00"))
    text, simulation = contract_text(fees=(fee,), finance_iof=True, amount="7350.00", term_months=18)
    lines = worksheet_lines(text)
    assert set(lines) == {"Valor liberado ao Emitente", "Juros remuneratórios", "IOF", "Tarifas"}
    assert lines["Valor liberado ao Emitente"][0] == brl(simulation.amount_released)
    assert lines["Juros remuneratórios"][0] == brl(simulation.total_interest)
    assert lines["IOF"][0] == brl(simulation.iof.total)
    assert lines["Tarifas"][0] == brl(simulation.fees_total)
    assert sum(percent for _, percent in lines.values()) == Decimal("100.00")
    assert "Valor total a pagar " + brl(simulation.total_payable) + " 100,00 %" in text
    # Each share is the amount over the total payable, to the hundredth of a point.
    for label, amount in (("IOF", simulation.iof.total), ("Tarifas", simulation.fees_total)):
        assert abs(lines[label][1] - amount * 100 / simulation.total_payable) <= Decimal("0.01")


def test_shares_that_round_to_more_or_less_than_one_hundred_are_evened_out() -> None:
    thirds = shares_of_hundred([Decimal(1), Decimal(1), Decimal(1)], Decimal(3))
    assert thirds == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(shares_of_hundred([Decimal("2"), Decimal("2"), Decimal("2")], Decimal("6")), Decimal(0)) == Decimal(
        "100.00"
    )


def test_contract_has_clauses_place_date_and_signature_lines_with_accents() -> None:
    text = " ".join(contract_text()[0].split())  # paragraphs wrap anywhere
    for words in (
        "CÉDULA DE CRÉDITO BANCÁRIO",
        "Lei nº 10.931/2004",
        "Resolução CMN nº 4.881/2020",
        "multa de 2 %",
        "juros de mora de 1 % (um por cento) ao mês, calculados pro rata die",
        "art. 52, § 2º",
        "em até 7 dias contados da assinatura",
        "Fica eleito o foro",
        "Curitiba/PR, 1º de dezembro de 2026.",
        "EMITENTE · CPF 529.982.247-25",
        "CREDOR · CNPJ 11.222.333/0001-81",
    ):
        assert words in text, words


def test_withdrawal_clause_only_where_the_product_offers_it() -> None:
    offer, _ = kernel_offer()
    without = LENDER.model_copy(update={"withdrawal_days": None})
    text = pdf_text(render_ccb(ccb_terms(APPLICATION_ID, offer, BORROWER, without)))
    assert "Direito de arrependimento" not in text
    assert "Direito de arrependimento" in contract_text()[0]


def test_same_inputs_give_the_same_bytes_whenever_rendered() -> None:
    offer, _ = kernel_offer(amortization="sac", term_months=48)
    terms = ccb_terms(APPLICATION_ID, offer, BORROWER, LENDER)
    first = render_ccb(terms)
    time.sleep(1.1)  # a date taken from the clock (seconds) would show
    assert sha256(render_ccb(terms)) == sha256(first)
    assert pdf_pages(first) >= 2
    other = ccb_terms(
        APPLICATION_ID, offer, CcbParty("Maria da Conceição Araujo", BORROWER.document, BORROWER.address), LENDER
    )
    assert sha256(render_ccb(other)) != sha256(first)
    moved = CcbParty(BORROWER.name, BORROWER.document, BORROWER.address.replace("1578", "1587"))  # type: ignore[union-attr]
    assert sha256(render_ccb(ccb_terms(APPLICATION_ID, offer, moved, LENDER))) != sha256(first)


def _evidence(contract_sha256: str) -> SignatureEvidence:
    moment = datetime(2026, 12, 1, 14, 5, 9, tzinfo=UTC)
    return SignatureEvidence(
        contract_number="CCB-3F6C2A91",
        document_name="CCB CCB-3F6C2A91",
        ecm_document_id="doc_0123456789abcdef",
        contract_sha256=contract_sha256,
        provider_sha256=contract_sha256,
        envelope_id="env_5f1e2d3c4b5a69788796a5b4c3d2e1f0",
        envelope_status="signed",
        envelope_created_at=moment.replace(hour=13),
        completed_at=moment,
        signer_name=BORROWER.name,
        signer_email="maria@example.com",
        signer_id="sgn_0a1b2c3d4e5f6071",
        signed_at=moment,
    )


def test_signature_certificate_binds_the_signer_and_the_envelope_to_the_contract_hash() -> None:
    offer, _ = kernel_offer()
    contract_hash = sha256(render_ccb(ccb_terms(APPLICATION_ID, offer, BORROWER, LENDER)))
    certificate = render_signature_certificate(_evidence(contract_hash))
    text = pdf_text(certificate)
    assert contract_hash in text.replace("\n", "")
    assert "env_5f1e2d3c4b5a69788796a5b4c3d2e1f0" in text
    assert "Maria da Conceição Araújo" in text and "maria@example.com" in text
    assert "01/12/2026 11:05:09 (horário de Brasília) · 2026-12-01T14:05:09Z" in text
    assert "os dois resumos coincidem" in text
    assert sha256(render_signature_certificate(_evidence(contract_hash))) == sha256(certificate)


@pytest.mark.services  # veraPDF runs as a Java process (Maven resolves it into .run/verapdf once)
def test_contract_and_certificate_are_pdfa_2b_by_verapdf(tmp_path: Path) -> None:
    offer, _ = kernel_offer(amortization="sac", term_months=36)
    contract = tmp_path / "ccb.pdf"
    contract.write_bytes(render_ccb(ccb_terms(APPLICATION_ID, offer, BORROWER, LENDER)))
    certificate = tmp_path / "certificado.pdf"
    certificate.write_bytes(render_signature_certificate(_evidence(sha256(contract.read_bytes()))))
    # A control the validator must refuse: a plain PDF (no XMP, no output intent, a core font).
    plain = FPDF()
    plain.add_page()
    plain.set_font("Helvetica", size=12)
    plain.cell(text="not an archive")
    control = tmp_path / "plain.pdf"
    control.write_bytes(bytes(plain.output()))
    verdicts = verapdf_verdicts(Settings(environment="test").run_dir, [contract, certificate, control])
    assert verdicts == {contract: "PASS", certificate: "PASS", control: "FAIL"}
