"""Repository-level checks: notebook pairs, the table of contents, pins, and the one repository URL."""

import re
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAIRS = sorted((ROOT / "notebooks").glob("*.py"))


def _pins_from_pyproject() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pins |= {d for d in extra if not d.startswith("llmft")}
    return pins


def test_there_are_notebooks():
    assert PAIRS, "no notebooks/*.py found"


@pytest.mark.parametrize("py", PAIRS, ids=lambda p: p.name)
def test_pair_has_the_same_content(py):
    nb_path = py.with_suffix(".ipynb")
    assert nb_path.exists(), f"{nb_path.name} is missing: run `make sync`"
    as_py = jupytext.writes(jupytext.read(nb_path), fmt="py:percent")
    assert as_py == py.read_text(), f"{nb_path.name} and {py.name} differ: run `make sync`"


@pytest.mark.parametrize("py", PAIRS, ids=lambda p: p.name)
def test_committed_notebook_is_clean(py):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "strip outputs before committing"


@pytest.mark.parametrize("py", PAIRS, ids=lambda p: p.name)
def test_only_the_agreed_cell_tags(py):
    allowed = {"skip-execution", "hide-output", "hide-input", "raises-exception"}
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    for cell in nb.cells:
        assert set(cell.metadata.get("tags", [])) <= allowed


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for value in node.values():
            files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def test_toc_lists_every_notebook_as_ipynb_and_every_page_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + _toc_files(toc)
    notebooks = {f for f in files if f.startswith("notebooks/")}
    assert notebooks == {f"notebooks/{p.stem}.ipynb" for p in PAIRS}
    for f in files:
        candidates = [ROOT / f] if Path(f).suffix else [ROOT / f"{f}.md", ROOT / f"{f}.ipynb"]
        assert any(c.exists() for c in candidates), f"{f} in _toc.yml does not exist"


def test_environment_yml_has_the_same_pins_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if p != "-e ." and not p.startswith("--")} == _pins_from_pyproject()
    # Binder is CPU-only: torch from the CPU index, not the default CUDA build
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    assert all("==" in p for p in _pins_from_pyproject()), "every dependency is pinned exactly"


def test_repository_url_is_the_one_in_config():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Source"] == url
    pattern = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")
    for path in [ROOT / "README.md", *PAIRS]:
        for found in pattern.findall(path.read_text()):
            assert found.removesuffix(".git") == url, f"{path.name} names {found}, _config.yml says {url}"


def test_github_workflow_runs_the_same_test_command_as_ci():
    """The GitHub Actions workflow parses, runs the README's test command (as .ci/run does), caches the stand-ins
    under their key, keeps the built book and deploys it to Pages from main only."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    steps = workflow["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    ci = (ROOT / ".ci" / "run").read_text()
    command = "make test"
    assert any(r.strip() == command for r in runs) and re.search(rf"^{command}$", ci, re.M)
    assert f"{command} " in (ROOT / "README.md").read_text() or f"{command}\n" in (ROOT / "README.md").read_text()
    assert any("llmft.models.standins --key" in r for r in runs)
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache@") for u in uses) and any(u.startswith("actions/upload-artifact@") for u in uses)
    deploy = workflow["jobs"]["deploy"]
    assert "refs/heads/main" in deploy["if"] and deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


def test_no_markdown_line_starts_with_a_percent_sign():
    """In MyST a line that starts with % is a comment: the book drops it without a word (a sentence of chapter 3.6
    lost its end that way)."""
    import json

    found = []
    for nb in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                found += [f"{nb.name} cell {i}: {line[:60]!r}" for line in "".join(cell["source"]).splitlines()
                          if line.lstrip().startswith("%")]
    assert not found, "\n".join(found)
