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


def text_agreement(a: list[str], b: list[str]) -> float:
    """Share of positions where two lists of outputs hold the same text (1.0: identical)."""
    if len(a) != len(b):
        raise ValueError(f"Cannot compare {len(a)} outputs with {len(b)}.")
    return sum(x == y for x, y in zip(a, b)) / max(1, len(a))


# On a GPU, the same model run on batches of other shapes rounds differently, and beam search can flip on a near
# tie: outputs are compared there by agreement, not identity (and logits within a tolerance).
GPU_AGREEMENT = 0.75


def same_outputs(a: list[str] | str, b: list[str] | str, device: str) -> bool:
    """Do two runs of one model give the same outputs? Exactly on a CPU (one thread, the same batches: bit for bit);
    on a GPU, at least :data:`GPU_AGREEMENT` of them identical, and a single output at least 3/4 of its words in
    place."""
    if isinstance(a, str) and isinstance(b, str):
        if device == "cpu" or a == b:
            return a == b
        wa, wb = a.split(), b.split()
        return sum(x == y for x, y in zip(wa, wb)) >= GPU_AGREEMENT * max(len(wa), len(wb), 1)
    share = text_agreement(list(a), list(b))
    return share == 1.0 if device == "cpu" else share >= GPU_AGREEMENT


@dataclass
class RoundTrip:
    """What :func:`save_reload_merge` found: the adapter's size, and how far reloading and merging moved outputs."""

    adapter_bytes: int
    reload_diff: float  # max |logit difference| / max |logit|, reloaded vs trained: 0 on a CPU, rounding on a GPU
    merge_diff: float  # max |logit difference| / max |logit|, merged vs the trained one: rounding only
    same_text: bool  # the merged model writes the same outputs (on a GPU: by agreement, see same_outputs)
    tolerance: float
    exact: bool = True  # on a CPU the reloaded adapter must give the very same logits

    @property
    def ok(self) -> bool:
        reloaded = self.reload_diff == 0.0 if self.exact else self.reload_diff < self.tolerance
        return reloaded and self.merge_diff < self.tolerance and self.same_text

    def table(self):
        import pandas as pd

        return pd.DataFrame({
            "adapter on disk (KiB)": [f"{self.adapter_bytes / 1024:,.1f}"],
            "max |logit diff| / max |logit|, reloaded": [f"{self.reload_diff:.1e}" if self.reload_diff else "0"],
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
    reload_diff = relative_logit_difference(lora_model, reloaded, batch)
    merged = reloaded.merge_and_unload()
    merge_diff = relative_logit_difference(lora_model, merged, batch)
    evaluate = evaluate_causal if case.task == "causal" else evaluate_seq2seq
    same_text = same_outputs(evaluate(merged, tokenizer, check, run, "merged").predictions,
                             evaluate(lora_model, tokenizer, check, run, "LoRA").predictions, run.device)
    cpu = run.device == "cpu"
    return RoundTrip(adapter_bytes, reload_diff, merge_diff, same_text, 1e-4 if cpu else 1e-3, exact=cpu)
