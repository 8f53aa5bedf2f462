"""PDF files to clean text, page by page, with ``pypdf`` (BSD; the library LangChain's ``PyPDFLoader`` wraps).

A PDF stores positioned lines, not paragraphs. Four repairs make its text fit for a teacher model:

* **headers and footers**: a line that recurs at the top or bottom of most pages (digits ignored, so "Page 3"
  and "Page 4" match) is dropped, and so is a bare page number;
* **hyphenation**: a line that ends in a hyphen after a letter, followed by a line that starts in lower case,
  is joined without the hyphen ("repre-" + "sentation"). A compound that happens to break at its own hyphen
  ("pre-" + "trained") loses it too: a known cost of this rule, which every simple extractor shares;
* **line joins**: the lines of a paragraph become one line; a heading ("3 Method", "Abstract") stays a line
  of its own;
* **references**: everything from a "References" or "Bibliography" heading on is dropped: a teacher would
  otherwise write questions about citation lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+[A-Z][^.!?]{1,60}|Abstract|Acknowledge?ments?|Appendix.*)$")
REFERENCES = re.compile(r"^(?:\d+\.?\s+)?(?:References|Bibliography|REFERENCES)\s*$")
PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as a reader counts
    text: str  # cleaned: one paragraph or heading per line


@dataclass(frozen=True)
class Document:
    paper: str  # the file's stem
    title: str
    pages: list[Page]
    dropped_lines: int  # headers, footers and page numbers removed
    references_dropped: bool

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages if p.text)

    @property
    def characters(self) -> int:
        return sum(len(p.text) for p in self.pages)


def read_pdf(path: str | Path, max_pages: int | None = None) -> Document:
    """Extract and clean the text of one PDF (its first ``max_pages`` pages). A file that is not a readable PDF
    is an error naming it."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    path = Path(path)
    try:
        reader = PdfReader(path)
        raw = [page.extract_text() or "" for page in list(reader.pages)[:max_pages]]
    except (PdfReadError, OSError, ValueError) as err:
        raise ValueError(f"{path.name}: not a readable PDF ({type(err).__name__}: {err})") from err
    raw = [unligature(text) for text in raw]
    meta = (reader.metadata.title if reader.metadata and reader.metadata.title else "").strip()
    title = meta or first_page_title(raw[0] if raw else "") or path.stem
    return clean_pages(path.stem, unligature(title), raw)


# Typographic ligatures (U+FB00-FB06) as PDF text extraction returns them ("ﬁrst", "ﬂow"): spelt out, as NFKC would
# (only these: NFKC would also flatten superscripts and other characters a paper means).
LIGATURES = str.maketrans({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)})


def unligature(text: str) -> str:
    return text.translate(LIGATURES)


def first_page_title(text: str) -> str:
    """A paper's title from its first page, where the PDF's metadata has none: the first line of at least three
    words that is not an arXiv stamp, a date or a page number (titles are at the top)."""
    for line in text.splitlines()[:8]:
        line = line.strip()
        if len(line.split()) >= 3 and not re.match(r"(?i)(arxiv|preprint|published|proceedings|\d)", line):
            return line[:200]
    return ""


def _norm(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def repeated_lines(pages: list[list[str]], edge: int = 2, share: float = 0.5) -> set[str]:
    """Lines (digits ignored) among the first or last ``edge`` lines of at least ``share`` of the pages."""
    if len(pages) < 2:
        return set()
    seen = Counter()
    for lines in pages:
        seen.update({_norm(line) for line in lines[:edge] + lines[-edge:] if line.strip()})
    return {line for line, n in seen.items() if n >= max(2, share * len(pages))}


def join_lines(lines: list[str]) -> list[str]:
    """Lines of one page to paragraphs: hyphenated breaks repaired, headings kept apart."""
    out: list[str] = []
    current = ""
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        if HEADING.match(line) or REFERENCES.match(line):
            if current:
                out.append(current)
            out.append(line)
            current = ""
            continue
        if current.endswith("-") and len(current) > 1 and current[-2].isalpha() and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}".strip()
    if current:
        out.append(current)
    return out


def clean_pages(paper: str, title: str, raw_pages: list[str]) -> Document:
    """Clean the raw text of each page (see the module's docstring)."""
    pages = [list(text.splitlines()) for text in raw_pages]
    repeated = repeated_lines(pages)
    dropped, cleaned, in_refs = 0, [], False
    for number, lines in enumerate(pages, start=1):
        kept = []
        for i, line in enumerate(lines):
            edge = i < 2 or i >= len(lines) - 2
            if edge and (_norm(line) in repeated or PAGE_NUMBER.match(line.strip())):
                dropped += 1
                continue
            kept.append(line)
        paragraphs = []
        for para in join_lines(kept):
            if REFERENCES.match(para):
                in_refs = True
            if not in_refs:
                paragraphs.append(para)
        cleaned.append(Page(number, "\n".join(paragraphs)))
    return Document(paper, title, cleaned, dropped, in_refs)
