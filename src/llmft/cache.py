"""Where offline models are cached (``$LLMFT_CACHE`` or ``~/.cache/llmft``, shared by every chapter), and how a
built model lands there: whole or not at all."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import time
from pathlib import Path

# The libraries whose versions decide a built model's weights and files.
LIBRARIES = ("torch", "transformers", "tokenizers", "sentencepiece", "safetensors")


def cache_root() -> Path:
    """Where stand-ins are cached: ``$LLMFT_CACHE`` or ``~/.cache/llmft``."""
    return Path(os.environ.get("LLMFT_CACHE", Path.home() / ".cache" / "llmft"))


def publish(model, tokenizer, meta: dict, target: Path) -> Path:
    """Save ``model``, ``tokenizer`` and ``meta`` (as ``standin.json``, the mark of a finished build) into a
    temporary folder beside ``target``, then rename it: a build that fails leaves no half-written stand-in."""
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "standin.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def is_built(target: Path) -> bool:
    return (target / "standin.json").exists()


def build_once(target: Path, build, log=print) -> Path:
    """``target`` if a finished build lies there; else ``build()`` -> ``(model, tokenizer, meta)``, published whole
    (:func:`publish`) with the build's seconds added to ``meta``. Every offline model is cached this way."""
    if is_built(target):
        log(f"Using the cached {target.name} (built once on this machine)")
        return target
    t0 = time.perf_counter()
    model, tokenizer, meta = build()
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    publish(model, tokenizer, meta, target)
    log(f"{target.name} ready in {meta['seconds']:.0f} s")
    return target


def source_key(*modules, libraries: tuple[str, ...] = LIBRARIES) -> str:
    """A short hash of the source files of ``modules`` (only those a model is built from) and of the installed
    versions of ``libraries``: a cached model is rebuilt when either changes, and only then."""
    h = hashlib.sha256()
    for module in modules:
        h.update(Path(module.__file__).read_bytes())
    for name in libraries:
        try:
            h.update(f"{name}=={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{name} missing".encode())
    return h.hexdigest()[:12]
