"""Chapter 2.1's LoRA layer trained on a real task by a loop written out in full, then by the ``Trainer`` on the same
data, seed and settings, to show what the ``Trainer`` does for you (and that it does nothing else).

The task: instruction following with SmolLM2-135M-Instruct (a real pretrained model) on the book's synthetic
Alpaca records. The pieces a ``Trainer`` hides, each a few lines here: putting :class:`LoRALinear` into the model,
the collator (prompt + answer + EOS, labels ``-100`` on the prompt and on padding, chosen by *position*), AdamW on
the adapter's parameters only, a linear schedule with warm-up, gradient clipping, and an evaluation loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from llmft.foundations.lora import LoRALinear


def inject_lora(model: nn.Module, targets: tuple[str, ...], r: int, alpha: float, seed: int = 0) -> list[nn.Parameter]:
    """Replace every ``nn.Linear`` whose name ends in one of ``targets`` by a :class:`LoRALinear` around it, freeze
    everything else, and return the trainable parameters (the A and B matrices). Seeded: the same A every time."""
    for p in model.parameters():
        p.requires_grad_(False)
    torch.manual_seed(seed)
    found = [(name, module) for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets]
    if not found:
        raise ValueError(f"No linear layer named {targets} in this model.")
    for name, module in found:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, LoRALinear(module, r=r, alpha=alpha))
    return [p for p in model.parameters() if p.requires_grad]


@dataclass
class CompletionCollator:
    """Prompt + answer + EOS in one row, padded on the right; the loss only on the answer and its EOS.

    Labels are ``-100`` on the prompt and on the padding, chosen by position, never by token id: a model that pads
    with its EOS id would otherwise never be taught to stop."""

    tokenizer: object
    max_length: int = 256

    def encode(self, prompt: str, answer: str) -> dict:
        p = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a = self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        ids = (p + a)[: self.max_length]
        labels = ([-100] * len(p) + a)[: self.max_length]
        return {"input_ids": ids, "labels": labels}

    def __call__(self, rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        ids = torch.full((len(rows), width), pad)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n], labels[i, :n], mask[i, :n] = torch.tensor(r["input_ids"]), torch.tensor(r["labels"]), 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@dataclass(frozen=True)
class Settings:
    steps: int = 12
    batch_size: int = 4
    learning_rate: float = 1e-3
    warmup_steps: int = 2
    max_grad_norm: float = 1.0
    seed: int = 0


def linear_schedule(step: int, s: Settings) -> float:
    """The learning rate's factor at ``step``: up linearly over the warm-up, then down linearly to 0 at the end
    (what ``lr_scheduler_type="linear"`` does)."""
    if step < s.warmup_steps:
        return step / max(1, s.warmup_steps)
    return max(0.0, (s.steps - step) / max(1, s.steps - s.warmup_steps))


@torch.no_grad()
def eval_loss(model, rows: list[dict], collator: CompletionCollator, batch_size: int = 8) -> float:
    """Mean loss per answer token over ``rows`` (every answer token weighs the same, whatever its batch)."""
    model.eval()
    total, tokens = 0.0, 0
    for start in range(0, len(rows), batch_size):
        batch = collator(rows[start : start + batch_size])
        n = int((batch["labels"][:, 1:] != -100).sum())  # the model shifts labels by one: the first never counts
        total += float(model(**batch).loss) * n
        tokens += n
    return total / tokens


def train_by_hand(model, params: list[nn.Parameter], rows: list[dict], collator: CompletionCollator,
                  s: Settings) -> list[float]:
    """The whole training loop: batches in order, forward, backward, clip, AdamW step, schedule. Returns the loss
    of every step."""
    optimizer = torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: linear_schedule(step, s))
    model.train()
    losses = []
    for step in range(s.steps):
        start = (step * s.batch_size) % len(rows)
        batch = collator(rows[start : start + s.batch_size])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def train_with_trainer(model, rows: list[dict], collator: CompletionCollator, s: Settings, output_dir) -> list[float]:
    """The same run through ``transformers.Trainer``: the same settings, and batches in the same order (the one
    change from its defaults, which shuffle). Returns the loss of every step, as the Trainer computed it."""
    from torch.utils.data import SequentialSampler
    from transformers import Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    class InOrder(Trainer):
        def _get_train_sampler(self, *args, **kwargs):
            return SequentialSampler(self.train_dataset)

    class Losses(TrainerCallback):  # the Trainer's log rounds the loss; keep the exact one of each step
        def __init__(self):
            self.values = []

    losses = Losses()

    class Recording(InOrder):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            losses.values.append(float((out[0] if return_outputs else out).detach()))
            return out

    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=s.steps, per_device_train_batch_size=s.batch_size,
        learning_rate=s.learning_rate, lr_scheduler_type="linear", warmup_steps=s.warmup_steps,
        max_grad_norm=s.max_grad_norm, weight_decay=0.0, optim="adamw_torch", seed=s.seed, logging_steps=1,
        report_to=[], save_strategy="no", use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0,
        remove_unused_columns=False, disable_tqdm=True)
    trainer = Recording(model=model, args=args, train_dataset=rows[: s.steps * s.batch_size], data_collator=collator,
                        callbacks=[losses])
    trainer.remove_callback(PrinterCallback)  # the losses are returned, not printed one dict a step
    trainer.train()
    model.eval()
    return losses.values


def instruction_rows(tokenizer, n_train: int = 48, n_eval: int = 16, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Encoded prompt/answer rows from the book's synthetic Alpaca records (case 3's template)."""
    from llmft.cases import get_case, registration, resolve

    case = get_case("alpaca-gpt2")
    generator = resolve(registration(case.key).synthetic.generator)
    records = list(generator({"train": n_train + n_eval}, seed)["train"])
    collator = CompletionCollator(tokenizer)
    rows = [collator.encode(case.format_prompt(r), r[case.target_field]) for r in records]
    return rows[:n_train], rows[n_train:]
