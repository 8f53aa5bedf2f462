"""Instruction tuning of a causal LM with trl's ``SFTTrainer``: prompt/completion pairs, loss on the answer only,
EOS appended and learnt; the same report (loss curve, time, memory, tokens) as :mod:`llmft.training.train`.

trl 1.16 has three defaults that this module overrides, each for a reason a T4 user would hit:

* ``bf16`` defaults to on. A T4 has no bf16 (and a CPU runs it about 8 times slower): the precision here is
  :func:`llmft.training.train.training_precision`'s, as for every other case.
* on a quantized (QLoRA) model, trl casts the trainable adapter weights to bf16. Under fp16 mixed precision
  on a T4 the optimizer then steps bf16 weights: updates smaller than bf16's resolution are lost. They are cast
  back to fp32 here, as peft creates them (:func:`keep_adapters_fp32`).
* ``gradient_checkpointing`` defaults to on: it trades compute for memory, which GPT-2 does not need on a T4.
  The profile decides.
"""

from __future__ import annotations

from pathlib import Path

import torch

from llmft.models import free_memory
from llmft.runtime import Run
from llmft.training.train import LossRecorder, TrainReport, common_arguments, quiet_progress, timed_training


def sft_config(run: Run, output_dir: Path, quantized: bool = False):
    """trl's settings: the shared ones (:func:`llmft.training.train.common_arguments`, with precision and checkpointing
    set explicitly), prompt + answer up to ``max_source_len + max_target_len`` tokens, loss on the answer only."""
    from trl import SFTConfig

    s = run.sizes
    return SFTConfig(
        **common_arguments(run, output_dir, quantized),
        per_device_eval_batch_size=s.eval_batch_size,
        max_length=s.max_source_len + s.max_target_len,
        completion_only_loss=True,  # the prompt's tokens are context, not targets
        # Packing (best-fit decreasing, padding-free): several pairs share one row of max_length tokens; their
        # position ids restart at 0 for each pair, and transformers keeps them apart in attention.
        packing=s.packing,
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
    """Wraps trl's collator and counts real (not padding) tokens and all positions of the batches it makes.

    A padded batch has an attention mask; a packed (padding-free) batch has none: there a padding position is
    one that holds the pad token (a token of its own, never EOS).
    """

    def __init__(self, collator, pad_token_id: int | None = None):
        self.collator, self.pad_token_id, self.useful, self.total = collator, pad_token_id, 0, 0

    def __call__(self, features):
        batch = self.collator(features)
        if "attention_mask" in batch:
            self.useful += int(batch["attention_mask"].sum())
            self.total += batch["attention_mask"].numel()
        else:
            self.useful += int((batch["input_ids"] != self.pad_token_id).sum())
            self.total += batch["input_ids"].numel()
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
    t.data_collator = TokenCount(t.data_collator, tokenizer.pad_token_id)
    quiet_progress(t)
    t.recorder = recorder
    return t


def train_sft(model, tokenizer, train_ds, run: Run, output_dir: Path, quantized: bool = False) -> TrainReport:
    """Train the adapter of ``model`` on prompt/completion pairs (or trl's pre-tokenized rows); the report
    counts useful tokens (prompt and answer, not padding)."""
    t = trainer(model, tokenizer, train_ds, run, output_dir, quantized)
    return timed_training(t, model, run, t.recorder, t.data_collator)


@torch.no_grad()
def eval_loss(model, tokenizer, pairs, run: Run, output_dir: Path) -> float:
    """Mean cross-entropy per answer token (EOS included) on prompt/completion ``pairs``: the number model
    cards report as "eval loss". Never packed: each pair is scored on its own."""
    import dataclasses

    run = dataclasses.replace(run, sizes=dataclasses.replace(run.sizes, packing=False))
    t = trainer(model, tokenizer, pairs.select(range(min(1, len(pairs)))), run, output_dir, eval_ds=pairs)
    return float(t.evaluate()["eval_loss"])


def compare_packing(run: Run, make_model, tokenizer, pairs, eval_pairs, output_dir: Path, n_examples: int,
                    quantized: bool = False) -> list[dict]:
    """The same ``n_examples`` pairs, one epoch, from the same fresh adapter, without and with packing: steps,
    time, useful tokens per second, padded share, the last training losses and the eval loss on ``eval_pairs``
    (computed unpacked for both, so the two numbers mean the same thing). One row per way."""
    import dataclasses

    subset = pairs.select(range(min(n_examples, len(pairs))))
    rows = []
    for packing in (False, True):
        sizes = dataclasses.replace(run.sizes, packing=packing, epochs=1, max_steps=None, logging_steps=1)
        probe = dataclasses.replace(run, sizes=sizes)
        model = make_model(probe)
        report = train_sft(model, tokenizer, subset, probe, output_dir, quantized=quantized)
        rows.append({"packing": "on" if packing else "off", "pairs": len(subset), "steps": report.steps,
                     "seconds": report.seconds, "tokens / s": round(report.tokens_per_second),
                     "padded": f"{100 * report.padding_share:.0f} %",
                     "train loss": round(report.final_loss, 3),  # mean of the last three logged losses
                     "eval loss": round(eval_loss(model, tokenizer, eval_pairs, probe, output_dir), 3),
                     "peak MiB": round(report.memory.peak_bytes / 2**20)})
        del model, report
        free_memory()  # the next run's model loads only once this one is gone (one model on the device at a time)
    return rows


@torch.no_grad()
def packed_logit_difference(model, tokenizer, texts: list[str]) -> dict[str, float]:
    """Max |logit difference| between ``texts`` run one by one and packed into one row without an attention mask:
    ``separated``, with position ids restarting at 0 for each text (what trl's padding-free packing feeds the
    model: transformers then keeps the texts apart), and ``not separated``, with positions running on (the
    texts attend to each other). The first is rounding noise; the second is what packing would cost without it."""
    device = next(model.parameters()).device
    ids = [tokenizer(t, return_tensors="pt")["input_ids"][0] for t in texts]
    alone = torch.cat([model(input_ids=i[None].to(device), use_cache=False).logits[0].float() for i in ids])
    row = torch.cat(ids)[None].to(device)
    restart = torch.cat([torch.arange(len(i)) for i in ids])[None].to(device)
    run_on = torch.arange(row.shape[1])[None].to(device)
    # use_cache=False, as in training: with a cache, transformers does not look for packed sequences
    out = {}
    for name, positions in (("separated", restart), ("not separated", run_on)):
        packed = model(input_ids=row, position_ids=positions, use_cache=False).logits[0].float()
        out[name] = float((packed - alone).abs().max())
    return out


def small_fp32_copy(model, hidden: int = 256, layers: int = 2, seed: int = 0):
    """A small fp32 model of ``model``'s architecture and attention implementation (same class, vocabulary, head
    ratio; random weights), on the CPU: where a check must see exact arithmetic, not 4-bit or half-precision
    rounding across batch shapes."""
    config = model.config.__class__.from_dict(model.config.to_dict())
    heads = max(1, hidden // (config.hidden_size // config.num_attention_heads))
    ratio = config.num_attention_heads // getattr(config, "num_key_value_heads", config.num_attention_heads)
    config.update({"hidden_size": hidden, "intermediate_size": 2 * hidden, "num_hidden_layers": layers,
                   "num_attention_heads": heads, "num_key_value_heads": max(1, heads // ratio), "head_dim": hidden // heads,
                   "quantization_config": None})
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.random.fork_rng(devices=[]):  # its own seed, without moving the chapter's random state
        torch.manual_seed(seed)
        small = type(model)._from_config(config, dtype=torch.float32,
                                         attn_implementation=model.config._attn_implementation)
    return small.eval()
