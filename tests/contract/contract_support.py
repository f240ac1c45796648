"""Offers made by the credit kernel, the text of a PDF, and veraPDF resolved from Maven Central."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from domain.ccb import brl
from domain.credit import Amortization, Fee, LoanSimulation, LoanTerms, simulate
from domain.credit.due_dates import add_months
from lendflow import REPO_ROOT
from workflows.contracts.origination import Offer
from workflows.origination import offer_of

VERAPDF_POM = REPO_ROOT / "infra" / "verapdf" / "pom.xml"


def kernel_offer(
    *,
    amount: str = "10000.00",
    term_months: int = 12,
    monthly_rate: str = "0.0199",
    amortization: str = "price",
    release: date = date(2026, 12, 1),
    fees: tuple[Fee, ...] = (),
    finance_iof: bool = False,
) -> tuple[Offer, LoanSimulation]:
    """An offer priced by the origination workflow's own ``offer_of``, and the kernel's simulation."""
    terms = LoanTerms(
        amount=Decimal(amount),
        term_months=term_months,
        monthly_rate=Decimal(monthly_rate),
        amortization=Amortization(amortization),
        release_date=release,
        first_due_date=add_months(release, 1),
        fees=fees,
        finance_iof=finance_iof,
    )
    simulation = simulate(terms)
    offer = offer_of(
        simulation,
        offer_id="offer-under-test",
        amortization=amortization,
        risk_band="B",
        expires_at=datetime(release.year, release.month, release.day, tzinfo=UTC) + timedelta(days=3),
    )
    return offer, simulation


def pdf_text(pdf: bytes) -> str:
    """The text of every page, as pypdf extracts it, with runs of spaces made one."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[ \t]+", " ", text)


def pdf_pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def pt_percent(value: Decimal) -> str:
    return f"{value:.2f} %".replace(".", ",")


def schedule_row(
    number: int, due: date, payment: Decimal, interest: Decimal, amortization: Decimal, balance: Decimal
) -> str:
    """An installment's row of the schedule as the text of the contract reads."""
    cells = [str(number), due.strftime("%d/%m/%Y"), brl(payment), brl(interest), brl(amortization), brl(balance)]
    return " ".join(cells)


WORKSHEET_LINE = re.compile(
    r"^(Valor liberado ao Emitente|Juros remuneratórios|IOF|Tarifas) (R\$ [\d.]+,\d{2}) (\d{1,3},\d{2}) %$",
    re.MULTILINE,
)


def worksheet_lines(text: str) -> dict[str, tuple[str, Decimal]]:
    """The CET worksheet's lines: label → (amount as printed, percentage)."""
    return {m[1]: (m[2], Decimal(m[3].replace(",", "."))) for m in WORKSHEET_LINE.finditer(text)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# veraPDF


def verapdf_libs(run_dir: Path) -> Path:
    """veraPDF's jars, resolved by Maven from Maven Central once per version of the pom."""
    libs = run_dir / "verapdf" / "libs"
    digest = sha256(VERAPDF_POM.read_bytes())
    stamp = libs / ".pom-sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return libs
    if not shutil.which("mvn") or not shutil.which("java"):
        raise RuntimeError("veraPDF needs Maven and a Java runtime (Debian: maven, openjdk-17-jre-headless)")
    shutil.rmtree(libs, ignore_errors=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(VERAPDF_POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={libs}", "-DincludeScope=runtime"],
        check=True, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    stamp.write_text(digest)
    return libs


def verapdf_verdicts(run_dir: Path, files: list[Path], flavour: str = "2b") -> dict[Path, str]:
    """veraPDF's verdict, PASS or FAIL, on each file against the PDF/A flavour."""
    libs = verapdf_libs(run_dir)
    done = subprocess.run(
        ["java", "-cp", f"{libs}/*", "org.verapdf.apps.GreenfieldCliWrapper", "--flavour", flavour, "--format", "text",
         *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    verdicts: dict[Path, str] = {}
    for line in done.stdout.splitlines():
        verdict, _, name = line.partition(" ")
        if verdict in ("PASS", "FAIL"):
            verdicts[Path(name.strip())] = verdict
    if set(verdicts) != set(files):
        raise AssertionError(f"veraPDF gave no verdict on every file: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return verdicts
