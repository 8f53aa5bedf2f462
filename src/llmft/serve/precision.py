"""Quantization for serving: the merged, tuned model in fp32, 8-bit (LLM.int8) and 4-bit NF4, compared on
memory, generation speed and quality.

QLoRA quantizes the *frozen base* to train cheaply; here the finished model (base + adapter, merged) is
quantized to *serve* cheaply. Each precision loads the same merged checkpoint through ``bitsandbytes`` and
answers the same test prompts with the same greedy decoding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from llmft.runtime import Run

PRECISIONS = {"fp32": "fp32 (no quantization)", "int8": "8-bit (LLM.int8)", "nf4": "4-bit NF4"}


def save_merged(merged, tokenizer, folder: Path) -> int:
    """Save a merged model (adapter folded into the weights) with its tokenizer; returns its size in bytes."""
    merged.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(f.stat().st_size for f in Path(folder).iterdir() if f.suffix == ".safetensors")


def quantization_config(precision: str, device: str):
    """``bitsandbytes`` settings for ``precision`` (None for fp32)."""
    from transformers import BitsAndBytesConfig

    from llmft.models import qlora_quantization

    if precision == "fp32":
        return None
    if precision == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    if precision == "nf4":  # the same NF4 settings as QLoRA's base
        return qlora_quantization(device)
    raise ValueError(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}.")


def load_merged(folder: Path, precision: str, device: str):
    from transformers import AutoModelForCausalLM

    config = quantization_config(precision, device)
    kwargs = {"dtype": torch.float32}
    if config is not None:
        kwargs.update(quantization_config=config, device_map={"": 0} if device == "cuda" else "cpu")
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    return model.to(device) if config is None else model


@dataclass
class PrecisionResult:
    precision: str
    weights_mib: float
    tokens_per_second: float
    seconds: float
    evaluation: object  # SystemEval

    def row(self) -> dict:
        return {"precision": PRECISIONS[self.precision], "weights in memory (MiB)": f"{self.weights_mib:,.1f}",
                "generated tokens / s": f"{self.tokens_per_second:,.0f}",
                "ROUGE-L [95 % CI]": str(self.evaluation.summary["rougeL"]),
                "stops on its own": f"{100 * self.evaluation.stop_rate:.0f} %"}


def compare_precisions(run: Run, folder: Path, tokenizer, evalset, precisions=tuple(PRECISIONS)) -> tuple[list, dict]:
    """Load the merged model at each precision, answer every test input, time it and score it.

    Returns the results and, for a precision that cannot run here (no ``bitsandbytes``), the reason.
    """
    from llmft.evaluation import evaluate_causal
    from llmft.models import bitsandbytes_status

    ok, reason = bitsandbytes_status(run.device)
    results, skipped = [], {}
    for precision in precisions:
        if precision != "fp32" and not ok:
            skipped[precision] = reason
            continue
        model = load_merged(folder, precision, run.device)
        t0 = time.perf_counter()
        evaluation = evaluate_causal(model, tokenizer, evalset, run, PRECISIONS[precision])
        seconds = time.perf_counter() - t0
        tokens = sum(c.new_tokens for c in evaluation.completions)
        results.append(PrecisionResult(precision, model.get_memory_footprint() / 2**20, tokens / seconds, seconds,
                                       evaluation))
        del model
    return results, skipped
