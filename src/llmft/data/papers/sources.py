"""Where case 4's papers come from, and how the pipeline is sized, per profile.

* your own PDFs: ``$LLMFT_PAPERS`` names a folder of ``.pdf`` files (any profile);
* ``smoke``: synthetic papers written as PDFs by :mod:`llmft.data.synthetic.papers` (offline);
* ``t4`` / ``full``: open-access arXiv papers that this book cites, downloaded once into the cache (the first
  pages of each: a paper's main text, not its appendices).
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PAPERS_ENV = "LLMFT_PAPERS"
# arXiv ids of papers the book cites (LoRA, QLoRA, LLM.int8(), 8-bit optimizers, Self-Instruct, Flan, DistilBERT,
# MiniLM, Sentence-BERT, rsLoRA, XSum, DialogSum, SmolLM2, activation recomputation).
ARXIV = ["2106.09685", "2305.14314", "2208.07339", "2110.02861", "2212.10560", "2210.11416", "1910.01108",
         "2002.10957", "1908.10084", "2312.03732", "1808.08745", "2105.06762", "2502.02737", "2205.05198"]


@dataclass(frozen=True)
class PaperSettings:
    n_synthetic: int  # synthetic papers (offline profile)
    max_pages: int  # pages read per paper
    chunk_size: int  # characters per chunk
    overlap: int
    per_chunk: int  # triples asked per chunk
    fractions: dict  # papers per held-out split
    packing_examples: int  # triples in each run of the packing comparison
    sampled_share: float = 0.5  # share of the test triples decoded again with sampling (two seeds)


SETTINGS = {
    "smoke": PaperSettings(n_synthetic=22, max_pages=12, chunk_size=1500, overlap=200, per_chunk=8,
                           fractions={"validation": 0.1, "test": 0.3}, packing_examples=16),
    # t4: sized by the T4 plan (llmft.report.plan) to finish within 45 minutes with the install
    "t4": PaperSettings(n_synthetic=0, max_pages=6, chunk_size=4000, overlap=400, per_chunk=5,
                        fractions={"validation": 0.1, "test": 0.25}, packing_examples=48, sampled_share=0.25),
    "full": PaperSettings(n_synthetic=0, max_pages=12, chunk_size=4000, overlap=400, per_chunk=5,
                          fractions={"validation": 0.1, "test": 0.25}, packing_examples=1000),
}


def settings(profile: str) -> PaperSettings:
    return SETTINGS[profile]


def download_arxiv(ids: list[str], folder: Path) -> list[Path]:
    """Download each arXiv PDF once into ``folder`` (a failed download is reported and skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for arxiv_id in ids:
        path = folder / f"arxiv-{arxiv_id}.pdf"
        if not path.exists():
            request = urllib.request.Request(f"https://arxiv.org/pdf/{arxiv_id}",
                                             headers={"User-Agent": "lora-casebook (educational)"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    tmp = path.with_suffix(".part")
                    tmp.write_bytes(response.read())
                    tmp.rename(path)
            except OSError as err:
                print(f"arXiv {arxiv_id}: download failed ({err}); skipped")
                continue
        paths.append(path)
    return paths


def paper_pdfs(profile: str, offline: bool, workdir: Path, seed: int) -> tuple[list[Path], str]:
    """The PDFs to read and where they come from, in words."""
    from llmft.cache import cache_root
    from llmft.data.synthetic.papers import write_pdfs

    own = os.environ.get(PAPERS_ENV, "").strip()
    if own:
        folder = Path(own)
        if not folder.is_dir():
            raise FileNotFoundError(f"{PAPERS_ENV} points to {folder}, which is not a folder of PDF files.")
        pdfs = sorted(folder.glob("*.pdf"))
        if not pdfs:
            raise FileNotFoundError(f"No .pdf files in {folder} ({PAPERS_ENV}).")
        return pdfs, f"{len(pdfs)} PDF files of yours ({PAPERS_ENV})"
    if offline:
        n = settings(profile).n_synthetic
        return write_pdfs(n, seed, workdir / "pdfs"), f"{n} synthetic papers (PDF)"
    pdfs = download_arxiv(ARXIV, cache_root() / "arxiv")
    return pdfs, f"{len(pdfs)} arXiv papers (PDF, first {settings(profile).max_pages} pages each)"
