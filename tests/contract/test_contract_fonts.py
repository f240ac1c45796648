"""The contract's reduced fonts: the same bytes as the system fonts, and the system fonts for what they lack.

No service needed.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from contract_support import kernel_offer, pdf_text
from fontTools.ttLib import TTFont

from activities import contract_fonts
from activities.contract_document import (
    SAMPLE_ADDRESS,
    ccb_terms,
    draw_ccb,
    render_ccb,
)
from activities.contract_fonts import REDUCED_RANGES, reduced_fonts, system_fonts
from domain.ccb import CcbParty, CcbTerms
from lendflow.settings import LenderSettings

BORROWER = CcbParty(name="Maria da Conceição Araújo", document="52998224725", address=SAMPLE_ADDRESS.one_line())
APPLICATION_ID = "3f6c2a91-5b7e-4c1d-9a0b-2e4f6a8c0d12"


def _terms(borrower: CcbParty = BORROWER) -> CcbTerms:
    offer, _ = kernel_offer(term_months=24)
    return ccb_terms(APPLICATION_ID, offer, borrower, LenderSettings())


def test_a_contract_drawn_with_the_reduced_fonts_is_the_same_bytes_as_with_the_system_fonts() -> None:
    terms = _terms()
    with_system = bytes(draw_ccb(terms, system_fonts()).output())
    reduced = reduced_fonts()
    assert reduced is not None
    drawn = draw_ccb(terms, reduced)
    assert bytes(drawn.output()) == with_system
    assert render_ccb(terms) == with_system
    # The reduced files really are the smaller ones (else the test above would prove nothing).
    for style, path in reduced.sans.items():
        assert len(TTFont(path).getGlyphOrder()) < len(TTFont(system_fonts().sans[style]).getGlyphOrder()) / 2


def test_a_name_in_a_script_the_reduced_fonts_lack_is_drawn_with_the_system_fonts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    borrower = dataclasses.replace(BORROWER, name="Пётр Иванович Смирнов")
    terms = _terms(borrower)
    reduced = reduced_fonts()
    assert reduced is not None
    lacking = draw_ccb(terms, reduced)
    lacking.output()
    assert any(getattr(font, "missing_glyphs", None) for font in lacking.fonts.values())

    with caplog.at_level(logging.DEBUG):
        pdf = render_ccb(terms)
    assert pdf == bytes(draw_ccb(terms, system_fonts()).output())
    assert "Пётр Иванович Смирнов" in pdf_text(pdf)
    # fpdf2 would name the glyphs the reduced fonts lack: letters of the borrower's name.
    assert not [r for r in caplog.records if any(letter in r.getMessage() for letter in "ПётрИванович")]


def test_the_reduced_fonts_cover_their_ranges_and_are_built_once(tmp_path: Path) -> None:
    built = contract_fonts._build_reduced(system_fonts(), tmp_path)
    files = [*built.sans.values(), built.mono]
    assert all(path.parent.parent == tmp_path for path in files)
    regular = TTFont(built.sans[""]).getBestCmap()
    system = TTFont(system_fonts().sans[""]).getBestCmap()
    wanted = {cp for first, last in REDUCED_RANGES for cp in range(first, last + 1)} & set(system)
    assert wanted <= set(regular)
    assert "ç" in map(chr, regular) and "€" in map(chr, regular)
    assert ord("П") not in regular  # Cyrillic stays in the system file only

    written = {path: path.stat().st_mtime_ns for path in files}
    assert contract_fonts._build_reduced(system_fonts(), tmp_path) == built
    assert {path: path.stat().st_mtime_ns for path in files} == written
    assert not [p for p in built.mono.parent.iterdir() if p.name.startswith(".")]  # no partial file left


def test_without_a_writable_temporary_directory_every_contract_uses_the_system_fonts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(contract_fonts.tempfile, "gettempdir", lambda: str(blocker))
    monkeypatch.setattr(contract_fonts, "_reduced", None)
    monkeypatch.setattr(contract_fonts, "_reduced_failed", False)
    assert reduced_fonts() is None
    terms = _terms()
    assert render_ccb(terms) == bytes(draw_ccb(terms, system_fonts()).output())


def test_reduced_fonts_removed_from_under_a_running_worker_are_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract_fonts.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(contract_fonts, "_reduced", None)
    monkeypatch.setattr(contract_fonts, "_reduced_failed", False)
    terms = _terms()
    first = render_ccb(terms)
    built = reduced_fonts()
    assert built is not None and built.mono.parent.parent.parent == tmp_path
    built.sans["B"].unlink()  # a cleaner of the temporary directory came by

    assert render_ccb(terms) == first
    assert built.sans["B"].is_file()


def test_a_font_directory_others_can_write_to_is_not_read(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(PermissionError):
        contract_fonts._build_reduced(system_fonts(), shared)
