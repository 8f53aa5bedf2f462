"""Save, reload and merge a trained adapter, and check that each step keeps the model's outputs: logits by
teacher forcing and the generated text. Every case chapter ends with this round trip."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from llmft.evaluation import evaluate_causal, evaluate_seq2seq
from llmft.models.adapters import load_adapter, save_adapter
from llmft.runtime import Run


@torch.no_grad()
def max_logit_difference(a, b, batch) -> float:
    """Largest absolute difference between two models' logits on one batch (teacher forcing)."""
    la = a(**batch).logits.float()
    lb = b(**batch).logits.float()
    return float((la - lb).abs().max())


@torch.no_grad()
def relative_logit_difference(a, b, batch) -> float:
    """Largest logit difference relative to the logits' own scale (max |logit| of ``a``).

    Merging changes the order of floating-point operations, so logits move by rounding; relative to
    their scale that is 1e-6 to a few 1e-5 in fp32 (2.8e-5 measured on SmolLM2-135M) and about 1e-3 in half
    precision.
    """
    la = a(**batch).logits.float()
    lb = b(**batch).logits.float()
    return float((la - lb).abs().max() / la.abs().max().clamp_min(1e-12))


def teacher_forcing_batch(run: Run, tokenizer, check):
    """The inputs of ``check`` (an ``EvalSet``) with their first reference, as one padded batch for comparing two
    models' logits: prompt and answer as one sequence for a causal model, source and target for a seq2seq one."""
    case, sizes = run.case, run.sizes
    prompts, answers = [case.format_prompt(r) for r in check.records], [r[0] for r in check.references]
    if case.task == "causal":
        return tokenizer([p + a for p, a in zip(prompts, answers)], padding=True, return_tensors="pt").to(run.device)
    return tokenizer(prompts, text_target=answers, padding=True, truncation=True, max_length=sizes.max_source_len,
                     return_tensors="pt").to(run.device)


def qlora_adapter_on_full_base(run: Run, qlora_model, fresh_base, tokenizer, check, folder: Path) -> float:
    """How far a QLoRA adapter moves when it leaves its 4-bit base: load the adapter saved in ``folder`` onto
    ``fresh_base`` (16/32-bit, as merging needs) and return the largest logit difference from ``qlora_model``
    relative to the logits' scale. The adapter was trained against the *dequantized* NF4 weights, so on the
    original weights (or merged into them) it computes a different function: the quantization error, not
    rounding."""
    on_full = load_adapter(fresh_base, folder)
    return relative_logit_difference(qlora_model, on_full, teacher_forcing_batch(run, tokenizer, check))


@dataclass
class RoundTrip:
    """What :func:`save_reload_merge` found: the adapter's size, and how far reloading and merging moved outputs."""

    adapter_bytes: int
    reload_diff: float  # max |logit difference|, reloaded adapter vs the trained one: must be 0
    merge_diff: float  # max |logit difference| / max |logit|, merged vs the trained one: rounding only
    same_text: bool  # the merged model writes the same outputs
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.reload_diff == 0.0 and self.merge_diff < self.tolerance and self.same_text

    def table(self):
        import pandas as pd

        return pd.DataFrame({
            "adapter on disk (KiB)": [f"{self.adapter_bytes / 1024:,.1f}"],
            "max |logit diff|, reloaded": [self.reload_diff],
            "max |logit diff| / max |logit|, merged": [f"{self.merge_diff:.1e}"],
            "merged gives the same outputs": [self.same_text],
        })


def save_reload_merge(run: Run, lora_model, fresh_base, tokenizer, check, folder: Path) -> RoundTrip:
    """Save ``lora_model``'s adapter to ``folder``, reload it onto ``fresh_base``, merge it, and compare each
    with the trained model on the inputs of ``check`` (an ``EvalSet``): logits by teacher forcing, and the
    generated outputs (same batches, same decoding). The merged model is built from the reloaded one."""
    adapter_bytes = save_adapter(lora_model, folder)
    reloaded = load_adapter(fresh_base, folder)
    case = run.case
    batch = teacher_forcing_batch(run, tokenizer, check)
    reload_diff = max_logit_difference(lora_model, reloaded, batch)
    merged = reloaded.merge_and_unload()
    merge_diff = relative_logit_difference(lora_model, merged, batch)
    evaluate = evaluate_causal if case.task == "causal" else evaluate_seq2seq
    same_text = (evaluate(merged, tokenizer, check, run, "merged").predictions
                 == evaluate(lora_model, tokenizer, check, run, "LoRA").predictions)
    return RoundTrip(adapter_bytes, reload_diff, merge_diff, same_text, 1e-4 if run.device == "cpu" else 1e-3)
