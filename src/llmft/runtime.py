"""Start a chapter: pick the profile, set seeds and offline mode, report versions and device.

Call :func:`start` first in a notebook, before loading any model or dataset: in the
``smoke`` profile it switches the Hugging Face libraries to offline mode, so that a
stray hub call fails in seconds with our own message instead of retrying for a minute.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmft.cases import Case, get_case
from llmft.profiles import Profile, Sizes, check_hardware, default_profile_name, get_profile

SEED = 42
VERSIONED = ("torch", "transformers", "peft", "datasets", "accelerate", "bitsandbytes", "rouge_score", "llmft")


@dataclass
class Run:
    """What a chapter runs: the case, the profile and its sizes, the device, where results go."""

    case: Case
    profile: Profile
    sizes: Sizes
    device: str
    seed: int
    results_dir: Path

    @property
    def results_path(self) -> Path:
        return self.results_dir / self.case.key / f"{self.profile.name}.json"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def print_versions() -> None:
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))


def set_offline(offline: bool) -> None:
    """Turn the hub libraries' offline mode on or off, also when they are imported already."""
    value = "1" if offline else "0"
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[var] = value
    if "huggingface_hub" in sys.modules:
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = offline


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def shown_path(path: str | Path | None) -> str | None:
    """A path as a page, a log or a server shows it: relative to the project (the folder that holds ``results/``)
    or to the working folder, else its name only: never the reader's own folders."""
    if path is None:
        return None
    p = Path(path).resolve()
    for root in (project_results_dir().resolve().parent, Path.cwd().resolve()):
        try:
            return str(p.relative_to(root))
        except ValueError:
            continue
    return p.name


def project_results_dir() -> Path:
    """``$LLMFT_RESULTS_DIR`` if set, else ``results/`` beside the notebooks' folder (or in the working directory)."""
    env = os.environ.get("LLMFT_RESULTS_DIR")
    if env:
        return Path(env)
    cwd = Path.cwd()
    return (cwd.parent if cwd.name == "notebooks" else cwd) / "results"


def start(case_key: str, profile: str | None = None, seed: int = SEED, quiet: bool = False) -> Run:
    """Resolve case and profile, check the hardware, fix seeds, and print what this run means."""
    import torch

    case = get_case(case_key)
    cuda = torch.cuda.is_available()
    prof = get_profile(profile or default_profile_name(cuda))
    check_hardware(prof, cuda)
    sizes = prof.sizes_for(case.key)
    set_offline(prof.offline)
    seed_everything(seed)
    device = "cuda" if cuda else "cpu"
    run = Run(case=case, profile=prof, sizes=sizes, device=device, seed=seed, results_dir=project_results_dir())
    if not quiet:
        print(f"Case {case.number}: {case.title}")
        print(f"Profile '{prof.name}': {prof.summary}.")
        if cuda:
            name = torch.cuda.get_device_name(0)
            mem = torch.cuda.get_device_properties(0).total_memory / 2**30
            print(f"Device: {name} ({mem:.1f} GiB), bf16 supported: {torch.cuda.is_bf16_supported()}")
        else:
            print(f"Device: CPU ({torch.get_num_threads()} threads)")
        print_versions()
    return run


@contextmanager
def hub_errors(what: str, offline: bool):
    """Turn the hub libraries' long, misleading errors into one that says what to do."""
    try:
        yield
    except (OSError, ConnectionError) as err:  # missing files, offline mode, HTTP errors all derive from these
        text = str(err)
        if offline:
            raise RuntimeError(
                f"Could not load {what} in offline mode ({type(err).__name__}). The 'smoke' profile never "
                "downloads: it builds stand-ins locally. If you meant to use the real model, choose the 't4' "
                "or 'full' profile on a machine with internet access."
            ) from err
        if any(code in text for code in ("401", "403", "gated", "restricted")):
            raise RuntimeError(
                f"Access to {what} was refused. It is a gated model: accept its licence on its Hugging Face "
                "page, create a read token, then set HF_TOKEN (in Colab: the key icon > Add secret HF_TOKEN, "
                "with notebook access on) or call huggingface_hub.login()."
            ) from err
        raise


def hub_token() -> str | None:
    """The Hugging Face token as the hub library finds it: ``HF_TOKEN``, a Colab secret named HF_TOKEN (with
    notebook access on), or a saved ``huggingface_hub.login()``. Never printed."""
    token = os.environ.get("HF_TOKEN")
    if token:
        return token
    try:
        from huggingface_hub import get_token
    except ImportError:
        return None
    try:
        return get_token()
    except Exception:  # a Colab secret without notebook access raises; treat it as no token
        return None


def require_token(case: Case) -> None:
    """A gated model without a token fails here, before any download starts (call it right after ``start()``:
    not an hour later, after a teacher has run)."""
    if case.gated and not hub_token():
        fallback = (f" Or use an ungated copy: set LLMFT_MODEL={case.open_fallback} (the model's licence still "
                    "applies to it)." if case.open_fallback else "")
        raise RuntimeError(
            f"{case.model_id} is gated. Accept its licence on its Hugging Face page, create a read token, then "
            "either add it in Colab (the key icon > Add secret HF_TOKEN, with notebook access on), run "
            "huggingface_hub.login(), or set HF_TOKEN." + fallback
        )
