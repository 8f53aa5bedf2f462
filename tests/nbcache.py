"""A pytest plugin for ``make test``: re-execute only the notebooks whose content changed, and print a time table.

Loaded with ``-p nbcache`` (the Makefile puts ``tests/`` on ``PYTHONPATH``). It does for nbmake what Jupyter Book's
execution cache does for a book:

* Each staged notebook gets a **content key**: its own source, every file of ``src/llmft``, ``pyproject.toml``
  (the pins), whether the CPU computes bf16 in hardware (case 4 trains under bf16 autocast where it does), and the
  ``LLMFT_*`` settings that choose profile, data and models. Notebooks that read other chapters' results are also
  keyed on what they read, as it is when they start (the whole results folder, or the one file :data:`READS`
  names).
* After a notebook passes, its executed copy and the results files it wrote are stored under the key
  (``$LLMFT_NBCACHE``, default ``_build/notebook-cache``). A later run with the same key restores both and skips
  the notebook; anything else runs it. A notebook that fails stores nothing.
* ``--notebooks early`` keeps the notebooks that read no other chapter's results: they run side by side, one
  lane per pytest-xdist worker. ``--notebooks late`` keeps only those that do (:data:`LATE`), for a second run
  after the first.
* **Stand-ins are built in the lanes**: before a case chapter runs, its offline model (the registry's
  ``standin``) is built if the cache lacks it, with one torch thread (as ``python -m llmft.models.standins``
  builds it: the same weights), so the builds overlap the other lane's notebooks instead of running before all
  of them. A lane's expected time counts the builds its chapters will need.
* At the end, a table of times: install (from ``_build/times/install.txt``, written by the Makefile), each
  stand-in built, unit tests, each notebook (run or cached, with the time of the run that made the cached copy),
  the book build, and each pytest run's wall time. The rows of both runs of ``make test`` are kept in
  ``_build/times/rows/``.

``.ci/run`` deletes the cache first, so CI always executes every notebook.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Notebooks that read the results other chapters wrote run in a second, late run, keyed on those results as they
# are when they start: the comparison chapter on the whole results folder, chapter 31 on case 2's results file only
# (READS). pytest-xdist does not keep the order of the tests it sends a worker, so a chapter that must follow
# another cannot ride in its lane: measured, chapter 31 then started before case 2's chapter.
LATE = ("26_cases_compared", "31_more_than_one_gpu")
READS = {"31_more_than_one_gpu": "dialogsum-flan-t5/smoke.json"}
# Settings that only say where things go: not part of a notebook's content.
PLACES = {"LLMFT_CACHE", "LLMFT_RESULTS_DIR", "LLMFT_NBCACHE", "LLMFT_REQUIRE_BROWSER"}


def cache_dir() -> Path:
    return Path(os.environ.get("LLMFT_NBCACHE", ROOT / "_build" / "notebook-cache"))


def results_dir() -> Path:
    return Path(os.environ.get("LLMFT_RESULTS_DIR", ROOT / "results"))


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _hash_tree(h, folder: Path) -> None:
    for path in _files(folder):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")


def shared_key() -> str:
    """What every notebook depends on: the package, the pins, the CPU's bf16, the LLMFT_* settings."""
    from llmft.training.train import cpu_has_native_bf16

    h = hashlib.sha256()
    _hash_tree(h, ROOT / "src" / "llmft")
    h.update((ROOT / "pyproject.toml").read_bytes())
    h.update(f"cpu_bf16={cpu_has_native_bf16()}".encode())
    settings = {k: v for k, v in os.environ.items() if k.startswith("LLMFT_") and k not in PLACES}
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def notebook_key(source: Path, shared: str) -> str:
    h = hashlib.sha256(shared.encode())
    h.update((ROOT / "notebooks" / source.name).read_bytes())
    if source.stem in READS:
        read = results_dir() / READS[source.stem]
        h.update(read.read_bytes() if read.exists() else b"missing")
    elif source.stem in LATE:
        _hash_tree(h, results_dir())
    return h.hexdigest()[:16]


def _snapshot() -> dict[str, tuple[int, int]]:
    folder = results_dir()
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in _files(folder)}


def _is_notebook(item) -> bool:
    return str(getattr(item, "path", "")).endswith(".ipynb")


ROWS = ROOT / "_build" / "times" / "rows"


