"""PDFs -> clean text -> chunks -> teacher -> parsed triples -> curated -> split by paper -> JSON lines.

Every saved triple carries its provenance: ``paper`` (the PDF's name), ``page`` and ``chunk`` (where the
teacher read it) and ``teacher`` (what wrote it). The split files are written only when the whole build
succeeded (into a temporary folder, then renamed), so a failed build never leaves files that look finished.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llmft.data.papers.chunks import chunk_document
from llmft.data.papers.curate import DEDUP_THRESHOLD, curate, split_by_paper
from llmft.data.papers.parse import parse_reply
from llmft.data.papers.pdf import Document, read_pdf
from llmft.data.papers.teachers import TeacherError


@dataclass
class BuildReport:
    teacher: str
    papers: list[dict] = field(default_factory=list)  # per paper: pages, characters, chunks, triples
    chunks: int = 0
    replies: Counter = field(default_factory=Counter)  # json / text / none
    malformed: int = 0
    teacher_errors: int = 0
    parsed: int = 0
    curation: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)  # split -> (papers, triples)
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0
    files: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"teacher": self.teacher, "papers": len(self.papers), "chunks": self.chunks,
                "replies": dict(self.replies), "malformed": self.malformed, "teacher_errors": self.teacher_errors,
                "parsed": self.parsed, "curation": self.curation, "splits": self.splits,
                "unreadable": self.unreadable, "seconds": round(self.seconds, 1)}


def read_papers(paths: list[Path], report: BuildReport | None = None, max_pages: int | None = None) -> list[Document]:
    """Read every PDF; an unreadable file is reported and skipped, not fatal."""
    docs = []
    for path in sorted(paths):
        try:
            docs.append(read_pdf(path, max_pages))
        except ValueError as err:
            if report is None:
                raise
            report.unreadable.append(str(err))
    return docs


EARLY_CHECK = 3  # replies: if none of the first ones gives a triple, the teacher is not working: stop


def _replies(teacher, jobs: list, per_chunk: int, report: BuildReport, progress: bool):
    """``(doc, chunk, reply)`` for each job, in order: in batches where the teacher has ``replies`` (a local model),
    one request at a time otherwise. A request that fails (network, server) is counted per chunk and skipped."""
    from tqdm.auto import tqdm

    size = max(1, int(getattr(teacher, "batch_size", 1))) if hasattr(teacher, "replies") else 1
    with tqdm(total=len(jobs), desc="teacher", disable=not progress, leave=False) as bar:
        for start in range(0, len(jobs), size):
            group = jobs[start : start + size]
            try:
                if size > 1:
                    replies = teacher.replies([chunk.text for _, chunk in group], per_chunk)
                else:
                    replies = [teacher.reply(group[0][1].text, per_chunk)]
            except TeacherError:
                raise
            except (ConnectionError, TimeoutError, OSError):
                report.teacher_errors += len(group)
                bar.update(len(group))
                continue
            bar.update(len(group))
            yield from ((doc, chunk, reply) for (doc, chunk), reply in zip(group, replies))


def ask_teacher(docs: list[Document], teacher, report: BuildReport, chunk_size: int, overlap: int,
                per_chunk: int, progress: bool = True) -> list[dict]:
    """Every chunk of every document to the teacher; parsed triples with provenance. A chunk whose request
    fails (network, server error) is counted and skipped; a teacher that cannot work at all stops the run, and
    so does one whose first :data:`EARLY_CHECK` replies give no usable triple (wrong precision, wrong model, a
    server that answers with errors): now, not at the split an hour later."""
    jobs = [(doc, chunk) for doc in docs for chunk in chunk_document(doc, chunk_size, overlap)]
    report.chunks = len(jobs)
    triples: list[dict] = []
    per_paper: Counter = Counter()
    for doc, chunk, reply in _replies(teacher, jobs, per_chunk, report, progress):
        parsed = parse_reply(reply)
        report.replies[parsed.format] += 1
        report.malformed += parsed.malformed
        answered = sum(report.replies.values())
        if answered == EARLY_CHECK and not triples and not parsed.triples:
            raise TeacherError(f"The teacher's first {EARLY_CHECK} replies gave no usable triple "
                               f"({report.malformed} malformed). The last one began: {reply[:300]!r}. Check the "
                               "teacher (model, precision, server) before spending the run on it.")
        for t in parsed.triples:
            triples.append({**t, "paper": doc.paper, "page": chunk.page, "chunk": chunk.index, "teacher": teacher.name})
            per_paper[doc.paper] += 1
    report.parsed = len(triples)
    report.papers = [{"paper": d.paper, "title": d.title, "pages": len(d.pages), "characters": d.characters,
                      "header/footer lines dropped": d.dropped_lines, "references dropped": d.references_dropped,
                      "triples parsed": per_paper[d.paper]} for d in docs]
    return triples


def write_jsonl(rows: list[dict], path: Path) -> None:
    with path.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def build_dataset(pdfs: list[Path], teacher, out_dir: Path, *, chunk_size: int = 4000, overlap: int = 400,
                  per_chunk: int = 5, fractions: dict[str, float] | None = None, seed: int = 42,
                  max_pages: int | None = None, threshold: float = DEDUP_THRESHOLD,
                  progress: bool = True) -> BuildReport:
    """The whole pipeline; writes ``train/validation/test.jsonl`` into ``out_dir`` and returns the report.
    ``threshold``: the ROUGE-L at or above which a triple counts as a near-duplicate of one already kept."""
    t0 = time.perf_counter()
    pdfs = [Path(p) for p in pdfs]
    if not pdfs:
        raise ValueError("No PDF files to read: put some .pdf files in the folder, or use the synthetic papers.")
    report = BuildReport(teacher=teacher.name)
    docs = read_papers(pdfs, report, max_pages)
    if not docs:
        raise ValueError(f"None of the {len(pdfs)} PDF files could be read: {'; '.join(report.unreadable[:3])}")
    raw = ask_teacher(docs, teacher, report, chunk_size, overlap, per_chunk, progress)
    curated = curate(raw, threshold)
    report.curation = curated.table()
    if not curated.kept:
        raise ValueError(f"The teacher gave no usable triple ({report.malformed} malformed, "
                         f"{report.teacher_errors} failed requests): check its replies.")
    splits = split_by_paper(curated.kept, fractions or {"validation": 0.1, "test": 0.2}, seed)
    report.splits = {name: {"papers": len({t['paper'] for t in rows}), "triples": len(rows)}
                     for name, rows in splits.items()}
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, rows in splits.items():
        write_jsonl(rows, tmp / f"{name}.jsonl")
    (tmp / "build.json").write_text(json.dumps(report.as_dict(), indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    report.files = {name: str(out_dir / f"{name}.jsonl") for name in splits}
    report.seconds = time.perf_counter() - t0
    return report
