"""The contract's fonts: DejaVu, and a reduced copy of each that the renderer reads first.

fpdf2 parses every font it is given for every document, and embeds a subset of it at the end. The
system's DejaVu files hold about 6,000 glyphs each (Cyrillic, Arabic, Hebrew, symbols); parsing four
of them and subsetting them again was the larger part of a contract's CPU in the worker (py-spy, see
docs/performance.md). The reduced copies keep what a Brazilian contract can print: Latin with every
extension and its combining marks, Greek, punctuation, currency, letterlike symbols, a few arrows and
comparison signs, and geometric shapes, with their hinting and names: fpdf2 embeds the very same
subsets from them, so a contract is the same bytes either way (tests/contract/test_contract_fonts.py).
A document that needs a glyph they lack (a name in another script) is drawn again with the system
files: `render` never prints a missing glyph the system font has.

The reduced files are built once per machine and user (a few seconds) under the temporary directory,
keyed by the system files, the cut and fontTools' version, and written atomically, so concurrent
workers agree on them. When that directory cannot be written, or belongs to someone else or is
writable by others (a shared /tmp), every document is drawn with the system files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import fontTools
import structlog
from fontTools import subset
from fpdf import FPDF

log = structlog.get_logger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
MONO_FONT_FILE = "DejaVuSansMono.ttf"  # hashes and ids, on one line each

# What the reduced copies cover, as inclusive code point ranges.
REDUCED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x024F),  # Basic Latin, Latin-1, Latin Extended-A and -B
    (0x02B0, 0x036F),  # spacing modifiers and combining marks
    (0x0370, 0x03FF),  # Greek (µ, Σ)
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # general punctuation (dashes, quotes, bullets, ‰)
    (0x20A0, 0x20CF),  # currency
    (0x2100, 0x214F),  # letterlike (№, ™)
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # minus
    (0x2248, 0x2248),  # ≈
    (0x2260, 0x2265),  # ≠, ≤, ≥
    (0x25A0, 0x25FF),  # geometric shapes (■, □, ●)
    (0xFFFD, 0xFFFD),  # the replacement character
)

# How they are cut: every table fpdf2 embeds is kept as it is, so the subsets it embeds are the same bytes.
_SUBSET_OPTIONS: dict[str, object] = {
    "glyph_names": True,
    "hinting": True,
    "legacy_kern": True,
    "layout_features": [],
    "name_IDs": ["*"],
    "name_languages": ["*"],
    "notdef_glyph": True,
    "notdef_outline": True,
    "recommended_glyphs": True,
    "drop_tables": ["FFTM"],  # FontForge's timestamps: fontTools cannot subset them, fpdf2 does not read them
}


class ContractFontsMissing(RuntimeError):
    """The system fonts are not installed (Debian: ``fonts-dejavu-core``)."""


@dataclass(frozen=True)
class FontSet:
    """Where to read each style of DejaVu Sans, and DejaVu Sans Mono."""

    sans: Mapping[str, Path]
    mono: Path

    def files(self) -> tuple[Path, ...]:
        return (*self.sans.values(), self.mono)


def system_fonts() -> FontSet:
    fonts = FontSet({style: FONT_DIR / name for style, name in FONT_FILES.items()}, FONT_DIR / MONO_FONT_FILE)
    missing = [path.name for path in fonts.files() if not path.is_file()]
    if missing:
        raise ContractFontsMissing(f"{', '.join(missing)} not found in {FONT_DIR}: install fonts-dejavu-core")
    return fonts


_lock = threading.Lock()
_reduced: FontSet | None = None
_reduced_failed = False


def reduced_fonts() -> FontSet | None:
    """The reduced copies of `system_fonts`, built on first use; None when they cannot be written.

    Built again when they have gone meanwhile (a temporary directory cleaner ages files out).
    """
    global _reduced, _reduced_failed
    with _lock:
        if _reduced is not None and not all(path.is_file() for path in _reduced.files()):
            _reduced = None
        if _reduced is None and not _reduced_failed:
            try:
                root = Path(tempfile.gettempdir()) / f"lendflow-fonts-{os.getuid()}"
                _reduced = _build_reduced(system_fonts(), root)
            except OSError as exc:
                _reduced_failed = True
                log.warning("contract.fonts.reduced_unavailable", error=type(exc).__name__, detail=str(exc))
        return _reduced


def _cache_key(fonts: FontSet) -> str:
    digest = hashlib.sha256(f"{fontTools.version}|{REDUCED_RANGES}|{sorted(_SUBSET_OPTIONS.items())}".encode())
    for path in fonts.files():
        stat = path.stat()
        digest.update(f"|{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _build_reduced(fonts: FontSet, root: Path) -> FontSet:
    directory = root / _cache_key(fonts)
    root.mkdir(mode=0o700, exist_ok=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    for place in (root, directory):  # fonts anyone else could swap are not read
        status = place.stat()
        if status.st_uid != os.getuid() or status.st_mode & 0o022:
            raise PermissionError(f"{place} belongs to another user or others can write to it")
    reduced = FontSet({style: directory / path.name for style, path in fonts.sans.items()}, directory / fonts.mono.name)
    for source, target in zip(fonts.files(), reduced.files(), strict=True):
        if not target.is_file():
            _write_reduced(source, target)
    return reduced


def _write_reduced(source: Path, target: Path) -> None:
    options = subset.Options(**_SUBSET_OPTIONS)
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for first, last in REDUCED_RANGES for cp in range(first, last + 1)])
    subsetter.subset(font)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            font.save(out)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


class _NoMissingGlyphText(logging.Filter):
    """fpdf2 names the glyphs a font lacks, and those are letters of a borrower's name: the record goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Font %s is missing the following glyphs")


logging.getLogger("fpdf.output").addFilter(_NoMissingGlyphText())


def _missing(document: FPDF) -> int:
    return sum(len(getattr(font, "missing_glyphs", ())) for font in document.fonts.values())


def render(draw: Callable[[FontSet], FPDF]) -> bytes:
    """``draw``'s document as bytes: with the reduced fonts when they hold every glyph it prints."""
    reduced = reduced_fonts()
    if reduced is not None:
        document = draw(reduced)
        data = bytes(document.output())
        if not _missing(document):
            return data
    document = draw(system_fonts())
    data = bytes(document.output())
    if missing := _missing(document):
        log.warning("contract.fonts.missing_glyphs", missing=missing)  # how many, never which
    return data