def _row(name: str, what: str, how: str, seconds: float) -> None:
    """One row of the time table, kept as a file: pytest-xdist's workers and the controller each write their own."""
    ROWS.mkdir(parents=True, exist_ok=True)
    (ROWS / f"{name}.json").write_text(json.dumps({"what": what, "how": how, "seconds": round(seconds, 1)}))


class NotebookCache:
    def __init__(self):
        self.shared = None
        self.keys: dict[str, str] = {}
        self.before: dict[str, dict] = {}
        self.started: dict[str, float] = {}
        self.seconds = {"unit": 0.0, "book": 0.0}
        self.wall_start = time.perf_counter()

    # -- running or restoring a notebook ------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if not _is_notebook(item):
            return
        self.shared = self.shared or shared_key()
        path = Path(item.path)
        key = self.keys[path.stem] = notebook_key(path, self.shared)
        entry = cache_dir() / path.stem
        meta = entry / "entry.json"
        if meta.exists() and json.loads(meta.read_text()).get("key") == key:
            shutil.copy2(entry / "executed.ipynb", path)
            for stored in _files(entry / "results"):
                target = results_dir() / stored.relative_to(entry / "results")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(stored, target)
            seconds = json.loads(meta.read_text())["seconds"]
            _row(f"nb-{path.stem}", path.stem, "cached", seconds)
            pytest.skip(f"unchanged since it last passed (key {key}, ran in {seconds:.0f} s): outputs restored")
        _build_standin(path.stem)
        self.before[path.stem] = _snapshot()
        self.started[path.stem] = time.perf_counter()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when != "call" or not _is_notebook(item):
            return
        path = Path(item.path)
        if path.stem not in self.started:
            return
        seconds = time.perf_counter() - self.started[path.stem]
        _row(f"nb-{path.stem}", path.stem, "ran" if report.passed else "FAILED", seconds)
        if report.passed:
            self._store(path, seconds)

    def _store(self, path: Path, seconds: float) -> None:
        before, now = self.before[path.stem], _snapshot()
        written = [name for name, stamp in now.items() if before.get(name) != stamp]
        entry = cache_dir() / path.stem
        tmp = entry.with_name(entry.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "results").mkdir(parents=True)
        shutil.copy2(path, tmp / "executed.ipynb")
        for name in written:
            (tmp / "results" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(results_dir() / name, tmp / "results" / name)
        (tmp / "entry.json").write_text(json.dumps({"key": self.keys[path.stem], "seconds": round(seconds, 1),
                                                    "results": written}, indent=1))
        shutil.rmtree(entry, ignore_errors=True)
        tmp.rename(entry)

    # -- the time table -----------------------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report):
        """Unit tests and the book build: the sum of their test times (read where the reports arrive)."""
        if report.when == "call" and not report.nodeid.split("::")[0].endswith(".ipynb"):
            self.seconds["book" if "tests/book/" in report.nodeid else "unit"] += report.duration

    def pytest_terminal_summary(self, terminalreporter, config):
        if hasattr(config, "workerinput"):
            return
        phase = config.getoption("notebooks") or "all"
        for key, label in (("unit", "unit tests (sum of test times)"), ("book", "book build and checks")):
            if self.seconds[key]:
                _row(f"{key}-{phase}", label, "ran", self.seconds[key])
        _row(f"wall-{phase}", f"pytest wall time ({phase} run)", "wall", time.perf_counter() - self.wall_start)
        rows = []
        for step in ("install", "standins"):  # standins.txt: `make standins`, where it ran before the tests
            f = ROOT / "_build" / "times" / f"{step}.txt"
            if f.exists():
                rows.append({"what": f"{step} (make)", "how": "wall", "seconds": float(f.read_text().split()[0])})
        order = {"standin": 0, "unit": 1, "nb": 2, "book": 3, "wall": 4}
        files = sorted(ROWS.glob("*.json"), key=lambda f: (order.get(f.stem.split("-")[0], 9), f.stem))
        rows += [json.loads(f.read_text()) for f in files]
        tr = terminalreporter
        tr.section("time table (seconds)")
        width = max(len(r["what"]) for r in rows)
        for r in rows:
            note = " (from the run that made the cached copy)" if r["how"] == "cached" else ""
            tr.write_line(f"{r['what']:<{width}}  {r['how']:<7} {r['seconds']:7.0f}{note}")
        wall = sum(r["seconds"] for r in rows if r["how"] == "wall")
        tr.write_line(f"{'wall time of these steps':<{width}}  {'':<7} {wall:7.0f}")
        (ROOT / "_build" / "times" / "table.json").write_text(json.dumps(rows, indent=1))


def pytest_addoption(parser):
    parser.addoption("--notebooks", choices=("early", "late"), default=None,
                     help="early: only notebooks that read no other chapter's results; late: only those that do")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's hook, which reads the xdist_group marks set here
def pytest_collection_modifyitems(config, items):
    phase = config.getoption("notebooks")
    if not phase:
        return
    keep, drop = [], []
    for item in items:
        late = _is_notebook(item) and Path(item.path).stem in LATE
        (keep if (phase == "late") == late or not _is_notebook(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # Side by side (pytest-xdist, --dist loadgroup): the notebooks are dealt to one lane per worker, longest first
    # to the lane with the least so far (by the time each last took, where known, plus the stand-in build it will
    # need), and scheduled before the unit tests, which fill in around them.
    notebooks = sorted((i for i in items if _is_notebook(i)), key=_expected, reverse=True)
    workers = config.getoption("numprocesses", None) if config.pluginmanager.hasplugin("xdist") else None
    if workers and isinstance(workers, int) and workers > 1:
        load = [0.0] * workers
        for item in notebooks:
            lane = load.index(min(load))
            load[lane] += _expected(item)
            item.add_marker(pytest.mark.xdist_group(f"notebooks-{lane}"))
    items[:] = notebooks + [i for i in items if not _is_notebook(i)]


def _expected(item) -> float:
    """Seconds a notebook is expected to take: as long as its cached copy took, else as measured on CI (with its
    stand-in's build: a cold run builds them all)."""
    stem = Path(item.path).stem
    meta = cache_dir() / stem / "entry.json"
    if meta.exists():
        return json.loads(meta.read_text())["seconds"]
    from llmft.models.standins.__main__ import MEASURED_SECONDS

    reference = _standin(stem)
    build = MEASURED_SECONDS.get(reference.rpartition(":")[2], 0) if reference else 0
    return EXPECTED_SECONDS.get(stem, 30) + build


# Seconds each notebook took in smoke on CI's 2 cores, one thread each, two lanes side by side (2026-12-04); used
# to deal the lanes of a cold run.
EXPECTED_SECONDS = {"21_xsum_t5_small": 480, "24_papers_llama3": 530, "22_dialogsum_flan_t5": 370,
                    "23_alpaca_gpt2": 290, "25_agnews_distilbert": 130, "31_more_than_one_gpu": 100,
                    "32_choosing_lora_settings": 240, "33_settings_for_instructions": 240}


def _standin(stem: str) -> str | None:
    """The offline model (registry ``"module:function"``) that chapter ``stem`` loads in the smoke profile, or None:
    a case chapter's stem is its number and case key (``21_xsum_t5_small``); chapter 31 uses case 2's, chapter 11
    case 4's."""
    if os.environ.get("LLMFT_PROFILE", "smoke") != "smoke" or os.environ.get("LLMFT_MODEL"):
        return None
    from llmft.cases import REGISTRY

    # chapter 31 trains case 2's model; chapter 11 trains a LoRA layer by hand on case 4's SmolLM2; chapter 32
    # sweeps LoRA's settings on case 5's encoder, chapter 33 on case 4's SmolLM2
    stem = {"31_more_than_one_gpu": "22_dialogsum_flan_t5", "11_lora_from_scratch": "24_papers_llama3",
            "32_choosing_lora_settings": "25_agnews_distilbert",
            "33_settings_for_instructions": "24_papers_llama3"}.get(stem, stem)
    registered = REGISTRY.get(stem.partition("_")[2].replace("_", "-"))
    return registered.standin if registered else None


def _build_standin(stem: str) -> None:
    """Build the stand-in chapter ``stem`` needs, if the cache lacks it, with one torch thread (a row of the time
    table when it was built here). A lock file keeps two lanes from building the same one."""
    reference = _standin(stem)
    if reference is None:
        return
    import fcntl

    import torch

    from llmft.cache import cache_root
    from llmft.cases import resolve

    name = reference.rpartition(":")[2]
    cache_root().mkdir(parents=True, exist_ok=True)
    with open(cache_root() / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        threads, built = torch.get_num_threads(), []
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        try:
            resolve(reference)(log=built.append)
        finally:
            torch.set_num_threads(threads)
    if not any(line.startswith("Using the cached") for line in built):
        _row(f"standin-{name}", f"stand-in {name} (built before {stem})", "ran", time.perf_counter() - t0)


def pytest_configure(config):
    config.pluginmanager.register(NotebookCache(), "nbcache-instance")
