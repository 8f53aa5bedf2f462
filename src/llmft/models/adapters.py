"""Attach, save, reload and merge LoRA adapters; prepare a 4-bit base for QLoRA."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from peft import PeftModel, get_peft_model

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


def prepare_for_kbit_training(model, checkpointing: bool):
    """What QLoRA needs of a 4-bit base before an adapter is attached: every weight frozen, the normalisation
    weights in fp32 (small, and where fp16 loses most), and with activation checkpointing, inputs that require
    gradients (peft #137).

    peft's ``prepare_model_for_kbit_training`` does the same but casts *every* 16-bit weight to fp32: Llama-3-8B's
    embeddings and LM head (1.05B parameters) would then take 3.9 GiB instead of 2 GiB on a T4. Here they stay in
    the compute dtype they were loaded in (:func:`llmft.models.load_model`); on a CPU everything is fp32 anyway.
    """
    for param in model.parameters():
        param.requires_grad = False
    for module in model.modules():
        if "norm" in type(module).__name__.lower():
            for param in module.parameters(recurse=False):
                if param.dtype in (torch.float16, torch.bfloat16):
                    param.data = param.data.to(torch.float32)
    if checkpointing:
        model.enable_input_require_grads()
        model.gradient_checkpointing_enable()
    return model


def attach_qlora(model_4bit, run: Run, spec: LoraSpec | None = None):
    """QLoRA: the same adapter on a 4-bit base, after :func:`prepare_for_kbit_training` (the base frozen, its
    norms in fp32, its embeddings and head left in the compute dtype).

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
    model = prepare_for_kbit_training(model_4bit, checkpointing=run.sizes.gradient_checkpointing)
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


def count_on_real_architecture(run: Run):
    """LoRA's trainable parameters on the case's real architecture, by formula and by ``peft``.

    The real model is built at its published size on PyTorch's ``meta`` device (no download, no
    memory). Returns the table the chapters show and ``peft``'s count (a ``ParamCount``).
    """
    import pandas as pd

    from llmft import models
    from llmft.foundations import lora

    case = run.case
    real = models.count_params(attach_lora(models.real_size_on_meta(case), run, case.lora))
    row = {"LoRA parameters by formula": f"{lora.lora_params(case):,}"}
    if case.lora.modules_to_save:
        row["head (modules_to_save)"] = f"{lora.saved_head_params(case):,}"
        row["trainable by formula"] = f"{lora.trainable_by_formula(case):,}"
    row.update({"trainable parameters (peft)": f"{real.trainable:,}", "all parameters (peft)": f"{real.total:,}",
                "trainable share": f"{real.percent:.2f} %"})
    return pd.DataFrame({k: [v] for k, v in row.items()}, index=[case.model_id]), real

