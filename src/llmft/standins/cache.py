"""Where offline models are cached (``$LLMFT_CACHE`` or ``~/.cache/llmft``, shared by every chapter), and how a
built model lands there: whole or not at all."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


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
