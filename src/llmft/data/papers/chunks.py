"""Clean paper text to chunks a teacher can read: about ``size`` characters each, ``overlap`` shared with the
previous chunk, cut between sentences (never inside one), each knowing its paper and the page it starts on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmft.data.papers.pdf import HEADING, Document

# A sentence ends at . ! ? followed by space and a capital, digit or bracket, except after an abbreviation.
_ABBREV = r"(?<!\bet al\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bFig\.)(?<!\bEq\.)(?<!\bvs\.)(?<!\bSec\.)(?<!\bcf\.)(?<!\b[A-Z]\.)"
SENTENCE_END = re.compile(_ABBREV + r"(?<=[.!?])\s+(?=[A-Z0-9\[(])")


@dataclass(frozen=True)
class Sentence:
    text: str
    page: int
    heading: str  # the section it sits in ("" before the first heading)


@dataclass(frozen=True)
class Chunk:
    paper: str
    index: int  # position in its paper, from 0
    page: int  # the page its first sentence is on
    text: str

    @property
    def key(self) -> str:
        return f"{self.paper}#{self.index}"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def sentences(doc: Document) -> list[Sentence]:
    """The document's sentences in order, each with its page and section heading; headings are not sentences."""
    out, heading = [], ""
    for page in doc.pages:
        for line in page.text.splitlines():
            if HEADING.match(line):
                heading = line
                continue
            out.extend(Sentence(s, page.number, heading) for s in split_sentences(line))
    return _mend_page_breaks(out)


def _mend_page_breaks(items: list[Sentence]) -> list[Sentence]:
    """A sentence cut by a page break ends without punctuation; join it with the next (page of its start)."""
    out: list[Sentence] = []
    for s in items:
        if out and not out[-1].text.endswith((".", "!", "?", ":")) and s.text[:1].islower():
            prev = out.pop()
            s = Sentence(f"{prev.text} {s.text}", prev.page, prev.heading)
        out.append(s)
    return out


def chunk_document(doc: Document, size: int = 4000, overlap: int = 400) -> list[Chunk]:
    """Chunks of at most about ``size`` characters (a single longer sentence makes a longer chunk), each
    starting with the last ``overlap`` characters' worth of whole sentences of the previous one."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValueError(f"Chunk size must be positive and overlap in [0, size): got size={size}, overlap={overlap}.")
    sents = sentences(doc)
    chunks, start = [], 0
    while start < len(sents):
        end, length = start, 0
        while end < len(sents) and (end == start or length + len(sents[end].text) + 1 <= size):
            length += len(sents[end].text) + 1
            end += 1
        chunks.append(Chunk(doc.paper, len(chunks), sents[start].page, " ".join(s.text for s in sents[start:end])))
        if end >= len(sents):
            break
        back, carried = end, 0  # step back over whole sentences worth at most `overlap` characters
        while back - 1 > start and carried + len(sents[back - 1].text) + 1 <= overlap:
            back -= 1
            carried += len(sents[back].text) + 1
        start = back
    return chunks
