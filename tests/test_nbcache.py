"""The notebook cache of `make test` (tests/nbcache.py): what its content key covers, and the lanes it deals."""

import json
import shutil
from pathlib import Path

import nbcache

ROOT = Path(__file__).resolve().parents[1]


def test_a_notebook_key_changes_with_the_notebook_the_package_and_the_settings(monkeypatch, tmp_path):
    source = ROOT / "notebooks" / "13_measuring_text.ipynb"
    shared = nbcache.shared_key()
    key = nbcache.notebook_key(source, shared)
    assert key == nbcache.notebook_key(source, nbcache.shared_key())  # stable
    assert key != nbcache.notebook_key(ROOT / "notebooks" / "11_lora_from_scratch.ipynb", shared)
    monkeypatch.setenv("LLMFT_PROFILE", "t4")
    assert nbcache.shared_key() != shared  # a setting that changes what runs
    monkeypatch.setenv("LLMFT_PROFILE", "smoke")  # as the autouse fixture set it
    monkeypatch.setenv("LLMFT_RESULTS_DIR", str(tmp_path / "elsewhere"))
    assert nbcache.shared_key() == shared  # a setting that only says where things go
    # the package: a copy of src/llmft with one byte more gives another key
    fake_root = tmp_path / "root"
    shutil.copytree(ROOT / "src" / "llmft", fake_root / "src" / "llmft", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", fake_root / "pyproject.toml")
    monkeypatch.setattr(nbcache, "ROOT", fake_root)
    same = nbcache.shared_key()
    (fake_root / "src" / "llmft" / "cases" / "spec.py").write_text(
        (fake_root / "src" / "llmft" / "cases" / "spec.py").read_text() + "\n")
    assert nbcache.shared_key() != same


def test_the_comparison_chapter_is_also_keyed_on_the_results_it_reads(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMFT_RESULTS_DIR", str(tmp_path))
    shared = "x"
    reader = ROOT / "notebooks" / "26_cases_compared.ipynb"
    case = ROOT / "notebooks" / "22_dialogsum_flan_t5.ipynb"
    keys = (nbcache.notebook_key(reader, shared), nbcache.notebook_key(case, shared))
    (tmp_path / "dialogsum-flan-t5").mkdir()
    (tmp_path / "dialogsum-flan-t5" / "smoke.json").write_text(json.dumps({"created": "now"}))
    assert nbcache.notebook_key(reader, shared) != keys[0]
    assert nbcache.notebook_key(case, shared) == keys[1]


class _Item:
    def __init__(self, stem):
        self.path = f"/x/{stem}.ipynb"
        self.markers = []

    def add_marker(self, marker):
        self.markers.append(marker)


def test_chapter_31_is_keyed_on_case_2s_results_file_only(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMFT_RESULTS_DIR", str(tmp_path))
    reader = ROOT / "notebooks" / "31_more_than_one_gpu.ipynb"
    before = nbcache.notebook_key(reader, "x")
    (tmp_path / "xsum-t5-small").mkdir()
    (tmp_path / "xsum-t5-small" / "smoke.json").write_text("{}")  # another case's results: not read
    assert nbcache.notebook_key(reader, "x") == before
    (tmp_path / "dialogsum-flan-t5").mkdir()
    (tmp_path / "dialogsum-flan-t5" / "smoke.json").write_text("{}")
    assert nbcache.notebook_key(reader, "x") != before


def test_each_case_chapter_names_its_stand_in(monkeypatch):
    assert nbcache._standin("21_xsum_t5_small").endswith(":t5_small_standin")
    assert nbcache._standin("22_dialogsum_flan_t5").endswith(":t5_standin")
    assert nbcache._standin("31_more_than_one_gpu") == nbcache._standin("22_dialogsum_flan_t5")  # case 2's model
    assert nbcache._standin("13_measuring_text") is None
    monkeypatch.setenv("LLMFT_PROFILE", "t4")  # real models: nothing to build
    assert nbcache._standin("21_xsum_t5_small") is None


def test_a_stand_in_is_built_once_with_one_thread_and_timed(monkeypatch, tmp_path):
    import sys

    import torch

    (tmp_path / "fake_standin.py").write_text(
        "import torch\nCALLS = []\n"
        "def build(log=print):\n"
        "    CALLS.append(torch.get_num_threads())\n"
        "    log('Using the cached x' if len(CALLS) > 1 else 'x ready in 1 s')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(nbcache, "_standin", lambda stem: "fake_standin:build")
    monkeypatch.setattr(nbcache, "ROWS", tmp_path / "rows")
    threads = torch.get_num_threads()
    nbcache._build_standin("21_xsum_t5_small")
    nbcache._build_standin("21_xsum_t5_small")
    assert sys.modules["fake_standin"].CALLS == [1, 1]  # one thread, as `python -m llmft.models.standins`
    assert torch.get_num_threads() == threads  # and the worker's threads back
    rows = [json.loads(f.read_text()) for f in (tmp_path / "rows").glob("*.json")]
    assert len(rows) == 1 and rows[0]["what"] == "stand-in build (built before 21_xsum_t5_small)"


def test_notebooks_are_dealt_to_lanes_longest_first(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMFT_NBCACHE", str(tmp_path))  # no cached times: the expected ones
    items = [_Item(s) for s in ("13_measuring_text", "31_more_than_one_gpu", "21_xsum_t5_small", "24_papers_llama3",
                                "22_dialogsum_flan_t5", "23_alpaca_gpt2", "26_cases_compared")]

    class Config:
        class pluginmanager:  # noqa: N801
            @staticmethod
            def hasplugin(name):
                return name == "xdist"

        class hook:  # noqa: N801
            @staticmethod
            def pytest_deselected(items):
                Config.deselected = items

        @staticmethod
        def getoption(name, default=None):
            return {"notebooks": "early", "numprocesses": 2}.get(name, default)

    nbcache.pytest_collection_modifyitems(Config, items)
    assert [Path(i.path).stem for i in Config.deselected] == ["31_more_than_one_gpu", "26_cases_compared"]
    lanes = {}
    for i in items:
        lanes.setdefault(i.markers[0].kwargs.get("name") or i.markers[0].args[0], []).append(Path(i.path).stem)
    assert len(lanes) == 2
    assert Path(items[0].path).stem == "21_xsum_t5_small"  # the longest first (its stand-in's build included)


def test_the_late_run_keeps_the_chapters_that_read_results():
    items = [_Item("21_xsum_t5_small"), _Item("31_more_than_one_gpu"), _Item("26_cases_compared")]

    class Config:
        class pluginmanager:  # noqa: N801
            @staticmethod
            def hasplugin(name):
                return False

        class hook:  # noqa: N801
            @staticmethod
            def pytest_deselected(items):
                pass

        @staticmethod
        def getoption(name, default=None):
            return {"notebooks": "late"}.get(name, default)

    nbcache.pytest_collection_modifyitems(Config, items)
    assert sorted(Path(i.path).stem for i in items) == ["26_cases_compared", "31_more_than_one_gpu"]


def test_lanes_are_marked_before_xdist_reads_the_marks():
    """pytest-xdist turns xdist_group marks into its work units in its own collection hook: ours must run first,
    or the lanes are ignored (chapter 31 then ran beside chapter 22 instead of after it)."""
    assert nbcache.pytest_collection_modifyitems.pytest_impl.get("tryfirst") is True
