"""Build the book from the notebooks that nbmake just executed (run last by `make test`)."""

import json
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
