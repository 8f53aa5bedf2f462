"""The Colab install keeps Colab's torch, numpy and pandas, and pins only what the book adds."""

import importlib.metadata
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from llmft import colab

ROOT = Path(__file__).resolve().parents[1]
# Older than any Colab runtime of the last two years: if these satisfy every library, Colab's do too.
OLD_COLAB = {"torch": Version("2.4.0"), "numpy": Version("1.26.4"), "pandas": Version("2.1.4")}


def test_no_runtime_package_is_installed_or_pinned():
    reqs = colab.requirements()
    names = {Requirement(r).name.lower().replace("_", "-") for r in reqs}
    assert not names & set(colab.COLAB_KEEPS)
    assert {"transformers", "peft", "bitsandbytes", "accelerate", "datasets", "rouge-score"} <= names
    assert all("==" in r for r in reqs), "the book's own libraries stay pinned exactly"


@pytest.mark.parametrize("req", colab.requirements())
def test_each_library_accepts_colabs_torch_numpy_pandas(req):
    name = Requirement(req).name
    for dep in importlib.metadata.requires(name) or []:
        r = Requirement(dep)
        if r.name in OLD_COLAB and (r.marker is None or r.marker.evaluate({"extra": ""})):
            assert r.specifier.contains(OLD_COLAB[r.name], prereleases=True), (name, dep)


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("*.py")), ids=lambda p: p.name)
def test_install_cells_never_pull_the_pins(nb):
    text = nb.read_text()
    installs = re.findall(r"^# %pip install .*$", text, flags=re.M)
    assert installs, "every chapter has a Colab install cell"
    for line in installs:
        assert "--no-deps" in line and "llmft[" not in line and "-q" not in line.split(), line
    assert "llmft.colab.install()" in text
