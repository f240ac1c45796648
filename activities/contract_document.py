"""The CCB and its signature certificate as PDF/A-2b documents, drawn with fpdf2.

Why fpdf2: pure Python (no system library to install beside the fonts), Unicode TrueType fonts
embedded as subsets, PDF/A-2b enforced by the library itself (it refuses what PDF/A forbids and adds
the sRGB output intent from the ICC profile it ships), and output that depends only on its input once
the creation date and the XMP metadata are fixed: the same contract gives the same bytes, so the
SHA-256 stored beside it in the ECM and sent to the eSignature provider stays the evidence of what
was signed.

Fonts: DejaVu Sans, from Debian's ``fonts-dejavu-core`` (``/usr/share/fonts/truetype/dejavu``), read through
`activities.contract_fonts` (reduced copies first, the system files for a glyph they lack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, XPos, YPos
from temporalio.exceptions import ApplicationError

from activities.contract_fonts import FontSet, render
from domain.ccb import (
    AMORTIZATION_NAMES,
    CcbInstallment,
    CcbParty,
    CcbTerms,
    brl,
    cet_worksheet,
    date_br,
    date_in_words,
    format_cnpj,
    format_cpf,
    percent,
    rate_percent,
)
from domain.credit.money import credit_context
from domain.postal_address import PostalAddress, format_postal_code
from lendflow.logging import remember_personal_values
from lendflow.settings import LenderSettings
from storage.models import Customer
from workflows.contracts.origination import Offer

BRASILIA = timezone(timedelta(hours=-3), "BRT")
PRODUCER = "Lendflow contract renderer (fpdf2)"
INK = (33, 37, 41)
MUTED = (90, 98, 106)
RULE = (170, 178, 186)
SHADE = (236, 240, 244)


ENVELOPE_STATUS_NAMES = {"signed": "assinado", "sent": "enviado", "declined": "recusado", "expired": "expirado"}


BORROWER_ADDRESS_MISSING = "BorrowerAddressMissing"


class BorrowerAddressMissing(ApplicationError):
    """The borrower has no postal address on file, and a CCB names the borrower with one (Lei
    10.931/2004, art. 29): the contract is not issued. Customers registered before the address was
    asked at sign-up add it with ``PUT /v1/me/address``.

    Retryable on purpose: the contract step retries it while the customer can still add the address
    from the app, and then pauses for an ops retry like any fixable step; nothing is rendered, stored
    or sent meanwhile. The message names no personal data, only that the address is missing."""

    def __init__(self) -> None:
        super().__init__(
            "the borrower has no postal address on file; they add it with PUT /v1/me/address",
            type=BORROWER_ADDRESS_MISSING,
            non_retryable=False,
        )


def borrower_of(customer: Customer) -> CcbParty:
    """The borrower as the contract names them: full name, full CPF and postal address, loaded from
    PostgreSQL by the activity (never carried in a Temporal payload). Each personal value is also
    registered for masking, so none reaches a log line of this attempt in clear."""
    address = customer.address
    remember_personal_values([customer.name, customer.email, customer.cpf])
    if address is None:
        raise BorrowerAddressMissing()
    line = address.one_line()
    remember_personal_values(
        [
            line,
            address.street,
            f"{address.street}, {address.number}",
            address.postal_code,
            format_postal_code(address.postal_code),
        ]
    )
    return CcbParty(name=customer.name, document=customer.cpf, address=line)


@dataclass(frozen=True)
class SignatureEvidence:
    """What the eSignature provider attests about a signed envelope, and the document it covers."""

    contract_number: str
    document_name: str
    ecm_document_id: str
    contract_sha256: str
    provider_sha256: str
    envelope_id: str
    envelope_status: str
    envelope_created_at: datetime
    completed_at: datetime
    signer_name: str
    signer_email: str
    signer_id: str
    signed_at: datetime
    provider: str = "eSignature"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class _Document(FPDF):
    """An A4 PDF/A-2b page set with the project's fonts, fixed metadata and a footer."""

    def __init__(self, fonts: FontSet, *, title: str, footer: str, created: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance="PDFA_2B")
        for style, path in fonts.sans.items():
            self.add_font("DejaVu", style, str(path))
        self.add_font("DejaVuMono", "", str(fonts.mono))
        self._footer_text = footer
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_creator("Lendflow")
        self.set_producer(PRODUCER)
        self.set_lang("pt-BR")
        self.set_creation_date(created)
        stamp = created.isoformat(timespec="seconds")
        # Our own XMP packet: fpdf2's would stamp ModifyDate with the time of rendering.
        self.set_xmp_metadata(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            '  <rdf:Description rdf:about=""\n'
            '    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
            '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"\n'
            f'    xmp:CreatorTool="Lendflow" xmp:CreateDate="{stamp}" xmp:ModifyDate="{stamp}"\n'
            f'    xmp:MetadataDate="{stamp}" pdf:Producer="{_xml(PRODUCER)}">\n'
            "   <pdfaid:part>2</pdfaid:part>\n"
            "   <pdfaid:conformance>B</pdfaid:conformance>\n"
            f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_xml(title)}</rdf:li></rdf:Alt></dc:title>\n'
            "   <dc:language><rdf:Bag><rdf:li>pt-BR</rdf:li></rdf:Bag></dc:language>\n"
            "  </rdf:Description>\n"
            " </rdf:RDF>\n"
            "</x:xmpmeta>"
        )
        self.set_text_color(*INK)
        self.set_draw_color(*RULE)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self._footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Página {self.page_no()} de {{nb}}", align="R")
        self.set_text_color(*INK)

    # Building blocks.

    def section(self, title: str) -> None:
        if self.will_page_break(22):
            self.add_page()
        self.ln(3)
        self.set_font("DejaVu", "B", 10.5)
        self.cell(0, 6, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = self.get_y()
        self.line(self.l_margin, y, self.w - self.r_margin, y)
        self.ln(1.5)
        self.set_font("DejaVu", "", 9)

    def paragraph(self, text: str, *, size: float = 9, style: str = "", height: float = 4.6) -> None:
        self.set_font("DejaVu", style, size)
        self.multi_cell(0, height, text, align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def label_values(
        self, rows: Sequence[tuple[str, str]], *, label_width: float = 52, mono: frozenset[str] = frozenset()
    ) -> None:
        """Two columns without borders: a muted label and its value (monospaced for the labels in ``mono``)."""
        self.set_font("DejaVu", "", 9)
        with self.table(
            col_widths=(label_width, self.epw - label_width),
            width=self.epw,
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            line_height=5,
            padding=(0.8, 1.5, 0.8, 1.5),
            text_align=("LEFT", "LEFT"),
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(label, style=FontFace(color=MUTED))
                row.cell(value, style=FontFace(family="DejaVuMono", size_pt=7.5) if label in mono else None)


def contract_number(application_id: str) -> str:
    return f"CCB-{application_id[:8].upper()}"


def ccb_terms(application_id: str, offer: Offer, borrower: CcbParty, lender: LenderSettings) -> CcbTerms:
    """The contract of an accepted offer: every figure is the offer's, which is the kernel's."""
    return CcbTerms(
        contract_number=contract_number(application_id),
        lender=CcbParty(name=lender.name, document=lender.cnpj, address=lender.address),
        borrower=borrower,
        issue_date=offer.release_date,
        place=lender.city,
        amount=offer.amount,
        amount_financed=offer.amount_financed,
        amount_released=offer.amount_released,
        iof_total=offer.iof_total,
        fees_total=offer.fees_total,
        monthly_rate=offer.monthly_rate,
        cet_monthly=offer.cet_monthly,
        cet_annual=offer.cet_annual,
        total_payable=offer.total_payable,
        amortization=offer.amortization,
        installments=tuple(
            CcbInstallment(i.number, i.due_date, i.payment, i.interest, i.amortization, i.balance)
            for i in offer.installments
        ),
        withdrawal_days=lender.withdrawal_days,
    )


def _created_at(issue_date: date) -> datetime:
    """The document's creation date: its issue date at midnight in Brasília (never the clock)."""
    return datetime.combine(issue_date, time(0, 0), tzinfo=BRASILIA)


def _annual_equivalent(monthly_rate: Decimal) -> Decimal:
    with credit_context():
        return (1 + monthly_rate) ** 12 - 1


def render_ccb(terms: CcbTerms) -> bytes:
    """The contract as PDF/A-2b bytes; the same terms always give the same bytes."""
    return render(partial(draw_ccb, terms))


def draw_ccb(terms: CcbTerms, fonts: FontSet) -> FPDF:
    """The contract drawn with ``fonts``, not yet output (`render_ccb` chooses the fonts)."""
    lender, borrower = terms.lender, terms.borrower
    pdf = _Document(
        fonts,
        title=f"Cédula de Crédito Bancário nº {terms.contract_number}",
        footer=f"CCB nº {terms.contract_number} · {lender.name} · CNPJ {format_cnpj(lender.document)}",
        created=_created_at(terms.issue_date),
    )
    pdf.add_page()

    # Letterhead: the lender.
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 5.5, lender.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 4, f"CNPJ {format_cnpj(lender.document)} · {lender.address or ''}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 8, "CÉDULA DE CRÉDITO BANCÁRIO", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9.5)
    pdf.cell(
        0, 5, "Empréstimo pessoal · Lei nº 10.931/2004, arts. 26 a 45", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.cell(
        0, 5, f"Nº {terms.contract_number} · Emitida em {date_br(terms.issue_date)}", align="C",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.ln(1)

    pdf.section("1. Partes")
    pdf.label_values(
        [
            ("Credor", lender.name),
            ("CNPJ do Credor", format_cnpj(lender.document)),
            ("Endereço do Credor", lender.address or "—"),
            ("Emitente (devedor)", borrower.name),
            ("CPF do Emitente", format_cpf(borrower.document)),
            ("Endereço do Emitente", borrower.address or "o do cadastro do Emitente junto ao Credor"),
        ]
    )

    pdf.section("2. Características do crédito")
    payments = {i.payment for i in terms.installments}
    if len(payments) == 1:
        installment_text = f"{len(terms.installments)} parcelas mensais de {brl(terms.installments[0].payment)}"
    else:
        installment_text = (
            f"{len(terms.installments)} parcelas mensais, de {brl(terms.installments[0].payment)} "
            f"(1ª) a {brl(terms.installments[-1].payment)} (última)"
        )
    pdf.label_values(
        [
            ("Valor solicitado", brl(terms.amount)),
            ("Valor total financiado", brl(terms.amount_financed)),
            ("IOF", brl(terms.iof_total)),
            ("Tarifas", brl(terms.fees_total)),
            ("Valor líquido liberado", f"{brl(terms.amount_released)}, por PIX, em {date_br(terms.issue_date)}"),
            (
                "Taxa de juros",
                f"{rate_percent(terms.monthly_rate)} ao mês · {rate_percent(_annual_equivalent(terms.monthly_rate))} ao ano",
            ),
            ("Sistema de amortização", AMORTIZATION_NAMES.get(terms.amortization, terms.amortization.upper())),
            ("Pagamento", installment_text),
            ("Vencimentos", f"de {date_br(terms.first_due_date)} a {date_br(terms.last_due_date)}"),
            ("Valor total a pagar", brl(terms.total_payable)),
        ]
    )

    worksheet = cet_worksheet(terms)
    pdf.section("3. Custo Efetivo Total (CET)")
    pdf.set_fill_color(*SHADE)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(
        0, 10,
        f"CET: {percent(worksheet.cet_monthly_percent)} ao mês · {percent(worksheet.cet_annual_percent)} ao ano",
        border=1, align="C", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.ln(2)
    pdf.paragraph(
        "Planilha de cálculo do CET (Resolução CMN nº 4.881/2020): o valor total a pagar decomposto no valor "
        "liberado ao Emitente e nos custos do crédito, em reais e em percentual do total.",
        size=8.5,
    )
    pdf.ln(1)
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(90, 40, 40),
        width=pdf.epw,
        text_align=("LEFT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=SHADE),
        line_height=5.2,
        padding=(0.8, 1.5, 0.8, 1.5),
    ) as table:
        heading = table.row()
        for text in ("Componente", "Valor", "% do total"):
            heading.cell(text)
        for line in worksheet.lines:
            row = table.row()
            row.cell(line.label)
            row.cell(brl(line.amount))
            row.cell(percent(line.percent))
        total = table.row()
        total.cell("Valor total a pagar", style=FontFace(emphasis="BOLD"))
        total.cell(brl(worksheet.total_payable), style=FontFace(emphasis="BOLD"))
        total.cell(
            percent(sum((line.percent for line in worksheet.lines), Decimal(0))), style=FontFace(emphasis="BOLD")
        )
    pdf.ln(1)
    pdf.paragraph(
        f"O CET considera os fluxos de {date_br(terms.issue_date)} (valor liberado) e das {len(terms.installments)} "
        "parcelas nas datas de vencimento, em dias corridos sobre 365, e é expresso em taxa anual e na taxa "
        "mensal equivalente, com duas casas decimais.",
        size=8,
    )

    pdf.section("4. Cronograma de pagamento")
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(
        col_widths=(12, 26, 33, 33, 33, 33),
        width=pdf.epw,
        text_align=("CENTER", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=SHADE),
        line_height=4.8,
        padding=(0.5, 1.5, 0.5, 1.5),
    ) as table:
        heading = table.row()
        for text in ("Nº", "Vencimento", "Parcela", "Juros", "Amortização", "Saldo devedor"):
            heading.cell(text)
        for i in terms.installments:
            row = table.row()
            for text in (
                str(i.number),
                date_br(i.due_date),
                brl(i.payment),
                brl(i.interest),
                brl(i.amortization),
                brl(i.balance),
            ):
                row.cell(text)
        total = table.row()
        bold = FontFace(emphasis="BOLD")
        total.cell("Total", colspan=2, style=bold)
        total.cell(brl(sum((i.payment for i in terms.installments), Decimal(0))), style=bold)
        total.cell(brl(sum((i.interest for i in terms.installments), Decimal(0))), style=bold)
        total.cell(brl(sum((i.amortization for i in terms.installments), Decimal(0))), style=bold)
        total.cell("")

    pdf.section("5. Cláusulas")
    for clause in _clauses(terms):
        pdf.paragraph(clause)
        pdf.ln(1.2)

    # Place, date and signatures, kept together.
    if pdf.will_page_break(46):
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 9.5)
    pdf.cell(0, 6, f"{terms.place}, {date_in_words(terms.issue_date)}.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(13)
    half = (pdf.epw - 12) / 2
    y = pdf.get_y()
    for n, (role, party, document) in enumerate(
        (
            ("EMITENTE", borrower, f"CPF {format_cpf(borrower.document)}"),
            ("CREDOR", lender, f"CNPJ {format_cnpj(lender.document)}"),
        )
    ):
        x = pdf.l_margin + n * (half + 12)
        pdf.line(x, y, x + half, y)
        pdf.set_xy(x, y + 1)
        pdf.set_font("DejaVu", "B", 8.5)
        pdf.multi_cell(half, 4.2, party.name, align="C")
        pdf.set_x(x)
        pdf.set_font("DejaVu", "", 8)
        pdf.multi_cell(half, 4.2, f"{role} · {document}", align="C")
    pdf.set_xy(pdf.l_margin, pdf.get_y() + 6)
    pdf.paragraph(
        "Assinatura eletrônica: este documento é assinado eletronicamente pelo Emitente; o certificado de "
        "assinatura emitido pelo provedor registra o signatário, a data e hora, o envelope e o SHA-256 deste "
        "arquivo, e é guardado com ele.",
        size=7.5,
        height=3.8,
    )
    return pdf


def _clauses(terms: CcbTerms) -> list[str]:
    n = len(terms.installments)
    clauses = [
        f"5.1. Promessa de pagamento. O Emitente pagará ao Credor, ou à sua ordem, em moeda corrente, a dívida em "
        f"dinheiro certa, líquida e exigível desta Cédula, no valor total de {brl(terms.total_payable)}, em {n} "
        "parcelas mensais e sucessivas, nos valores e vencimentos do cronograma da seção 4, que incluem os juros "
        f"remuneratórios de {rate_percent(terms.monthly_rate)} ao mês, capitalizados mensalmente.",
        f"5.2. Liberação. O Credor creditará {brl(terms.amount_released)} ao Emitente por PIX, em conta de sua "
        f"titularidade, em {date_br(terms.issue_date)}, depois de assinada esta Cédula; o IOF ({brl(terms.iof_total)}) "
        "é recolhido pelo Credor na forma da lei.",
        "5.3. Encargos por atraso. Sobre a parcela paga depois do vencimento incidirão, até o efetivo pagamento: "
        "multa de 2 % (dois por cento) sobre o valor em atraso (Código de Defesa do Consumidor, art. 52, § 1º); "
        "juros de mora de 1 % (um por cento) ao mês, calculados pro rata die; e os juros remuneratórios desta "
        "Cédula pelos dias de atraso.",
        "5.4. Liquidação antecipada. O Emitente pode liquidar antecipadamente a dívida, total ou parcialmente, com "
        "a redução proporcional dos juros e demais acréscimos (Código de Defesa do Consumidor, art. 52, § 2º): o "
        "saldo é o valor presente das parcelas vincendas, descontadas à taxa de juros desta Cédula.",
    ]
    if terms.withdrawal_days:
        clauses.append(
            f"5.5. Direito de arrependimento. Contratada fora do estabelecimento do Credor, esta Cédula pode ser "
            f"desfeita pelo Emitente em até {terms.withdrawal_days} dias contados da assinatura (Código de Defesa "
            "do Consumidor, art. 49), mediante a restituição do valor liberado e dos tributos incidentes sobre a "
            "operação, sem juros remuneratórios nem tarifas."
        )
    clauses += [
        "5.6. Título executivo. Esta Cédula é título executivo extrajudicial e representa dívida em dinheiro certa, "
        "líquida e exigível, seja pela soma nela indicada, seja pelo saldo devedor demonstrado em planilha de "
        "cálculo (Lei nº 10.931/2004, art. 28).",
        "5.7. Assinatura eletrônica. As partes reconhecem a validade da assinatura eletrônica desta Cédula "
        "(Medida Provisória nº 2.200-2/2001, art. 10, § 2º, e Lei nº 14.063/2020).",
        "5.8. Foro. Fica eleito o foro da comarca do domicílio do Emitente (Código de Defesa do Consumidor, "
        "art. 101, I).",
    ]
    return clauses


def render_signature_certificate(evidence: SignatureEvidence) -> bytes:
    """The signature certificate: the provider's evidence bound to the contract's SHA-256."""
    return render(partial(draw_signature_certificate, evidence))


def draw_signature_certificate(evidence: SignatureEvidence, fonts: FontSet) -> FPDF:
    """The certificate drawn with ``fonts``, not yet output."""
    pdf = _Document(
        fonts,
        title=f"Certificado de assinatura da CCB nº {evidence.contract_number}",
        footer=f"Certificado de assinatura · CCB nº {evidence.contract_number} · envelope {evidence.envelope_id}",
        created=evidence.completed_at.astimezone(BRASILIA),
    )
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 8, "CERTIFICADO DE ASSINATURA ELETRÔNICA", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9.5)
    pdf.cell(
        0, 5, f"Cédula de Crédito Bancário nº {evidence.contract_number}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )  # fmt: skip
    matches = evidence.provider_sha256 == evidence.contract_sha256
    pdf.section("Documento assinado")
    pdf.label_values(
        [
            ("Documento", evidence.document_name),
            ("Identificador no ECM", evidence.ecm_document_id),
            ("SHA-256 do documento", evidence.contract_sha256),
            ("SHA-256 informado pelo provedor", evidence.provider_sha256),
            ("Conferência", "os dois resumos coincidem" if matches else "OS RESUMOS DIVERGEM"),
        ],
        label_width=58,
        mono=frozenset({"Identificador no ECM", "SHA-256 do documento", "SHA-256 informado pelo provedor"}),
    )
    pdf.section("Evidências do provedor de assinatura")
    pdf.label_values(
        [
            ("Provedor", evidence.provider),
            ("Envelope", evidence.envelope_id),
            (
                "Situação do envelope",
                f"{ENVELOPE_STATUS_NAMES.get(evidence.envelope_status, evidence.envelope_status)} ({evidence.envelope_status})",
            ),
            ("Envelope criado em", _moment(evidence.envelope_created_at)),
            ("Envelope concluído em", _moment(evidence.completed_at)),
        ],
        label_width=58,
        mono=frozenset({"Envelope"}),
    )
    pdf.section("Signatário")
    pdf.label_values(
        [
            ("Nome", evidence.signer_name),
            ("E-mail", evidence.signer_email),
            ("Identificador no provedor", evidence.signer_id),
            ("Assinado em", _moment(evidence.signed_at)),
        ],
        label_width=58,
    )
    pdf.ln(4)
    pdf.paragraph(
        "Este certificado reúne as evidências que o provedor de assinatura eletrônica registrou para o envelope "
        "acima e as vincula ao documento assinado pelo seu resumo SHA-256: qualquer alteração do arquivo da "
        "Cédula muda o resumo e deixa de coincidir com o aqui registrado.",
        size=8.5,
    )
    return pdf


def _moment(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    local = moment.astimezone(BRASILIA)
    return f"{local.strftime('%d/%m/%Y %H:%M:%S')} (horário de Brasília) · {utc.strftime('%Y-%m-%dT%H:%M:%SZ')}"


SAMPLE_ADDRESS = PostalAddress(
    postal_code="01310100",
    street="Avenida Paulista",
    number="1578",
    complement="apartamento 42",
    district="Bela Vista",
    city="São Paulo",
    state="SP",
)


def sample_contract() -> bytes:
    """The contract of a sample offer (R$ 10.000,00 at 1,99 % a month, 12 Price installments), as in docs/contract.md."""
    from domain.credit import Amortization, LoanTerms, simulate
    from domain.credit.due_dates import add_months
    from workflows.origination import offer_of

    release = date(2026, 12, 1)
    terms = LoanTerms(
        amount=Decimal("10000.00"),
        term_months=12,
        monthly_rate=Decimal("0.0199"),
        amortization=Amortization.PRICE,
        release_date=release,
        first_due_date=add_months(release, 1),
    )
    simulation = simulate(terms)
    offer = offer_of(
        simulation, offer_id="sample", amortization="price", risk_band="A", expires_at=datetime(2026, 12, 4, tzinfo=UTC)
    )
    borrower = CcbParty(name="Maria da Conceição Araújo", document="52998224725", address=SAMPLE_ADDRESS.one_line())
    return render_ccb(ccb_terms("3f6c2a91-5b7e-4c1d-9a0b-2e4f6a8c0d12", offer, borrower, LenderSettings()))


if __name__ == "__main__":  # python -m activities.contract_document OUT.pdf
    import sys

    Path(sys.argv[1]).write_bytes(sample_contract())
