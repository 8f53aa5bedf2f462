"""Build the book from the notebooks that nbmake just executed (run last by `make test`)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / "_executed"

pytestmark = pytest.mark.book


def test_notebooks_were_executed():
    notebooks = sorted((STAGE / "notebooks").glob("*.ipynb"))
    assert notebooks, f"no staged notebooks in {STAGE}: run `make test` or `make book`, not this file alone"
    for nb in notebooks:
        cells = json.loads(nb.read_text())["cells"]
        assert any(c.get("outputs") for c in cells if c["cell_type"] == "code"), f"{nb.name} has no outputs"


def _outputs(nb: Path) -> list[tuple[int, str]]:
    """``(cell index, text)`` of every output of a notebook: streams, plain text and HTML."""
    out = []
    for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
        for o in cell.get("outputs", []):
            parts = [o.get("text", "")] + [o.get("data", {}).get(k, "") for k in ("text/plain", "text/html", "text/markdown")]
            out.append((i, "".join("".join(p) if isinstance(p, list) else p for p in parts)))
    return out


def test_outputs_show_no_machine_path_no_nan_and_no_bibtex_key():
    """What a reader sees: no absolute path of this machine (the repository, the home folder, the caches), no
    ``NaN`` in a table cell, no BibTeX key printed as text (a citation shows as "Author, year")."""
    import os
    import re

    roots = {str(ROOT), str(Path.home()), os.environ.get("LLMFT_CACHE", "")} - {"", "/"}
    keys = re.findall(r"@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text())
    key_pattern = re.compile(r"\b(" + "|".join(map(re.escape, keys)) + r")\b")
    problems = []
    for nb in sorted((STAGE / "notebooks").glob("*.ipynb")):
        for i, text in _outputs(nb):
            problems += [f"{nb.stem} cell {i}: the path {r!r}" for r in roots if r in text]
            if re.search(r"<td[^>]*>\s*(NaN|nan)\s*</td>", text):
                problems.append(f"{nb.stem} cell {i}: NaN in a table")
            problems += [f"{nb.stem} cell {i}: the BibTeX key {m!r} as text" for m in set(key_pattern.findall(text))]
    assert not problems, "\n".join(problems)


def test_book_builds_without_warnings():
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(STAGE), "--path-output", str(ROOT), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    html = ROOT / "_build" / "html"
    for page in ["index.html", "book/running.html", "book/references.html"]:
        assert (html / page).exists(), page
    for nb in sorted((STAGE / "notebooks").glob("*.ipynb")):
        chapter = (html / "notebooks" / f"{nb.stem}.html").read_text()
        assert ".png" in chapter, f"{nb.stem}: the chapter's plots are missing"
        assert "colab.research.google.com" in chapter, f"{nb.stem}: the Colab launch button is missing"
        assert "Traceback" not in chapter, f"{nb.stem}: an error is shown on the page"
        assert chapter.count("const THEBE_JS_URL") <= 1, f"{nb.stem}: thebe's settings twice (a console error)"
        assert 'rel="icon"' in chapter, f"{nb.stem}: no favicon"
        for alt, src in re.findall(r'<img alt="([^"]*)" src="([^"]*_images/[^"]*)"', chapter):
            assert alt and alt != src and not alt.endswith(".png"), f"{nb.stem}: a figure's alt text is {alt!r}"
            # a description in words (plots.alt_text, the diagrams' own), not a file name or a stray token
            assert len(alt.split()) >= 5 and "_images" not in alt, f"{nb.stem}: alt text {alt[:60]!r}"
