"""Instruction tuning of a causal LM with trl's ``SFTTrainer``: prompt/completion pairs, loss on the answer only,
EOS appended and learnt; the same report (loss curve, time, memory, tokens) as :mod:`llmft.train`.

trl 1.16 has three defaults that this module overrides, each for a reason a T4 user would hit:

* ``bf16`` defaults to on. A T4 has no bf16 (and a CPU runs it about 8 times slower): the precision here is
  :func:`llmft.train.training_precision`'s, as for every other case.
* on a quantized (QLoRA) model, trl casts the trainable adapter weights to bf16. Under fp16 mixed precision
  on a T4 the optimizer then steps bf16 weights: updates smaller than bf16's resolution are lost. They are cast
  back to fp32 here, as peft creates them (:func:`keep_adapters_fp32`).
* ``gradient_checkpointing`` defaults to on: it trades compute for memory, which GPT-2 does not need on a T4.
  The profile decides.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from llmft.memory import PeakMemory
from llmft.runtime import Run
from llmft.train import LossRecorder, QuietProgress, TrainReport, common_arguments, training_precision


def sft_config(run: Run, output_dir: Path, quantized: bool = False):
    """trl's settings: the shared ones (:func:`llmft.train.common_arguments`, with precision and checkpointing
    set explicitly), prompt + answer up to ``max_source_len + max_target_len`` tokens, loss on the answer only."""
    from trl import SFTConfig

    s = run.sizes
    return SFTConfig(
        **common_arguments(run, output_dir, quantized),
        per_device_eval_batch_size=s.eval_batch_size,
        max_length=s.max_source_len + s.max_target_len,
        completion_only_loss=True,  # the prompt's tokens are context, not targets
        packing=False,
        pad_to_multiple_of=8,
    )


def keep_adapters_fp32(model) -> int:
    """Cast every trainable parameter back to fp32 (trl casts a quantized model's adapters to bf16); returns
    how many were cast."""
    cast = 0
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
            cast += 1
    return cast


class TokenCount:
    """Wraps trl's collator and counts real (not padding) tokens and all positions of the batches it makes."""

    def __init__(self, collator):
        self.collator, self.useful, self.total = collator, 0, 0

    def __call__(self, features):
        batch = self.collator(features)
        self.useful += int(batch["attention_mask"].sum())
        self.total += batch["attention_mask"].numel()
        return batch

    @property
    def padding_share(self) -> float:
        return 1 - self.useful / self.total if self.total else 0.0


def trainer(model, tokenizer, train_ds, run: Run, output_dir: Path, quantized: bool = False, eval_ds=None):
    """An ``SFTTrainer`` with this book's settings: adapters in fp32, a plain progress bar, a loss recorder."""
    from transformers import set_seed
    from trl import SFTTrainer

    set_seed(run.seed)
    recorder = LossRecorder()
    t = SFTTrainer(model=model, args=sft_config(run, output_dir, quantized), train_dataset=train_ds,
                   eval_dataset=eval_ds, processing_class=tokenizer, callbacks=[recorder])
    keep_adapters_fp32(t.model)
    t.data_collator = TokenCount(t.data_collator)
    for cb in list(t.callback_handler.callbacks):
        if type(cb).__name__ == "NotebookProgressCallback":
            t.remove_callback(cb)
            t.add_callback(QuietProgress)
    t.recorder = recorder
    return t


def train_sft(model, tokenizer, train_ds, run: Run, output_dir: Path, quantized: bool = False) -> TrainReport:
    """Train the adapter of ``model`` on prompt/completion pairs (or trl's pre-tokenized rows); the report
    counts useful tokens (prompt and answer, not padding)."""
    t = trainer(model, tokenizer, train_ds, run, output_dir, quantized)
    with PeakMemory(run.device) as mem:
        t0 = time.perf_counter()
        out = t.train()
        seconds = time.perf_counter() - t0
    model.eval()
    counter = t.data_collator
    return TrainReport(steps=out.global_step, seconds=round(seconds, 1), loss_history=t.recorder.history,
                       memory=mem.report, precision=training_precision(run.case, run.device),
                       optimizer=t.args.optim.value if hasattr(t.args.optim, "value") else str(t.args.optim),
                       useful_tokens=counter.useful, padding_share=round(counter.padding_share, 4))


@torch.no_grad()
def eval_loss(model, tokenizer, pairs, run: Run, output_dir: Path) -> float:
    """Mean cross-entropy per answer token (EOS included) on prompt/completion ``pairs``: the number model
    cards report as "eval loss"."""
    t = trainer(model, tokenizer, pairs.select(range(min(1, len(pairs)))), run, output_dir, eval_ds=pairs)
    return float(t.evaluate()["eval_loss"])
