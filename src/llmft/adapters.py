"""Attach, save, reload and merge LoRA adapters; prepare a 4-bit base for QLoRA."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import PeftModel, get_peft_model, prepare_model_for_kbit_training

from llmft.cases import LoraSpec
from llmft.models import lora_config
from llmft.runtime import Run


@contextmanager
def _peft_reads_a_deprecated_property():
    """peft 0.21 reads ``model.is_gradient_checkpointing``, which transformers 5.23 deprecates (FutureWarning
    on every attach). Our own code uses the new ``*_activation_checkpointing`` names; this hides only
    that one warning, raised inside peft, until peft reads the new name."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def attach_lora(model, run: Run, spec: LoraSpec | None = None):
    """Freeze ``model`` and add a LoRA adapter (B starts at zero, so outputs are unchanged).

    ``spec`` defaults to the profile's (``run.sizes.lora``, where a profile trains a smaller adapter) or else
    the case's (``run.case.lora``); pass another to try a different rank or targets. A's random
    initialisation is seeded here, so the same run gives the same adapter.
    """
    torch.manual_seed(run.seed)
    with _peft_reads_a_deprecated_property():
        return get_peft_model(model, lora_config(run.case, spec or run.sizes.lora))


def attach_qlora(model_4bit, run: Run, spec: LoraSpec | None = None):
    """QLoRA: the same adapter on a 4-bit base, after peft's k-bit preparation.

    ``prepare_model_for_kbit_training`` freezes the base, casts layer norms to fp32 and,
    with gradient checkpointing, makes the inputs require gradients (peft #137).

    On a CPU with AVX512-BF16, bitsandbytes repacks a 4-bit layer's weights for fast inference the first time the
    layer runs in eval mode without gradients; a base repacked that way does not train (measured: the loss stays
    flat). Such a base is refused here: load a fresh one for training.
    """
    repacked = [n for n, m in model_4bit.named_modules()
                if getattr(getattr(getattr(m, "weight", None), "quant_state", None), "packing_format_for_cpu", False)]
    if repacked:
        raise ValueError(f"This 4-bit model has run inference on the CPU, and bitsandbytes repacked {len(repacked)} of its "
                         "layers for inference (e.g. " + repacked[0] + "); it would not train. Load a fresh 4-bit base "
                         "for QLoRA.")
    with _peft_reads_a_deprecated_property():
        model = prepare_model_for_kbit_training(model_4bit, use_gradient_checkpointing=run.sizes.gradient_checkpointing)
    return attach_lora(model, run, spec)


def save_adapter(model, folder: Path) -> int:
    """Save only the adapter; returns its size on disk in bytes.

    Embeddings grown by one row for a pad token are not saved with it: :func:`llmft.models.load_model` grows
    them the same way on every load (peft would otherwise save the whole embedding matrix, 150 MiB for GPT-2).
    """
    model.save_pretrained(folder, save_embedding_layers=False)
    return sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file())


def load_adapter(base, folder: Path):
    with _peft_reads_a_deprecated_property():
        return PeftModel.from_pretrained(base, folder).eval()


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
    from llmft.evaluation import evaluate_causal, evaluate_seq2seq

    adapter_bytes = save_adapter(lora_model, folder)
    reloaded = load_adapter(fresh_base, folder)
    case, sizes = run.case, run.sizes
    prompts, answers = [case.format_prompt(r) for r in check.records], [r[0] for r in check.references]
    if case.task == "causal":  # prompt and answer as one sequence
        batch = tokenizer([p + a for p, a in zip(prompts, answers)], padding=True, return_tensors="pt").to(run.device)
    else:
        batch = tokenizer(prompts, text_target=answers, padding=True, truncation=True, max_length=sizes.max_source_len,
                          return_tensors="pt").to(run.device)
    reload_diff = max_logit_difference(lora_model, reloaded, batch)
    merged = reloaded.merge_and_unload()
    merge_diff = relative_logit_difference(lora_model, merged, batch)
    evaluate = evaluate_causal if case.task == "causal" else evaluate_seq2seq
    same_text = (evaluate(merged, tokenizer, check, run, "merged").predictions
                 == evaluate(lora_model, tokenizer, check, run, "LoRA").predictions)
    return RoundTrip(adapter_bytes, reload_diff, merge_diff, same_text, 1e-4 if run.device == "cpu" else 1e-3)


def count_on_real_architecture(run: Run):
    """LoRA's trainable parameters on the case's real architecture, by formula and by ``peft``.

    The real model is built at its published size on PyTorch's ``meta`` device (no download, no
    memory). Returns the table the chapters show and ``peft``'s count (a ``ParamCount``).
    """
    import pandas as pd

    from llmft import lora, models

    case = run.case
    real = models.count_params(attach_lora(models.real_size_on_meta(case), run, case.lora))
    row = {"LoRA parameters by formula": f"{lora.lora_params(case):,}"}
    if case.lora.modules_to_save:
        row["head (modules_to_save)"] = f"{lora.saved_head_params(case):,}"
        row["trainable by formula"] = f"{lora.trainable_by_formula(case):,}"
    row.update({"trainable parameters (peft)": f"{real.trainable:,}", "all parameters (peft)": f"{real.total:,}",
                "trainable share": f"{real.percent:.2f} %"})
    return pd.DataFrame({k: [v] for k, v in row.items()}, index=[case.model_id]), real

