"""Install what the book needs on top of a Colab runtime, keeping Colab's own torch, numpy and pandas.

``pip install "llmft[gpu]"`` would install every exact pin of ``pyproject.toml``, ``torch==2.13.0`` among
them: gigabytes of CUDA wheels, a torchvision left built for the old torch, and a runtime restart. So a
chapter's first cell installs ``llmft`` itself with ``--no-deps`` and then calls :func:`install`, which
installs only the pinned libraries the book adds to Colab (transformers, peft, bitsandbytes, ...). Each of
them accepts the torch, numpy and pandas that Colab already has (``tests/test_colab.py`` checks this
against their own metadata), so nothing of the runtime is replaced.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

# What a Colab runtime already has, in versions the book's libraries accept: never (re)installed by it.
COLAB_KEEPS = ("torch", "torchvision", "torchaudio", "numpy", "pandas", "scipy", "matplotlib", "scikit-learn", "tqdm")


def _name(requirement: str) -> str:
    return re.split(r"[\s;=<>!~\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def requirements() -> list[str]:
    """The pinned requirements of ``llmft`` and its ``gpu`` and ``serve`` extras (a chapter starts
    ``llmft serve``), less what Colab keeps."""
    out = []
    for req in importlib.metadata.requires("llmft") or []:
        spec, _, marker = req.partition(";")
        marker = marker.replace("'", '"')
        if marker and 'extra == "gpu"' not in marker and 'extra == "serve"' not in marker:
            continue
        if _name(spec) not in COLAB_KEEPS:
            out.append(spec.strip())
    return sorted(out, key=_name)


def install(extra: list[str] | None = None) -> None:
    """``pip install`` the book's libraries, showing pip's progress line by line (no ``-q``)."""
    cmd = [sys.executable, "-m", "pip", "install", *requirements(), *(extra or [])]
    print("Installing (Colab's torch, numpy and pandas stay as they are):", " ".join(cmd[4:]), flush=True)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
    if proc.returncode:
        raise RuntimeError(f"pip failed (exit {proc.returncode}); the lines above say why.")
    print("Done. If Colab asks to restart the session, restart it and run the notebook from the top.")
