"""Where offline models are cached: ``$LLMFT_CACHE`` or ``~/.cache/llmft``, shared by every chapter."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Where stand-ins are cached: ``$LLMFT_CACHE`` or ``~/.cache/llmft``."""
    return Path(os.environ.get("LLMFT_CACHE", Path.home() / ".cache" / "llmft"))
